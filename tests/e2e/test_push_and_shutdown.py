"""Pushed frames (HTTP and websocket) round-trip through a real server; graceful shutdown."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import cv2
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e


def test_frames_pushed_over_a_websocket_come_back_as_events_with_their_timestamps(
    server: Server, pets_frames
):
    sid = server.http.post("/v1/streams", json={"push": True, "options": {"fps": 7}}).json()["id"]
    jpegs = [cv2.imencode(".jpg", f)[1].tobytes() for _, _, f in pets_frames[:20]]
    with connect(f"{server.ws}/v1/events", max_size=None) as everything, \
         connect(f"{server.ws}/v1/streams/{sid}/events", max_size=None) as events, \
         connect(f"{server.ws}/v1/streams/{sid}/frames") as push:  # fmt: skip
        assert json.loads(events.recv(timeout=10))["status"] == "starting"
        frames = []
        for i, jpg in enumerate(jpegs):  # one at a time, like a client that waits for results
            push.send(json.dumps({"timestamp_s": 100 + i / 7}))
            push.send(jpg)
            ack = json.loads(push.recv(timeout=10))
            assert ack == {"type": "ack", "frame_index": i, "queued": ack["queued"]}
            while True:
                m = json.loads(events.recv(timeout=30))
                if m["type"] == "frame":
                    frames.append(m)
                    break
        seen_all = [json.loads(everything.recv(timeout=10)) for _ in range(5)]
    assert [f["frame_index"] for f in frames] == list(range(20))
    assert [f["timestamp_s"] for f in frames] == pytest.approx([100 + i / 7 for i in range(20)], abs=1e-4)
    assert frames[-1]["tracks"] and all(t["forecast"] for t in frames[-1]["tracks"] if t["age_s"] > 0.5)
    assert {m.get("stream_id") for m in seen_all} == {sid}
    # the HTTP route continues the same stream
    r = server.http.post(f"/v1/streams/{sid}/frames", content=jpegs[0],
                         headers={"content-type": "image/jpeg"}, params={"timestamp_s": 200})  # fmt: skip
    assert r.status_code == 202 and r.json()["frame_index"] == 20
    snap = server.http.get(f"/v1/streams/{sid}/tracks").json()
    assert snap["frame"]["frame_index"] >= 19
    server.http.delete(f"/v1/streams/{sid}")


def test_graceful_shutdown_tells_subscribers_why(
    tmp_path: Path, server_env: dict[str, str], pets_video: Path
):
    srv = Server(server_env, tmp_path / "srv")
    try:
        with pets_video.open("rb") as f:
            sid = srv.http.post("/v1/streams", files={"file": ("p.avi", f)},
                                data={"options": '{"realtime": true}'}).json()["id"]  # fmt: skip
        with connect(f"{srv.ws}/v1/streams/{sid}/events") as ws:
            while json.loads(ws.recv(timeout=30))["type"] != "frame":
                pass
            srv.proc.send_signal(signal.SIGTERM)
            last = None
            with pytest.raises(ConnectionClosed):
                while True:
                    last = json.loads(ws.recv(timeout=30))
            assert last is not None and last["status"] == "stopped"
            assert last["message"] == "server shutting down"
            assert ws.close_code == 1001
        assert srv.proc.wait(30) in (0, -signal.SIGTERM)
        logs = srv.logs()
        assert "Application shutdown complete" in logs
        # structured logs: one JSON object per line
        records = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
        assert any(r["msg"] == f"stream {sid} stopped: server shutting down" for r in records), records[-10:]
        # the results produced before the shutdown are on disk
        lines = (srv.data_dir / "streams" / sid / "results.jsonl").read_text().splitlines()
        assert len(lines) >= 1
    finally:
        srv.stop()


def test_openapi_documents_the_messages(server: Server):
    spec = server.http.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    for name in ("FrameMessage", "TrackMessage", "StatusMessage", "DroppedMessage", "CreateStream"):
        assert name in schemas, name
    assert "multipart/form-data" in spec["paths"]["/v1/streams"]["post"]["requestBody"]["content"]
