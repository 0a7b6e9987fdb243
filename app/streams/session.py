"""One stream: its source, its own pipeline state (tracker, histories), its results and its stats.

The stream's asyncio task pulls frames from the source's channel, gets detections from the shared
batcher, steps its own :class:`StreamPipeline` in a worker thread, writes results (JSON Lines, MOT,
annotated MP4) and publishes events. Any failure ends this stream alone, with an ``error`` status,
and the results written so far stay downloadable.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from app.pipeline.forecasting.base import Forecaster
from app.pipeline.outputs import AnnotatedVideoWriter, JsonlWriter, MotWriter, frame_record
from app.pipeline.pipeline import ForecastConfig, StreamPipeline
from app.pipeline.tracker import TrackerConfig
from app.pipeline.types import Detections, FrameResult, TrackEvent
from app.streams.batcher import DetectionBatcher
from app.streams.channel import FrameChannel, SourceFrame
from app.streams.events import FrameMessage, StatusMessage, StreamStatus, TrackMessage
from app.streams.hub import EventHub
from app.streams.metrics import Metrics
from app.streams.sources import Source

__all__ = ["StreamOptions", "StreamSession", "StreamStats"]

log = logging.getLogger(__name__)
PREVIEW_MAX_WIDTH = 960  # frames sent to the live view are scaled down to this width, pixels


@dataclass(frozen=True)
class StreamOptions:
    """Per-stream options, fixed at creation.

    Attributes:
        classes: class ids to keep (None: all).
        conf: minimum detection score kept, in [0, 1].
        tracker: ``botsort``, ``bytetrack`` or ``ocsort``.
        horizon_s: forecast horizon, seconds (> 0).
        step_s: spacing of forecast points, seconds (> 0, <= horizon_s).
        record: write JSON Lines and MOT results to disk.
        annotate: also write an annotated MP4.
        name: a label for people.
    """

    classes: tuple[int, ...] | None = None
    conf: float = 0.0
    tracker: str = "botsort"
    horizon_s: float = 4.8
    step_s: float = 0.4
    record: bool = True
    annotate: bool = False
    name: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 <= self.conf <= 1.0:
            raise ValueError(f"conf must be in [0, 1], got {self.conf!r}")
        TrackerConfig(kind=self.tracker)  # type: ignore[arg-type]
        ForecastConfig(self.horizon_s, self.step_s)


@dataclass
class StreamStats:
    """Counters and recent rates of one stream (times in seconds, latencies in milliseconds)."""

    frames_read: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    active_tracks: int = 0
    tracks_seen: int = 0
    fps: float = 0.0
    latency_ms_p50: float | None = None
    latency_ms_p99: float | None = None
    _times: deque[float] = field(default_factory=lambda: deque(maxlen=60), repr=False)
    _latencies: deque[float] = field(default_factory=lambda: deque(maxlen=500), repr=False)

    def add(self, now: float, latency_ms: float) -> None:
        self.frames_processed += 1
        self._times.append(now)
        self._latencies.append(latency_ms)
        if len(self._times) >= 2 and self._times[-1] > self._times[0]:
            self.fps = (len(self._times) - 1) / (self._times[-1] - self._times[0])
        lat = np.fromiter(self._latencies, float)
        self.latency_ms_p50 = round(float(np.percentile(lat, 50)), 1)
        self.latency_ms_p99 = round(float(np.percentile(lat, 99)), 1)


class StreamSession:
    """A running stream.

    Args:
        stream_id: unique id.
        source: where frames come from (not started yet).
        options: per-stream options.
        forecaster: the shared (stateless) forecaster.
        batcher: the shared detection batcher.
        hub: event fan-out.
        metrics: the app's metrics.
        names: class id -> name.
        results_dir: folder for this stream's result files (created).
        channel_capacity: frames buffered for live sources (dropped beyond) / files (reader waits).
    """

    def __init__(
        self,
        stream_id: str,
        source: Source,
        options: StreamOptions,
        forecaster: Forecaster | None,
        batcher: DetectionBatcher,
        hub: EventHub,
        metrics: Metrics,
        names: dict[int, str],
        results_dir: Path,
        channel_capacity: int = 2,
    ) -> None:
        self.id = stream_id
        self.source = source
        self.options = options
        self._forecaster = forecaster
        self._batcher = batcher
        self._hub = hub
        self._metrics = metrics
        self._names = names
        self.results_dir = results_dir
        self._capacity = channel_capacity
        self.created_at = time.time()
        self.status = StreamStatus.STARTING
        self.message = "waiting for the first frame"
        self.stats = StreamStats()
        self.pipeline: StreamPipeline | None = None
        self.latest: FrameMessage | None = None
        self.image_size: tuple[int, int] | None = None
        self.results: dict[str, Path] = {}
        self._channel: FrameChannel | None = None
        self._stop_reason: str | None = None
        self._jsonl: JsonlWriter | None = None
        self._mot: MotWriter | None = None
        self._video: AnnotatedVideoWriter | None = None
        self.done = asyncio.Event()

    # --- status -----------------------------------------------------------------------------------
    def _set_status(
        self, status: StreamStatus, message: str, attempt: int | None = None, retry_in: float | None = None
    ) -> None:
        if self.status.final:
            return
        self.status, self.message = status, message
        msg = StatusMessage(stream_id=self.id, status=status, message=message, attempt=attempt,
                            retry_in_s=retry_in)  # fmt: skip
        log.info("stream %s %s: %s", self.id, status.value, message)
        self._hub.publish(self.id, msg.model_dump_json())

    def status_message(self) -> StatusMessage:
        return StatusMessage(stream_id=self.id, status=self.status, message=self.message)

    @property
    def queue_depth(self) -> int:
        """Frames decoded but not processed yet."""
        return len(self._channel) if self._channel is not None else 0

    @property
    def channel_dropped(self) -> int:
        """Frames dropped so far to stay live (including ones not yet counted in :attr:`stats`)."""
        return self._channel.dropped if self._channel is not None else 0

    def stop(self, reason: str = "stopped by request") -> None:
        """Ask the stream to stop; it finishes its current frame, then reports ``stopped``."""
        if self._stop_reason is None and not self.status.final:
            self._stop_reason = reason
        self.source.stop()
        if self._channel is not None:
            self._channel.cancel()

    # --- the loop ---------------------------------------------------------------------------------
    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        live = self.source.live
        self._channel = FrameChannel(loop, self._capacity if live else 8, drop_oldest=live)

        def on_status(status: StreamStatus, message: str, attempt: int | None, retry: float | None) -> None:
            loop.call_soon_threadsafe(self._set_status, status, message, attempt, retry)

        error: str | None = None
        try:
            if self._stop_reason is None:
                self.source.start(self._channel, on_status)
            while True:
                sf = await self._channel.get()
                if sf is None:
                    break
                await self._process(sf)
            error = self._channel.error
        except Exception as exc:
            log.exception("stream %s failed", self.id)
            error = f"processing failed: {exc}"
        finally:
            self.source.stop()
            self._channel.cancel()
            await asyncio.to_thread(self._close_sinks)
            self._finish(error)
            self.done.set()

    async def _process(self, sf: SourceFrame) -> None:
        assert self._channel is not None
        self.stats.frames_read = max(self.stats.frames_read, sf.index + 1)
        dropped = self._channel.dropped - self.stats.frames_dropped
        if dropped > 0:
            self.stats.frames_dropped += dropped
            self._metrics.dropped.labels(self.id).inc(dropped)
        if self.pipeline is None:
            self._start_pipeline(sf)
        t0 = time.perf_counter()
        dets = await self._batcher.detect(sf.image)
        t1 = time.perf_counter()
        want_image = self._hub.wants_frames(self.id)
        result, jpeg = await asyncio.to_thread(self._step, sf, dets, want_image)
        t2 = time.perf_counter()
        if self.status == StreamStatus.STARTING:
            self._set_status(StreamStatus.RUNNING, f"processing {self.source.description}")
        latency_ms = (time.monotonic() - sf.received_monotonic) * 1000
        self._publish(result, latency_ms, jpeg)
        self._metrics.stage.labels("detect").observe(t1 - t0)
        self._metrics.stage.labels("track_forecast_record").observe(t2 - t1)
        self._metrics.latency.labels(self.id).observe(latency_ms / 1000)
        self._metrics.frames.labels(self.id).inc()
        self.stats.add(time.monotonic(), latency_ms)
        self._metrics.fps.labels(self.id).set(self.stats.fps)

    def _start_pipeline(self, sf: SourceFrame) -> None:
        o = self.options
        fps = self.source.fps or 25.0
        self.pipeline = StreamPipeline(
            self._forecaster, fps, TrackerConfig(kind=o.tracker),  # type: ignore[arg-type]
            ForecastConfig(o.horizon_s, o.step_s), classes=o.classes, conf=o.conf,
        )  # fmt: skip
        h, w = sf.image.shape[:2]
        self.image_size = (w, h)
        if o.record:
            self.results_dir.mkdir(parents=True, exist_ok=True)
            self.results["jsonl"] = self.results_dir / "results.jsonl"
            self.results["mot"] = self.results_dir / "results.txt"
            self._jsonl = JsonlWriter(self.results["jsonl"], self._names)
            self._mot = MotWriter(self.results["mot"])
            if o.annotate:
                self.results["mp4"] = self.results_dir / "annotated.mp4"
                self._video = AnnotatedVideoWriter(self.results["mp4"], fps, (w, h), self._names)

    def _step(self, sf: SourceFrame, dets: Detections, want_image: bool) -> tuple[FrameResult, str | None]:
        """Worker thread: tracker + forecaster + result files (+ the preview JPEG)."""
        assert self.pipeline is not None
        h, w = sf.image.shape[:2]
        result = self.pipeline.step(dets, sf.index, sf.timestamp_s, (w, h), sf.image)
        if self._jsonl is not None:
            self._jsonl.write(result)
        if self._mot is not None:
            self._mot.write(result)
        if self._video is not None:
            self._video.write(sf.image, result)
        jpeg = None
        if want_image:
            img = sf.image
            if w > PREVIEW_MAX_WIDTH:
                img = cv2.resize(img, (PREVIEW_MAX_WIDTH, round(h * PREVIEW_MAX_WIDTH / w)))
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 70])
            jpeg = base64.b64encode(buf.tobytes()).decode() if ok else None
        return result, jpeg

    def _publish(self, result: FrameResult, latency_ms: float, jpeg: str | None) -> None:
        body = frame_record(result, self._names)
        msg = FrameMessage(stream_id=self.id, latency_ms=round(latency_ms, 1), **body)
        self.latest = msg
        with_frame = msg.model_copy(update={"image_jpeg_b64": jpeg}).model_dump_json() if jpeg else None
        self._hub.publish(self.id, msg.model_dump_json(), with_frame)
        for tid, ev in result.events:
            self._publish_track(result.frame_index, result.timestamp_s, tid, ev)
        self.stats.active_tracks = len(result.tracks)
        self.stats.tracks_seen += sum(ev == TrackEvent.APPEARED for _, ev in result.events)

    def _publish_track(self, frame_index: int, t: float, tid: int, ev: TrackEvent) -> None:
        m = TrackMessage(stream_id=self.id, frame_index=frame_index, timestamp_s=round(t, 4), track_id=tid,
                         event=ev.value)  # fmt: skip
        self._hub.publish(self.id, m.model_dump_json())

    def _close_sinks(self) -> None:
        for sink in (self._jsonl, self._mot, self._video):
            if sink is not None:
                try:
                    sink.close()
                except Exception:
                    log.exception("stream %s: closing a result file failed", self.id)

    def _finish(self, error: str | None) -> None:
        if self.pipeline is not None:
            last = self.latest
            for tid, ev in self.pipeline.finish():
                self._publish_track(
                    last.frame_index if last else 0, last.timestamp_s if last else 0.0, tid, ev
                )
        self.stats.active_tracks = 0
        if error:
            kept = f" (results for the {self.stats.frames_processed} frames processed are kept)"
            self._set_status(StreamStatus.ERROR, error + (kept if self.results else ""))
        elif self._stop_reason is not None:
            self._set_status(StreamStatus.STOPPED, self._stop_reason)
        else:
            self._set_status(StreamStatus.ENDED, f"end of source after {self.stats.frames_processed} frames")
        self._hub.close_stream(self.id, self.message)
