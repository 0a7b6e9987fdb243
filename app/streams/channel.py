"""Hand frames from a reader thread to the stream's asyncio task.

Two policies: ``drop_oldest`` (live sources: the newest frames win, so latency never grows; every
frame pushed out is counted in :attr:`FrameChannel.dropped`) and back-pressure (files read at full
speed: the reader waits, nothing is lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from dataclasses import dataclass

import numpy as np

__all__ = ["ChannelClosed", "FrameChannel", "SourceFrame"]


@dataclass(frozen=True)
class SourceFrame:
    """A decoded frame.

    Attributes:
        index: 0-based index of the frame as read from the source (drops leave gaps).
        timestamp_s: frame time, seconds from the stream start.
        image: (H, W, 3) uint8 BGR.
        received_monotonic: ``time.monotonic()`` when the server got the frame (for latency).
    """

    index: int
    timestamp_s: float
    image: np.ndarray
    received_monotonic: float


class ChannelClosed(Exception):
    """The consumer went away; the producer should stop."""


class FrameChannel:
    """A bounded thread -> asyncio frame queue.

    Args:
        loop: the event loop the consumer runs on.
        capacity: frames held at most (>= 1).
        drop_oldest: when full, drop the oldest frame (True) or make the producer wait (False).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, capacity: int, drop_oldest: bool) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity!r}")
        self._loop = loop
        self.capacity = capacity
        self.drop_oldest = drop_oldest
        self._items: deque[SourceFrame] = deque()
        self._cond = threading.Condition()
        self._ready = asyncio.Event()
        self._ended = False
        self._cancelled = False
        self.error: str | None = None
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._items)

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed during shutdown
            self._loop.call_soon_threadsafe(self._ready.set)

    def put(self, frame: SourceFrame) -> None:
        """Producer side (any thread). Raises :class:`ChannelClosed` once the consumer cancelled."""
        with self._cond:
            if self._cancelled:
                raise ChannelClosed
            if self.drop_oldest:
                while len(self._items) >= self.capacity:
                    self._items.popleft()
                    self.dropped += 1
            else:
                while len(self._items) >= self.capacity and not self._cancelled:
                    self._cond.wait(0.5)
                if self._cancelled:
                    raise ChannelClosed
            self._items.append(frame)
        self._wake()

    def end(self, error: str | None = None) -> None:
        """Producer side: no more frames; ``error`` says why if the source failed."""
        with self._cond:
            self._ended = True
            self.error = error
        self._wake()

    def cancel(self) -> None:
        """Consumer side: stop the producer (its next ``put`` raises)."""
        with self._cond:
            self._cancelled = True
            self._cond.notify_all()
        self._wake()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    async def get(self) -> SourceFrame | None:
        """Next frame, or None when the source ended (check :attr:`error`) or was cancelled."""
        while True:
            with self._cond:
                if self._items:
                    item = self._items.popleft()
                    self._cond.notify_all()
                    return item
                if self._ended or self._cancelled:
                    return None
                self._ready.clear()
            await self._ready.wait()
