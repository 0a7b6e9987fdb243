"""Every bad input gets a clear answer from a real server, and the server keeps serving."""

from __future__ import annotations

import json
import time
from pathlib import Path

import cv2
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.conftest import Server, collect, free_port, upload

pytestmark = pytest.mark.e2e


def _healthy(server: Server) -> None:
    assert server.http.get("/readyz").status_code == 200
    assert server.proc.poll() is None


@pytest.mark.parametrize("name", ["notes.mp4", "notes.txt", "notes"])
def test_non_video_upload_is_415(server: Server, tmp_path: Path, name: str):
    junk = tmp_path / name  # FFmpeg would render a .txt file as 'video' through its tty demuxer
    junk.write_bytes(b"this is not a video\n" * 500)
    r = upload(server, junk)
    assert r.status_code == 415
    assert name in r.json()["detail"] and "not a readable video" in r.json()["detail"]
    assert not any((server.data_dir / "uploads").iterdir())  # nothing kept
    _healthy(server)


def test_upload_over_the_size_limit_is_413(server: Server, tmp_path: Path):
    big = tmp_path / "big.avi"
    big.write_bytes(b"\0" * (6 * 1024 * 1024))  # the test server's limit is 5 MB
    r = upload(server, big)
    assert r.status_code == 413 and "limit" in r.json()["detail"]
    _healthy(server)


