"""Live sources for tests: an HTTP MJPEG camera (in-process) and the shared GStreamer RTSP server."""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np


def encode_frames(video: Path, n: int, width: int = 640) -> list[bytes]:
    """The first ``n`` frames of ``video`` as JPEG bytes, scaled to ``width`` pixels."""
    cap = cv2.VideoCapture(str(video))
    out = []
    while len(out) < n:
        ok, frame = cap.read()
        if not ok:
            break
        h, w = frame.shape[:2]
        frame = cv2.resize(frame, (width, round(h * width / w)))
        out.append(cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 80])[1].tobytes())
    cap.release()
    return out


class MjpegCamera:
    """A ``multipart/x-mixed-replace`` JPEG stream at ``fps`` on ``http://127.0.0.1:PORT/video``.

    Frames are numbered from 0 across restarts; ``sent_at[n]`` is when frame ``n`` was written
    (``time.monotonic()``), so a test can measure how far behind the consumer is.
    """

    def __init__(self, frames: list[bytes], fps: float, port: int) -> None:
        self.frames, self.fps, self.port = frames, fps, port
        self.url = f"http://127.0.0.1:{port}/video"
        self.sent_at: dict[int, float] = {}
        self._next = 0
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        camera = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                self.send_response(200)
                self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
                self.end_headers()
                period = 1.0 / camera.fps
                t_next = time.monotonic()
                try:
                    while not camera._stop.is_set():
                        with camera._lock:
                            n = camera._next
                            camera._next += 1
                        jpg = camera.frames[n % len(camera.frames)]
                        self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n")
                        self.wfile.write(f"Content-Length: {len(jpg)}\r\n\r\n".encode() + jpg + b"\r\n")
                        self.wfile.flush()
                        camera.sent_at[n] = time.monotonic()
                        t_next += period
                        time.sleep(max(0.0, t_next - time.monotonic()))
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._stop.clear()
        ThreadingHTTPServer.allow_reuse_address = True
        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """The camera goes away: the connection drops and new ones are refused."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None


class RtspServer:
    """``/work/shared/tools/rtsp_serve.py`` (GStreamer, Debian's Python) serving a file in real time."""

    def __init__(self, script: Path, video: Path, port: int) -> None:
        self.script, self.video, self.port = script, video, port
        self.url = f"rtsp://127.0.0.1:{port}/live"
        self.proc: subprocess.Popen | None = None

    @staticmethod
    def available() -> bool:
        if not Path("/usr/bin/python3").exists():
            return False
        probe = (
            "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
        )
        return subprocess.run(["/usr/bin/python3", "-c", probe], capture_output=True).returncode == 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", str(self.script), str(self.video), str(self.port)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.2)
        raise RuntimeError("RTSP server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def lag_s(frames: list[dict], received_at: list[float], sent_at: dict[int, float]) -> np.ndarray:
    """Seconds between the camera sending frame n and the frame message for n arriving."""
    return np.array([r - sent_at[f["frame_index"]] for f, r in zip(frames, received_at, strict=True)
                     if f["frame_index"] in sent_at])  # fmt: skip


__all__ = ["MjpegCamera", "RtspServer", "encode_frames", "lag_s"]
