"""Per-stream multi-object association, backed by Ultralytics' trackers.

We do not write our own ByteTrack: Ultralytics' ``ultralytics.trackers`` package (ByteTrack, BoT-SORT,
OC-SORT, ...) is maintained, uses ``lap`` for assignment and a batched Kalman filter, and is what users
compare us with. We wrap it to (1) take and give typed values, (2) set the lost-track buffer in
seconds from the stream's real frame rate (Ultralytics counts frames and its defaults assume 30 fps),
(3) carry thresholds tuned for low frame rates, and (4) keep every stream's state in its own instance:
since 8.4 each Ultralytics tracker owns its id iterator; ``STrack.shared_kalman`` is class-level but
stateless (matrices only, used for ``multi_predict``), so sharing it between streams is harmless.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np

from app.pipeline.types import Detections

__all__ = ["TRACKER_KINDS", "Tracker", "TrackerConfig", "TrackerOutput", "TrackedBox"]

TrackerKind = Literal["bytetrack", "botsort", "ocsort"]
TRACKER_KINDS: tuple[str, ...] = ("bytetrack", "botsort", "ocsort")


@dataclass(frozen=True)
class TrackerConfig:
    """Association settings.

    Defaults: the best HOTA on PETS09-S2L1 frames 1-397 (7 fps) with the shipped OpenVINO INT8 detector
    at conf 0.1, from ``scripts/tune_tracker.py``; scores are thresholds on that detector's scale.

    Attributes:
        kind: ``"bytetrack"``, ``"botsort"`` (adds camera-motion compensation) or ``"ocsort"``.
        high_thresh: detections at or above this score take part in the first association. Lower
            keeps weak objects tracked; higher avoids tracking false positives.
        low_thresh: detections between this and ``high_thresh`` may only continue existing tracks
            (ByteTrack's second stage). Lower rescues occluded objects, risks drift onto clutter.
        new_track_thresh: an unmatched detection starts a track only at or above this score.
            Higher means fewer spurious tracks but later starts.
        match_thresh: maximum association cost (1 - IoU, fused with score) to accept a match.
            Higher accepts matches with less overlap: needed at low fps where objects move far
            between frames; too high swaps ids between neighbours.
        buffer_s: seconds a lost track is kept for re-identification. Longer bridges longer
            occlusions, risks re-attaching an id to a different object.
        fuse_score: multiply IoU similarity by the detection score before matching.
        gmc_method: BoT-SORT camera-motion compensation (``"none"`` for static cameras,
            ``"sparseOptFlow"`` for moving ones). Ignored by the other kinds.
    """

    kind: TrackerKind = "botsort"
    high_thresh: float = 0.25
    low_thresh: float = 0.1
    new_track_thresh: float = 0.45
    match_thresh: float = 0.8
    buffer_s: float = 10.0
    fuse_score: bool = True
    gmc_method: str = "none"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in TRACKER_KINDS:
            raise ValueError(f"kind must be one of {TRACKER_KINDS}, got {self.kind!r}")
        for name in ("high_thresh", "low_thresh", "new_track_thresh", "match_thresh"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {v!r}")
        if self.low_thresh > self.high_thresh:
            raise ValueError(f"low_thresh ({self.low_thresh}) must be <= high_thresh ({self.high_thresh})")
        if not self.buffer_s > 0:
            raise ValueError(f"buffer_s must be > 0 seconds, got {self.buffer_s!r}")


@dataclass(frozen=True)
class TrackedBox:
    """One association result.

    Attributes:
        track_id: per-stream id, from 1.
        xyxy: (4,) box in pixels (the tracker's filtered estimate).
        confidence: score of the matched detection.
        class_id: class of the matched detection.
        det_index: index into the frame's Detections.
        is_new: first frame of this track.
    """

    track_id: int
    xyxy: np.ndarray
    confidence: float
    class_id: int
    det_index: int
    is_new: bool


@dataclass(frozen=True)
class TrackerOutput:
    """Association result of one frame: matched tracks, ids held as lost, ids dropped this frame."""

    tracked: list[TrackedBox]
    lost: dict[int, np.ndarray]
    removed: set[int]


class _Boxes:
    """The minimal Results-like view Ultralytics' trackers read: xywh, xyxy, conf, cls, indexing."""

    def __init__(self, xyxy: np.ndarray, conf: np.ndarray, cls: np.ndarray) -> None:
        self.xyxy = xyxy
        self.conf = conf
        self.cls = cls
        self.xywh = np.concatenate([(xyxy[:, :2] + xyxy[:, 2:]) / 2, xyxy[:, 2:] - xyxy[:, :2]], axis=1)

    def __len__(self) -> int:
        return len(self.conf)

    def __getitem__(self, idx: Any) -> _Boxes:
        return _Boxes(self.xyxy[idx], self.conf[idx], self.cls[idx])


class Tracker:
    """Associates one stream's detections into tracks with per-stream ids.

    Args:
        config: association settings.
        fps: the stream's frame rate in frames per second (> 0); converts ``buffer_s`` to frames.

    Raises:
        ValueError: non-positive fps.
    """

    def __init__(self, config: TrackerConfig | None = None, fps: float = 30.0) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps!r}")
        self.config = config or TrackerConfig()
        self.fps = float(fps)
        self._impl = self._build()
        self._frame_seen: set[int] = set()

    def _build(self) -> Any:
        from ultralytics.trackers.track import TRACKER_MAP
        from ultralytics.utils import YAML, IterableSimpleNamespace
        from ultralytics.utils.checks import check_yaml

        c = self.config
        args = dict(YAML.load(check_yaml(f"{c.kind}.yaml")))
        args.update(
            track_high_thresh=c.high_thresh,
            track_low_thresh=c.low_thresh,
            new_track_thresh=c.new_track_thresh,
            match_thresh=c.match_thresh,
            track_buffer=max(1, round(c.buffer_s * self.fps)),
            fuse_score=c.fuse_score,
            gmc_method=c.gmc_method,
            with_reid=False,
        )
        args.update(c.extra)
        return TRACKER_MAP[c.kind](IterableSimpleNamespace(**args))

    def reset(self) -> None:
        """Forget every track; ids restart at 1."""
        self._impl = self._build()
        self._frame_seen.clear()

    def update(self, detections: Detections, frame: np.ndarray | None = None) -> TrackerOutput:
        """Associate one frame's detections.

        Args:
            detections: this frame's detections, boxes in pixels.
            frame: the BGR image (H, W, 3); only BoT-SORT's camera-motion compensation reads it.

        Returns:
            Tracks matched on this frame, tracks held as lost (id -> predicted xyxy), ids removed.
        """
        boxes = _Boxes(
            detections.xyxy.astype(np.float32),
            detections.confidence.astype(np.float32),
            detections.class_id.astype(np.float32),
        )
        impl = self._impl
        img = frame if self.config.kind == "botsort" and self.config.gmc_method != "none" else None
        impl.update(boxes, img)
        tracked = []
        for st in impl.tracked_stracks:
            if not st.is_activated:
                continue
            tid = int(st.track_id)
            is_new = tid not in self._frame_seen
            self._frame_seen.add(tid)
            tracked.append(
                TrackedBox(tid, st.xyxy.astype(np.float64), float(st.score), int(st.cls), int(st.idx), is_new)
            )
        lost = {int(st.track_id): st.xyxy.astype(np.float64) for st in impl.lost_stracks if st.track_id}
        removed = {int(st.track_id) for st in getattr(impl, "removed_stracks_frame", []) if st.track_id}
        self._frame_seen -= removed
        return TrackerOutput(tracked, lost, removed)

    def describe(self) -> dict[str, Any]:
        """Settings as plain values (for logs and result files)."""
        return {**asdict(self.config), "fps": self.fps}