def test_truncated_video_ends_with_an_error_event_and_keeps_its_results(
    server: Server, pets_video: Path, tmp_path: Path
):
    # another stream runs at the same time and must not notice
    healthy = upload(server, pets_video, {"realtime": True, "record": False}).json()["id"]
    cut = tmp_path / "cut.avi"
    cut.write_bytes(pets_video.read_bytes()[:400_000])  # ~1/8 of the file: the index announces 795
    r = upload(server, cut, {"fps": 7, "annotate": False})
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    msgs, close = collect(f"{server.ws}/v1/streams/{sid}/events", timeout_s=300)
    final = msgs[-1]
    assert final["type"] == "status" and final["status"] == "error", final
    assert "ended early" in final["message"] and "kept" in final["message"]
    assert close is not None and close[0] == 1000
    info = server.http.get(f"/v1/streams/{sid}").json()
    assert info["status"] == "error" and 0 < info["stats"]["frames_processed"] < 795
    lines = server.http.get(f"/v1/streams/{sid}/results.jsonl").text.splitlines()
    assert len(lines) == info["stats"]["frames_processed"]
    assert json.loads(lines[-1])["frame_index"] == len(lines) - 1
    other = server.http.get(f"/v1/streams/{healthy}").json()
    assert other["status"] == "running" and other["stats"]["frames_processed"] > 0
    before = other["stats"]["frames_processed"]
    time.sleep(1.5)
    assert server.http.get(f"/v1/streams/{healthy}").json()["stats"]["frames_processed"] > before
    server.http.delete(f"/v1/streams/{healthy}")
    server.http.delete(f"/v1/streams/{sid}")
    _healthy(server)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"{not json", "Invalid JSON"),
        (b'{"url": "rtsp://x", "push": true}', "exactly one source"),
        (b"{}", "exactly one source"),
        (b'{"url": "ftp://host/video"}', "unsupported scheme"),
        (b'{"push": true, "options": {"classes": ["unicorn"]}}', "unknown class name 'unicorn'"),
        (b'{"push": true, "options": {"conf": 2}}', "options.conf"),
        (b'{"push": true, "options": {"horizon_s": 1, "forecast_step_s": 2}}', "forecast_step_s"),
        (b'{"push": true, "options": {"colour": "red"}}', "options.colour: Extra inputs"),
    ],
)
def test_malformed_or_invalid_json_is_422(server: Server, body: bytes, expected: str):
    r = server.http.post("/v1/streams", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert expected in r.json()["detail"]


def test_unknown_stream_is_404_everywhere(server: Server):
    routes = [("GET", "/v1/streams/nope"), ("GET", "/v1/streams/nope/tracks"),
              ("POST", "/v1/streams/nope/stop"), ("DELETE", "/v1/streams/nope"),
              ("GET", "/v1/streams/nope/results.jsonl"), ("POST", "/v1/streams/nope/frames")]  # fmt: skip
    for method, path in routes:
        r = server.http.request(method, path)
        assert r.status_code == 404, (method, path, r.text)
        assert r.json()["detail"] == "stream nope not found"
    with connect(f"{server.ws}/v1/streams/nope/events") as ws, pytest.raises(ConnectionClosed):
        ws.recv(timeout=10)
    assert ws.close_code == 4404 and "not found" in ws.close_reason


def test_unreachable_url_ends_with_an_error_status_and_the_server_is_unaffected(server: Server):
    url = f"rtsp://127.0.0.1:{free_port()}/live"  # nothing listens there
    r = server.http.post("/v1/streams", json={"url": url})
    assert r.status_code == 201
    sid = r.json()["id"]
    msgs, close = collect(f"{server.ws}/v1/streams/{sid}/events", timeout_s=120)
    statuses = [m for m in msgs if m["type"] == "status"]
    retries = [m for m in statuses if m["status"] == "reconnecting"]
    # the test server retries 4 times with backoff 0.3, 0.6, 1.0, 1.0 s
    assert [m["attempt"] for m in retries][-1] == 4, statuses
    assert [m["retry_in_s"] for m in retries][-2:] == [1.0, 1.0]
    assert statuses[-1]["status"] == "error" and "cannot connect" in statuses[-1]["message"]
    assert server.http.get(f"/v1/streams/{sid}").json()["status"] == "error"
    server.http.delete(f"/v1/streams/{sid}")
    _healthy(server)


def test_too_many_streams_is_429(server: Server):
    ids = []
    try:
        for _ in range(4):  # the test server's limit
            r = server.http.post("/v1/streams", json={"push": True})
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        r = server.http.post("/v1/streams", json={"push": True})
        assert r.status_code == 429 and "too many streams" in r.json()["detail"]
        assert r.headers["retry-after"]
        # stopping one frees a slot
        server.http.post(f"/v1/streams/{ids[0]}/stop")
        r = server.http.post("/v1/streams", json={"push": True})
        assert r.status_code == 201
        ids.append(r.json()["id"])
    finally:
        for sid in ids:
            server.http.delete(f"/v1/streams/{sid}")


def test_bad_pushed_frames_get_clear_errors(server: Server, pets_frames):
    sid = server.http.post("/v1/streams", json={"push": True, "options": {"fps": 7}}).json()["id"]
    jpeg = cv2.imencode(".jpg", pets_frames[0][2])[1].tobytes()
    try:
        ok = server.http.post(f"/v1/streams/{sid}/frames?timestamp_s=1.0", content=jpeg,
                              headers={"content-type": "image/jpeg"})  # fmt: skip
        assert ok.status_code == 202 and ok.json()["frame_index"] == 0
        r = server.http.post(f"/v1/streams/{sid}/frames?timestamp_s=2.0", content=b"garbage",
                             headers={"content-type": "image/jpeg"})  # fmt: skip
        assert r.status_code == 415 and "not a decodable JPEG or PNG" in r.json()["detail"]
        r = server.http.post(f"/v1/streams/{sid}/frames?timestamp_s=0.5", content=jpeg,
                             headers={"content-type": "image/jpeg"})  # fmt: skip
        assert r.status_code == 422 and "increase" in r.json()["detail"]
        r = server.http.post(f"/v1/streams/{sid}/frames", content=b"{}",
                             headers={"content-type": "application/json"})  # fmt: skip
        assert r.status_code == 415
        with connect(f"{server.ws}/v1/streams/{sid}/frames") as ws:
            ws.send("not json")
            assert json.loads(ws.recv(timeout=10))["type"] == "error"
            ws.send(b"garbage")
            assert "decodable" in json.loads(ws.recv(timeout=10))["message"]
    finally:
        server.http.delete(f"/v1/streams/{sid}")
    # frames go to push streams only
    r = server.http.post("/v1/streams", json={"url": f"rtsp://127.0.0.1:{free_port()}/x"})
    other = r.json()["id"]
    r = server.http.post(f"/v1/streams/{other}/frames", content=jpeg, headers={"content-type": "image/jpeg"})
    assert r.status_code == 409 and "push streams" in r.json()["detail"]
    server.http.delete(f"/v1/streams/{other}")
