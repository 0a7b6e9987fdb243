"""Timestamped, bounded per-track histories and lifecycle bookkeeping for one stream."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from app.pipeline.types import Track, TrackEvent, TrackState, xyxy_to_center

__all__ = ["History", "HistoryStore"]


@dataclass(frozen=True)
class History:
    """The observed past of one track, oldest first.

    Attributes:
        track_id: id of the track.
        t: (n,) observation times in seconds, strictly increasing.
        xyxy: (n, 4) observed boxes in pixels.
    """

    track_id: int
    t: np.ndarray
    xyxy: np.ndarray

    def __post_init__(self) -> None:
        if self.t.ndim != 1:
            raise ValueError(f"t must have shape (n,), got {self.t.shape}")
        if self.xyxy.shape != (len(self.t), 4):
            raise ValueError(f"xyxy must have shape ({len(self.t)}, 4), got {self.xyxy.shape}")

    def __len__(self) -> int:
        return len(self.t)

    @property
    def centers(self) -> np.ndarray:
        """(n, 2) box centres in pixels."""
        return xyxy_to_center(self.xyxy)

    @property
    def heights(self) -> np.ndarray:
        """(n,) box heights in pixels."""
        return self.xyxy[:, 3] - self.xyxy[:, 1]


class _Entry:
    __slots__ = ("t", "xyxy", "first_t", "last_t", "state")

    def __init__(self, maxlen: int, t: float) -> None:
        self.t: deque[float] = deque(maxlen=maxlen)
        self.xyxy: deque[np.ndarray] = deque(maxlen=maxlen)
        self.first_t = t
        self.last_t = t
        self.state = TrackState.NEW


class HistoryStore:
    """Keeps the last ``max_seconds`` of matched boxes of every track of one stream.

    It also derives lifecycle events: APPEARED the first time a track is reported, LOST when a
    reported track stops being matched, ENDED when the tracker drops it (or it has not been seen for
    ``max_seconds``).

    Args:
        max_seconds: how much history to keep per track, seconds (> 0). Raising it gives the
            forecaster a longer past and costs memory; the LSTM reads at most a few seconds.
        max_points: hard cap on points per track, whatever the frame rate.
    """

    def __init__(self, max_seconds: float = 8.0, max_points: int = 256) -> None:
        if not max_seconds > 0:
            raise ValueError(f"max_seconds must be > 0, got {max_seconds!r}")
        if max_points < 2:
            raise ValueError(f"max_points must be >= 2, got {max_points!r}")
        self.max_seconds = float(max_seconds)
        self.max_points = int(max_points)
        self._entries: dict[int, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def update(
        self, t: float, tracked: list[Track], lost_ids: set[int], removed_ids: set[int]
    ) -> list[tuple[int, TrackEvent]]:
        """Record one frame.

        Args:
            t: frame time, seconds.
            tracked: tracks matched on this frame (their boxes are observations).
            lost_ids: ids the tracker holds as lost on this frame.
            removed_ids: ids the tracker dropped on this frame.

        Returns:
            Lifecycle events of this frame, in order.
        """
        events: list[tuple[int, TrackEvent]] = []
        for tr in tracked:
            entry = self._entries.get(tr.track_id)
            if entry is None:
                entry = self._entries[tr.track_id] = _Entry(self.max_points, t)
                events.append((tr.track_id, TrackEvent.APPEARED))
            if entry.t and t <= entry.t[-1]:
                continue  # same or older timestamp: keep the history strictly increasing
            entry.t.append(t)
            entry.xyxy.append(np.asarray(tr.xyxy, dtype=np.float64))
            entry.last_t = t
            entry.state = TrackState.TRACKED
            while entry.t and t - entry.t[0] > self.max_seconds:
                entry.t.popleft()
                entry.xyxy.popleft()
        for tid in lost_ids:
            entry = self._entries.get(tid)
            if entry is not None and entry.state is not TrackState.LOST:
                entry.state = TrackState.LOST
                events.append((tid, TrackEvent.LOST))
        stale = {tid for tid, e in self._entries.items() if t - e.last_t > self.max_seconds}
        for tid in sorted(removed_ids | stale):
            if self._entries.pop(tid, None) is not None:
                events.append((tid, TrackEvent.ENDED))
        return events

    def get(self, track_id: int) -> History | None:
        """The history of one track, or None if unknown."""
        entry = self._entries.get(track_id)
        if entry is None:
            return None
        return History(track_id, np.fromiter(entry.t, np.float64), np.stack(list(entry.xyxy)))

    def first_seen(self, track_id: int) -> float | None:
        entry = self._entries.get(track_id)
        return None if entry is None else entry.first_t

    def end_all(self) -> list[tuple[int, TrackEvent]]:
        """End every track (stream finished)."""
        events = [(tid, TrackEvent.ENDED) for tid in sorted(self._entries)]
        self._entries.clear()
        return events
