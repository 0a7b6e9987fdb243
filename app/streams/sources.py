"""Frame sources of a stream: an uploaded file, a URL (RTSP, HTTP video or MJPEG, HLS), pushed images.

Each source decodes in its own thread (OpenCV/FFmpeg calls block) and hands frames to the stream
through a :class:`FrameChannel`. Live sources keep only the newest frames, so a slow pipeline drops
stale frames instead of falling behind; lost connections are retried with exponential backoff and
reported through ``on_status``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from app.pipeline.video import VideoError, VideoReader, is_url
from app.streams.channel import ChannelClosed, FrameChannel, SourceFrame
from app.streams.events import StreamStatus

__all__ = ["FileSource", "PushSource", "ReconnectPolicy", "Source", "StatusCallback", "UrlSource"]

log = logging.getLogger(__name__)

# (status, message, attempt, retry_in_s), called from the source's thread
StatusCallback = Callable[[StreamStatus, str, "int | None", "float | None"], None]


@dataclass(frozen=True)
class ReconnectPolicy:
    """Backoff for live sources: waits ``initial_s * 2**k`` capped at ``max_s`` (seconds).

    Attributes:
        initial_s: first wait, seconds (> 0).
        max_s: longest wait, seconds (>= initial_s).
        max_attempts: failed attempts in a row before the stream ends with an error (None: forever).
        timeout_s: open/read timeout for one attempt, seconds.
    """

    initial_s: float = 0.5
    max_s: float = 10.0
    max_attempts: int | None = 10
    timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.initial_s > 0 or self.max_s < self.initial_s:
            raise ValueError(f"need 0 < initial_s <= max_s, got {self.initial_s!r}, {self.max_s!r}")
        if self.max_attempts is not None and self.max_attempts < 1:
            raise ValueError(f"max_attempts must be >= 1 or None, got {self.max_attempts!r}")
        if not self.timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, got {self.timeout_s!r}")

    def delay(self, attempt: int) -> float:
        return min(self.max_s, self.initial_s * 2 ** max(0, attempt - 1))


class Source:
    """Base class: ``fps`` is known after :meth:`start` delivered the first frame."""

    kind = "source"
    live = True

    def __init__(self, fps: float | None) -> None:
        if fps is not None and not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps!r}")
        self.fps: float = float(fps) if fps else 0.0
        self.fps_source = "override" if fps else "unknown"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.description = ""

    def start(self, channel: FrameChannel, on_status: StatusCallback) -> None:
        self._thread = threading.Thread(
            target=self._run_guarded, args=(channel, on_status), name=f"source-{self.kind}", daemon=True
        )
        self._thread.start()

    def _run_guarded(self, channel: FrameChannel, on_status: StatusCallback) -> None:
        try:
            self._run(channel, on_status)
            channel.end()
        except ChannelClosed:
            channel.end()
        except VideoError as exc:
            channel.end(str(exc))
        except Exception as exc:  # a source bug must end this stream only, with a message
            log.exception("source %s failed", self.description)
            channel.end(f"source failed: {exc}")

    def _run(self, channel: FrameChannel, on_status: StatusCallback) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()


class FileSource(Source):
    """A video file (or image folder) on disk, read in order.

    Args:
        path: the file.
        fps: frame-rate override; else ``seqinfo.ini``, the container, then 30.
        realtime: pace frames at their timestamps (behaves like a camera, stale frames dropped)
            instead of reading at full speed (every frame processed).

    Raises:
        VideoError: not a readable video.
    """

    kind = "file"

    def __init__(self, path: str | Path, fps: float | None = None, realtime: bool = False) -> None:
        super().__init__(fps)
        self.path = Path(path)
        self.realtime = realtime
        self.live = realtime
        self._reader = VideoReader(self.path, fps=fps)
        self.fps = self._reader.info.fps
        self.fps_source = self._reader.info.fps_source
        self.frame_count = self._reader.info.frame_count
        self.description = self.path.name

    def _run(self, channel: FrameChannel, on_status: StatusCallback) -> None:
        t0 = time.monotonic()
        try:
            for index, ts, image in self._reader:
                if self._stop.is_set():
                    return
                if self.realtime:
                    wait = t0 + ts - time.monotonic()
                    if wait > 0 and self._stop.wait(wait):
                        return
                channel.put(SourceFrame(index, ts, image, time.monotonic()))
        finally:
            self._reader.close()


class UrlSource(Source):
    """A network source read live: RTSP, HTTP(S) video or MJPEG, HLS (anything FFmpeg opens).

    Timestamps are seconds since the stream started (wall clock), so they keep increasing across
    reconnections. A source that announces a frame count (a file served over HTTP) ends at its end;
    any other end of data counts as a lost connection.

    Args:
        url: the source URL.
        fps: frame-rate override (else the container's, else 25).
        reconnect: backoff policy.
    """

    kind = "url"

    def __init__(self, url: str, fps: float | None = None, reconnect: ReconnectPolicy | None = None) -> None:
        super().__init__(fps)
        if not is_url(url):
            raise ValueError(f"url: unsupported scheme in {url!r} (rtsp, http(s), rtmp, udp, tcp, srt)")
        self.url = url
        self.reconnect = reconnect or ReconnectPolicy()
        self.description = url

    def _open(self) -> cv2.VideoCapture:
        ms = int(self.reconnect.timeout_s * 1000)
        params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms]
        return cv2.VideoCapture(self.url, cv2.CAP_FFMPEG, params)

    def _run(self, channel: FrameChannel, on_status: StatusCallback) -> None:
        t0 = time.monotonic()
        index = 0
        failures = 0
        connected_before = False
        reason = ""
        while not self._stop.is_set():
            cap = self._open()
            if not cap.isOpened():
                cap.release()
                reason = f"cannot connect to {self.url}"
            else:
                failures = 0
                if not self.fps:
                    rate = cap.get(cv2.CAP_PROP_FPS)
                    self.fps, self.fps_source = (rate, "container") if 0 < rate < 1000 else (25.0, "default")
                count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
                what = "reconnected to" if connected_before else "connected to"
                on_status(StreamStatus.RUNNING, f"{what} {self.url}", None, None)
                connected_before = True
                read = 0
                while not self._stop.is_set():
                    ok, image = cap.read()
                    if not ok or image is None:
                        break
                    now = time.monotonic()
                    channel.put(SourceFrame(index, now - t0, image, now))
                    index += 1
                    read += 1
                cap.release()
                if self._stop.is_set():
                    return
                if count > 0 and read >= count - 1:
                    return  # a finite file served over HTTP: its end is the stream's end
                reason = f"connection to {self.url} lost after {read} frames"
            failures += 1
            if self.reconnect.max_attempts is not None and failures > self.reconnect.max_attempts:
                raise VideoError(f"{reason}; gave up after {failures - 1} reconnection attempts")
            delay = self.reconnect.delay(failures)
            on_status(StreamStatus.RECONNECTING, f"{reason}; retrying in {delay:.1f} s", failures, delay)
            if self._stop.wait(delay):
                return


class PushSource(Source):
    """Frames pushed by the client (JPEG/PNG bytes, optional timestamp), over HTTP or a websocket.

    Frames queue in a channel that drops the oldest when the pipeline falls behind.

    Args:
        fps: the nominal frame rate (for the tracker's buffers), default 10.
    """

    kind = "push"

    def __init__(self, fps: float | None = None) -> None:
        super().__init__(fps)
        if not self.fps:
            self.fps, self.fps_source = 10.0, "default"
        self.description = "pushed frames"
        self._channel: FrameChannel | None = None
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self._next_index = 0
        self._last_ts = -np.inf

    def start(self, channel: FrameChannel, on_status: StatusCallback) -> None:
        self._channel = channel

    def stop(self) -> None:
        super().stop()
        if self._channel is not None:
            self._channel.end()

    def push(self, data: bytes, timestamp_s: float | None = None) -> int:
        """Decode and queue one image; returns its frame index.

        Args:
            data: JPEG or PNG bytes.
            timestamp_s: frame time in seconds (must increase); default: seconds since the stream
                was created.

        Raises:
            ValueError: not a decodable image, or a timestamp that does not increase.
            ChannelClosed: the stream is no longer running.
        """
        if self._channel is None or self._stop.is_set():
            raise ChannelClosed
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
        if image is None:
            raise ValueError("frame: not a decodable JPEG or PNG image")
        with self._lock:
            now = time.monotonic()
            ts = now - self._t0 if timestamp_s is None else float(timestamp_s)
            if not np.isfinite(ts) or ts <= self._last_ts:
                raise ValueError(
                    f"timestamp_s must be finite and increase from frame to frame, got {ts} after "
                    f"{self._last_ts}"
                )
            index = self._next_index
            self._channel.put(SourceFrame(index, ts, image, now))
            self._next_index += 1
            self._last_ts = ts
        return index
