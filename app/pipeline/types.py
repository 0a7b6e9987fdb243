"""Typed values that cross stage boundaries: detections, tracks, forecasts, frame results.

Boxes are ``xyxy`` in pixels (x1, y1, x2, y2; origin top-left) unless a name says otherwise.
Times are seconds. Converters are named ``src_to_dst``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import numpy as np

__all__ = [
    "Detections",
    "Forecast",
    "FrameResult",
    "Track",
    "TrackEvent",
    "TrackState",
    "xyxy_to_center",
    "xyxy_to_tlwh",
]


def _check_array(name: str, value: Any, shape: tuple[int | None, ...]) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, got {type(value).__name__}")
    got = value.shape
    if got == shape:  # the common case, checked without a Python loop
        return value
    if len(got) != len(shape) or any(s is not None and s != v for s, v in zip(shape, got)):
        want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {value.shape}")
    return value


def xyxy_to_center(xyxy: np.ndarray) -> np.ndarray:
    """Box centres.

    Args:
        xyxy: (n, 4) boxes in pixels.

    Returns:
        (n, 2) centres (x, y) in pixels.
    """
    return np.stack([(xyxy[:, 0] + xyxy[:, 2]) / 2, (xyxy[:, 1] + xyxy[:, 3]) / 2], axis=1)


def xyxy_to_tlwh(xyxy: np.ndarray) -> np.ndarray:
    """(n, 4) xyxy boxes to (n, 4) left, top, width, height (MOTChallenge), pixels."""
    out = xyxy.astype(np.float64, copy=True)
    out[:, 2:] = xyxy[:, 2:] - xyxy[:, :2]
    return out


@dataclass(frozen=True)
class Detections:
    """Detections of one frame as parallel arrays.

    Attributes:
        xyxy: (n, 4) float32 boxes, pixels.
        confidence: (n,) float32 scores in [0, 1].
        class_id: (n,) int64 COCO class ids.
    """

    xyxy: np.ndarray
    confidence: np.ndarray
    class_id: np.ndarray

    def __post_init__(self) -> None:
        _check_array("xyxy", self.xyxy, (None, 4))
        n = len(self.xyxy)
        _check_array("confidence", self.confidence, (n,))
        _check_array("class_id", self.class_id, (n,))

    def __len__(self) -> int:
        return len(self.xyxy)

    @classmethod
    def empty(cls) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    @classmethod
    def from_ultralytics(cls, result: Any) -> Detections:
        """Build from one ``ultralytics.engine.results.Results`` (detect task)."""
        boxes = result.boxes
        if boxes is None or len(boxes) == 0:
            return cls.empty()
        return cls(
            boxes.xyxy.cpu().numpy().astype(np.float32),
            boxes.conf.cpu().numpy().astype(np.float32),
            boxes.cls.cpu().numpy().astype(np.int64),
        )

    def filter(self, mask: np.ndarray) -> Detections:
        """Keep the rows where ``mask`` (n,) bool is true."""
        return Detections(self.xyxy[mask], self.confidence[mask], self.class_id[mask])


class TrackState(str, Enum):
    """Lifecycle of a track, as reported to users.

    NEW: first seen this frame, not yet confirmed. TRACKED: matched this frame. LOST: not matched
    this frame but kept for re-identification. REMOVED: dropped for good.
    """

    NEW = "new"
    TRACKED = "tracked"
    LOST = "lost"
    REMOVED = "removed"


@dataclass(frozen=True)
class Forecast:
    """Future positions of one track.

    Attributes:
        track_id: the track this forecast belongs to.
        offsets_s: (h,) seconds after the last observation, strictly increasing, > 0.
        xy: (h, 2) predicted box centres, pixels.
        sigma: (h, 2) one standard deviation of the x and y error, pixels (axis-aligned Gaussian).
        method: which forecaster produced it (for example ``"lstm"`` or ``"constant_velocity"``).
    """

    track_id: int
    offsets_s: np.ndarray
    xy: np.ndarray
    sigma: np.ndarray
    method: str

    def __post_init__(self) -> None:
        _check_array("offsets_s", self.offsets_s, (None,))
        h = len(self.offsets_s)
        _check_array("xy", self.xy, (h, 2))
        _check_array("sigma", self.sigma, (h, 2))

    @classmethod
    def batch(
        cls, track_ids: list[int], offsets_s: np.ndarray, xy: np.ndarray, sigma: np.ndarray, method: str
    ) -> list[Forecast]:
        """One Forecast per track from batched arrays, validated once for the whole batch.

        Args:
            track_ids: B ids; offsets_s: (h,) seconds; xy, sigma: (B, h, 2) pixels; method: as above.

        Returns:
            B forecasts (their arrays are views of ``xy`` and ``sigma``).
        """
        _check_array("offsets_s", offsets_s, (None,))
        shape = (len(track_ids), len(offsets_s), 2)
        _check_array("xy", xy, shape)
        _check_array("sigma", sigma, shape)
        out = []
        for tid, x, s in zip(track_ids, xy, sigma):
            f = object.__new__(cls)  # checked above as a batch: skip the per-object __post_init__
            f.__dict__.update(track_id=tid, offsets_s=offsets_s, xy=x, sigma=s, method=method)
            out.append(f)
        return out


@dataclass(frozen=True)
class Track:
    """One tracked object in one frame.

    Attributes:
        track_id: id unique within its stream, starting at 1.
        class_id: COCO class id.
        confidence: detection score of the matched detection (last one if LOST).
        xyxy: (4,) box in pixels; for LOST tracks the motion model's prediction.
        state: lifecycle state.
        age_s: seconds since the track was first seen.
        forecast: the track's forecast, if one was made.
    """

    track_id: int
    class_id: int
    confidence: float
    xyxy: np.ndarray
    state: TrackState
    age_s: float = 0.0
    forecast: Forecast | None = None


class TrackEvent(str, Enum):
    """Lifecycle transitions reported once each."""

    APPEARED = "appeared"
    LOST = "lost"
    ENDED = "ended"


@dataclass(frozen=True)
class FrameResult:
    """Everything the pipeline produced for one frame.

    Attributes:
        frame_index: 0-based index of the frame in its stream.
        timestamp_s: time of the frame in seconds from the stream start.
        image_size: (width, height) of the frame in pixels.
        tracks: active (NEW or TRACKED) tracks of this frame.
        events: (track_id, event) lifecycle transitions that happened on this frame.
        num_detections: detections the tracker received.
    """

    frame_index: int
    timestamp_s: float
    image_size: tuple[int, int]
    tracks: list[Track]
    events: list[tuple[int, TrackEvent]] = field(default_factory=list)
    num_detections: int = 0
