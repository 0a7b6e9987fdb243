"""All streams of one server: creation with limits, lookup, stop/delete, graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from app.pipeline.detector import Detector
from app.pipeline.forecasting.base import Forecaster
from app.streams.batcher import DetectionBatcher
from app.streams.events import StreamStatus
from app.streams.hub import EventHub, Subscriber
from app.streams.metrics import Metrics
from app.streams.session import StreamOptions, StreamSession
from app.streams.sources import Source

__all__ = ["ManagerConfig", "StreamManager", "StreamNotFound", "TooManyStreams"]

log = logging.getLogger(__name__)


class TooManyStreams(Exception):
    """The server runs its maximum number of streams."""


class StreamNotFound(KeyError):
    """No stream with this id."""


@dataclass(frozen=True)
class ManagerConfig:
    """Limits and places (from ``Settings``).

    Attributes:
        max_streams: concurrent non-finished streams (>= 1).
        max_batch: frames per detector call (>= 1).
        subscriber_queue: messages buffered per websocket subscriber (>= 1).
        live_buffer: frames buffered per live stream before the oldest is dropped (>= 1).
        data_dir: folder for uploads and results.
    """

    max_streams: int = 8
    max_batch: int = 8
    subscriber_queue: int = 256
    live_buffer: int = 2
    data_dir: Path = Path("runs")

    def __post_init__(self) -> None:
        for name in ("max_streams", "max_batch", "subscriber_queue", "live_buffer"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")


class StreamManager:
    """Owns the shared detector batcher, the event hub and every :class:`StreamSession`.

    Args:
        detector: the shared detector.
        forecaster: the shared forecaster (None: no forecasts).
        config: limits.
        metrics: the app's metrics.
    """

    def __init__(
        self, detector: Detector, forecaster: Forecaster | None, config: ManagerConfig, metrics: Metrics
    ) -> None:
        self.detector = detector
        self.forecaster = forecaster
        self.config = config
        self.metrics = metrics
        self.batcher = DetectionBatcher(detector, config.max_batch, self._on_batch)
        self.hub = EventHub(config.subscriber_queue, on_drop=metrics.events_dropped.inc)
        self._streams: dict[str, StreamSession] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.uploads_dir = config.data_dir / "uploads"
        self._closing = False

    def _on_batch(self, size: int, seconds: float) -> None:
        self.metrics.batch_size.observe(size)

    async def start(self) -> None:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self.uploads_dir.mkdir(parents=True, exist_ok=True)
        self.batcher.start()

    @property
    def active(self) -> list[StreamSession]:
        return [s for s in self._streams.values() if not s.status.final]

    def check_capacity(self) -> None:
        """Raise :class:`TooManyStreams` if a new stream would exceed the limit."""
        if self._closing:
            raise TooManyStreams("the server is shutting down")
        if len(self.active) >= self.config.max_streams:
            raise TooManyStreams(
                f"too many streams: {self.config.max_streams} running (TRACKCAST_MAX_STREAMS); "
                "stop one or try again later"
            )

    def create(self, source: Source, options: StreamOptions) -> StreamSession:
        """Register and start a stream. Raises :class:`TooManyStreams` at the limit."""
        self.check_capacity()
        sid = uuid.uuid4().hex[:12]
        session = StreamSession(
            sid, source, options, self.forecaster, self.batcher, self.hub, self.metrics,
            self.detector.names, self.config.data_dir / "streams" / sid, self.config.live_buffer,
        )  # fmt: skip
        self._streams[sid] = session
        task = asyncio.get_running_loop().create_task(session.run(), name=f"stream-{sid}")
        self._tasks[sid] = task
        task.add_done_callback(lambda _t: self.refresh())
        self.refresh()
        log.info("stream %s created: %s %s", sid, source.kind, source.description)
        return session

    def refresh(self) -> None:
        """Update the stream, queue and subscriber gauges."""
        counts: dict[str, int] = {s.value: 0 for s in StreamStatus}
        for s in self._streams.values():
            counts[s.status.value] += 1
        for status, n in counts.items():
            self.metrics.streams.labels(status).set(n)
        self.metrics.queue.labels("detector").set(self.batcher.pending)
        self.metrics.subscribers.set(len(self.hub))

    @contextlib.contextmanager
    def subscription(self, stream_id: str | None, frames: bool = False) -> Iterator[Subscriber]:
        """A websocket subscriber's queue for one stream (None: all), removed on exit."""
        key, sub = self.hub.subscribe(stream_id, frames)
        self.refresh()
        try:
            yield sub
        finally:
            self.hub.unsubscribe(key)
            self.refresh()

    def get(self, stream_id: str) -> StreamSession:
        try:
            return self._streams[stream_id]
        except KeyError:
            raise StreamNotFound(stream_id) from None

    def list(self) -> list[StreamSession]:
        return sorted(self._streams.values(), key=lambda s: s.created_at)

    async def stop(self, stream_id: str, reason: str = "stopped by request") -> StreamSession:
        session = self.get(stream_id)
        session.stop(reason)
        await session.done.wait()
        return session

    async def delete(self, stream_id: str) -> None:
        """Stop the stream and remove it with its result files and upload."""
        session = await self.stop(stream_id, "deleted")
        del self._streams[stream_id]
        self._tasks.pop(stream_id, None)
        self.metrics.forget_stream(stream_id)
        shutil.rmtree(session.results_dir, ignore_errors=True)
        path = getattr(session.source, "path", None)
        if isinstance(path, Path) and path.parent == self.uploads_dir:
            path.unlink(missing_ok=True)
        self.refresh()

    async def wait_for_subscribers(self, timeout_s: float) -> None:
        """Wait until every websocket subscriber has been sent its final messages and left."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while len(self.hub) and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)

    async def shutdown(self, timeout_s: float = 10.0) -> None:
        """Stop every stream (subscribers get a final ``stopped`` status saying why), then the batcher.
        Safe to call twice."""
        if self._closing:
            return
        self._closing = True
        for s in self.active:
            s.stop("server shutting down")
        tasks = [t for t in self._tasks.values() if not t.done()]
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=timeout_s)
            for t in pending:
                t.cancel()
        self.hub.close_all("server shutting down")
        await self.batcher.close()
