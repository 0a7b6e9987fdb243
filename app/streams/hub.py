"""Fan-out of events to websocket subscribers without ever blocking the pipeline.

Each subscriber owns a bounded queue. Publishing never waits: when a queue is full its oldest
message is dropped and counted, and the subscriber is told how many it missed (a ``dropped``
message) before its next message. A slow subscriber therefore slows nobody else.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import Callable

from app.streams.events import DroppedMessage

__all__ = ["EventHub", "Subscriber"]

CLOSE = object()  # sentinel: the hub closed this subscriber


class Subscriber:
    """One websocket's queue.

    Args:
        stream_id: only this stream's events (None: every stream).
        capacity: messages held at most (>= 1); the oldest is dropped beyond.
        frames: wants frame messages with the JPEG image embedded.
    """

    def __init__(self, stream_id: str | None, capacity: int, frames: bool = False) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity!r}")
        self.stream_id = stream_id
        self.frames = frames
        self._items: deque[object] = deque(maxlen=capacity)
        self._ready = asyncio.Event()
        self.dropped_total = 0
        self._dropped_unreported = 0
        self.close_reason: str | None = None

    def offer(self, message: object) -> bool:
        """Queue a message (a JSON string); returns False if an older one was dropped for it."""
        dropped = len(self._items) == self._items.maxlen
        if dropped:
            self.dropped_total += 1
            self._dropped_unreported += 1
        self._items.append(message)
        self._ready.set()
        return not dropped

    def close(self, reason: str) -> None:
        self.close_reason = reason
        self._items.append(CLOSE)
        self._ready.set()

    @property
    def depth(self) -> int:
        return len(self._items)

    async def next(self) -> str | None:
        """The next JSON message to send, or None once the hub closed this subscriber."""
        while True:
            if self._dropped_unreported:
                n, self._dropped_unreported = self._dropped_unreported, 0
                return DroppedMessage(count=n, total=self.dropped_total).model_dump_json()
            if self._items:
                item = self._items.popleft()
                if item is CLOSE:
                    return None
                return item  # type: ignore[return-value]
            self._ready.clear()
            await self._ready.wait()


class EventHub:
    """Subscribers by stream. All methods run on the event loop thread.

    Args:
        capacity: per-subscriber queue length.
        on_drop: called with the number of messages dropped on each publish (for metrics).
    """

    def __init__(self, capacity: int = 256, on_drop: Callable[[int], None] | None = None) -> None:
        self.capacity = capacity
        self._subs: dict[int, Subscriber] = {}
        self._ids = itertools.count()
        self._on_drop = on_drop

    def subscribe(self, stream_id: str | None, frames: bool = False) -> tuple[int, Subscriber]:
        sub = Subscriber(stream_id, self.capacity, frames)
        key = next(self._ids)
        self._subs[key] = sub
        return key, sub

    def unsubscribe(self, key: int) -> None:
        self._subs.pop(key, None)

    def __len__(self) -> int:
        return len(self._subs)

    def wants_frames(self, stream_id: str) -> bool:
        return any(s.frames and s.stream_id in (None, stream_id) for s in self._subs.values())

    def publish(self, stream_id: str, message: str, with_frame: str | None = None) -> None:
        """Send ``message`` (JSON) to the stream's subscribers; those that asked for images get
        ``with_frame`` instead when given."""
        dropped = 0
        for sub in self._subs.values():
            if sub.stream_id is None or sub.stream_id == stream_id:
                body = with_frame if (sub.frames and with_frame is not None) else message
                dropped += not sub.offer(body)
        if dropped and self._on_drop is not None:
            self._on_drop(dropped)

    def close_stream(self, stream_id: str, reason: str) -> None:
        """Close the subscribers of one stream (after its final status message)."""
        for sub in self._subs.values():
            if sub.stream_id == stream_id:
                sub.close(reason)

    def close_all(self, reason: str) -> None:
        for sub in self._subs.values():
            sub.close(reason)
