"""One detector shared by every stream: frames waiting from different streams go in one call.

Streams ``await batcher.detect(frame)``; a single worker thread takes whatever is waiting (up to
``max_batch`` frames, oldest first), runs :meth:`Detector.detect` once, and resolves each stream's
future. If a batch fails, its frames are retried one by one so a bad frame fails only its own stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from app.pipeline.detector import Detector
from app.pipeline.types import Detections

__all__ = ["BatchStats", "DetectionBatcher"]

log = logging.getLogger(__name__)


@dataclass
class BatchStats:
    """Running totals: detector calls, frames, and the batch-size histogram."""

    calls: int = 0
    frames: int = 0
    busy_s: float = 0.0
    sizes: dict[int, int] = field(default_factory=dict)


class DetectionBatcher:
    """Batch detection requests from many streams into one detector call.

    Args:
        detector: the shared detector (only ever called from this batcher's thread).
        max_batch: most frames per call (>= 1).
        on_batch: called after each call with (batch size, seconds), for metrics.
    """

    def __init__(
        self, detector: Detector, max_batch: int = 8, on_batch: Callable[[int, float], None] | None = None
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch!r}")
        self.detector = detector
        self.max_batch = max_batch
        self._on_batch = on_batch
        self._queue: asyncio.Queue[tuple[np.ndarray, asyncio.Future[Detections]]] = asyncio.Queue()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="detector")
        self._task: asyncio.Task[None] | None = None
        self.stats = BatchStats()

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="detection-batcher")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        while not self._queue.empty():
            _, fut = self._queue.get_nowait()
            if not fut.done():
                fut.set_exception(RuntimeError("server shutting down"))
        self._executor.shutdown(wait=True, cancel_futures=True)

    async def detect(self, frame: np.ndarray) -> Detections:
        """Detections for one (H, W, 3) uint8 BGR frame, pixels; batched with other streams' frames."""
        fut: asyncio.Future[Detections] = asyncio.get_running_loop().create_future()
        await self._queue.put((frame, fut))
        return await fut

    def _run_batch(self, frames: list[np.ndarray]) -> list[Detections | BaseException]:
        t = time.perf_counter()
        try:
            out: list[Detections | BaseException] = list(self.detector.detect(frames))
        except Exception:
            out = []
            for f in frames:  # isolate the bad frame
                try:
                    out.append(self.detector.detect([f])[0])
                except Exception as exc:
                    out.append(exc)
        dt = time.perf_counter() - t
        self.stats.calls += 1
        self.stats.frames += len(frames)
        self.stats.busy_s += dt
        self.stats.sizes[len(frames)] = self.stats.sizes.get(len(frames), 0) + 1
        if self._on_batch is not None:
            self._on_batch(len(frames), dt)
        return out

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = [await self._queue.get()]
            while len(items) < self.max_batch and not self._queue.empty():
                items.append(self._queue.get_nowait())
            items = [(f, fut) for f, fut in items if not fut.cancelled()]
            if not items:
                continue
            try:
                results = await loop.run_in_executor(self._executor, self._run_batch, [f for f, _ in items])
            except Exception as exc:  # executor shut down
                results = [exc] * len(items)
            for (_, fut), res in zip(items, results, strict=True):
                if fut.done():
                    continue
                if isinstance(res, BaseException):
                    fut.set_exception(res)
                else:
                    fut.set_result(res)
