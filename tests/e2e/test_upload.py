"""Upload PETS09-S2L1 to a real server, subscribe over a real websocket, compare with the offline CLI."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.conftest import REPO, Server, collect, upload

pytestmark = pytest.mark.e2e


def _close(a: list[float], b: list[float], tol: float) -> bool:
    return len(a) == len(b) and bool(np.all(np.abs(np.asarray(a) - np.asarray(b)) <= tol))


def _same_frame(srv: dict, cli: dict) -> bool:
    """Same tracks (ids, classes, boxes, forecasts) up to float rounding (2 decimals in the files)."""
    if srv["frame_index"] != cli["frame_index"] or len(srv["tracks"]) != len(cli["tracks"]):
        return False
    for a, b in zip(srv["tracks"], cli["tracks"], strict=True):
        if (a["id"], a["class_id"], a["state"]) != (b["id"], b["class_id"], b["state"]):
            return False
        if not _close(a["xyxy"], b["xyxy"], 0.02):
            return False
        fa, fb = a["forecast"], b["forecast"]
        if (fa is None) != (fb is None):
            return False
        if fa is not None:
            pa = [[p["x"], p["y"]] for p in fa["points"]]
            pb = [[p["x"], p["y"]] for p in fb["points"]]
            if fa["method"] != fb["method"] or not _close(np.ravel(pa), np.ravel(pb), 0.05):
                return False
    return True


def test_upload_streams_tracks_and_forecasts_equal_to_the_offline_cli(
    server: Server, pets_video: Path, tmp_path: Path
):
    # the offline CLI on the same video, in parallel with the server
    cli_jsonl, cli_mot = tmp_path / "cli.jsonl", tmp_path / "cli.txt"
    cli = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "track", str(pets_video), "--jsonl", str(cli_jsonl),
         "--mot", str(cli_mot), "--quiet"], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip

    # the CLI reads 7 fps from seqinfo.ini beside the video; an upload has no seqinfo.ini and the
    # container says 10 fps, so the real rate is given as an option
    r = upload(server, pets_video, {"fps": 7})
    assert r.status_code == 201, r.text
    info = r.json()
    sid = info["id"]
    assert info["kind"] == "file" and info["fps"] == 7.0 and info["live"] is False
    # a subscriber that does not read until the stream is over (frames embedded, so its socket and its
    # 32-message server-side queue fill quickly; keepalive pings are off on the test server)
    slow = connect(f"{server.ws}/v1/streams/{sid}/events?frames=true", max_size=None, max_queue=1,
                   ping_interval=None)  # fmt: skip
    msgs, close = collect(f"{server.ws}/v1/streams/{sid}/events", timeout_s=600)
    assert close is not None and close[0] == 1000, close
    assert cli.wait(600) == 0, cli.stdout.read().decode()[-2000:] if cli.stdout else ""

    types = Counter(m["type"] for m in msgs)
    frames = [m for m in msgs if m["type"] == "frame"]
    statuses = [m["status"] for m in msgs if m["type"] == "status"]
    assert all(m["version"] == 1 for m in msgs)
    assert statuses[-1] == "ended", statuses
    assert types["track"] > 0 and types["dropped"] == 0
    # subscribing after the upload started misses at most the first few frames, then every frame arrives
    indices = [f["frame_index"] for f in frames]
    assert indices == list(range(indices[0], 795)) and indices[0] < 60, indices[:5]

    # stable ids: PETS shows ~8 people at once; most of them keep one id for many seconds
    lengths = Counter(t["id"] for f in frames for t in f["tracks"])
    assert sum(n >= 100 for n in lengths.values()) >= 6, lengths.most_common(10)
    assert len(lengths) < 60, f"too many ids for ~19 people: {len(lengths)}"
    # forecasts present, in pixels, at the configured offsets (0.4 s steps to 4.8 s)
    with_fc = [t for f in frames for t in f["tracks"] if t["forecast"]]
    assert len(with_fc) > 0.8 * sum(len(f["tracks"]) for f in frames)
    dts = [p["dt_s"] for p in with_fc[-1]["forecast"]["points"]]
    assert dts == pytest.approx(np.arange(1, 13) * 0.4)
    assert {t["forecast"]["method"] for t in with_fc} <= {
        "lstm",
        "constant_velocity",
        "constant_velocity_fallback",
    }

    # results: JSON Lines equals the CLI's (websocket frames equal the server's own JSON Lines)
    srv_lines = [json.loads(x) for x in server.http.get(f"/v1/streams/{sid}/results.jsonl").text.splitlines()]
    cli_lines = [json.loads(x) for x in cli_jsonl.read_text().splitlines()]
    assert len(srv_lines) == len(cli_lines) == 795
    mismatched = [
        a["frame_index"] for a, b in zip(srv_lines, cli_lines, strict=True) if not _same_frame(a, b)
    ]
    assert not mismatched, f"{len(mismatched)} frames differ from the CLI, first {mismatched[:5]}"
    by_index = {x["frame_index"]: x for x in srv_lines}
    assert all(_same_frame(f, by_index[f["frame_index"]]) for f in frames)
    srv_mot = server.http.get(f"/v1/streams/{sid}/results.txt").text.splitlines()
    assert len(srv_mot) == len(cli_mot.read_text().splitlines()) > 3000

    # the annotated video has every frame
    mp4 = tmp_path / "annotated.mp4"
    mp4.write_bytes(server.http.get(f"/v1/streams/{sid}/results.mp4").content)
    cap = cv2.VideoCapture(str(mp4))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 795

    stats = server.http.get(f"/v1/streams/{sid}").json()["stats"]
    assert stats["frames_processed"] == 795 and stats["frames_dropped"] == 0
    metrics = server.http.get("/metrics").text
    assert f'trackcast_frames_processed_total{{stream="{sid}"}} 795.0' in metrics
    assert "trackcast_stage_seconds_bucket" in metrics and "trackcast_detector_batch_size_count" in metrics

    # the slow subscriber did not slow the stream or the other subscriber (no drops above, every frame
    # processed): its own queue overflowed, oldest first, and it was told how many messages it missed
    slow_msgs = []
    with contextlib.suppress(ConnectionClosed, TimeoutError):
        while True:
            slow_msgs.append(json.loads(slow.recv(timeout=30)))
    slow.close()
    dropped = [m for m in slow_msgs if m["type"] == "dropped"]
    assert dropped and dropped[-1]["total"] > 0, Counter(m["type"] for m in slow_msgs)
    assert slow_msgs[-1]["type"] == "status" and slow_msgs[-1]["status"] == "ended"
    assert "trackcast_subscriber_messages_dropped_total" in metrics

    assert server.http.delete(f"/v1/streams/{sid}").status_code == 204
    assert server.http.get(f"/v1/streams/{sid}").status_code == 404
