"""Frames + timestamps -> FrameResult: detection, association, histories, forecasts.

Detection is split from the per-stream step so that a server can batch frames of many streams into
one detector call and hand each stream its own detections (:meth:`StreamPipeline.step`). Offline
use goes through :meth:`StreamPipeline.process`, which runs the detector on one frame.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from app.pipeline.detector import Detector
from app.pipeline.forecasting.base import Forecaster, check_offsets
from app.pipeline.history import HistoryStore
from app.pipeline.tracker import Tracker, TrackerConfig
from app.pipeline.types import Detections, FrameResult, Track, TrackState

__all__ = ["ForecastConfig", "StreamPipeline", "forecast_offsets"]


def forecast_offsets(horizon_s: float, step_s: float) -> np.ndarray:
    """Offsets ``step_s, 2*step_s, ... <= horizon_s`` in seconds, shape (h,)."""
    if not horizon_s > 0 or not step_s > 0:
        raise ValueError(f"horizon_s and step_s must be > 0, got {horizon_s!r}, {step_s!r}")
    n = max(1, int(np.floor(horizon_s / step_s + 1e-9)))
    return check_offsets(np.arange(1, n + 1) * step_s)


@dataclass(frozen=True)
class ForecastConfig:
    """What to forecast.

    Attributes:
        horizon_s: how far ahead, seconds (> 0). Longer horizons are less certain.
        step_s: spacing of forecast points, seconds (> 0).
        min_history: tracks with fewer observed points get no forecast (>= 1). 1 lets every track
            get one (a static fallback for a single point, said in ``Forecast.method``).
    """

    horizon_s: float = 4.8
    step_s: float = 0.4
    min_history: int = 2

    def __post_init__(self) -> None:
        forecast_offsets(self.horizon_s, self.step_s)
        if self.min_history < 1:
            raise ValueError(f"min_history must be >= 1, got {self.min_history!r}")


class StreamPipeline:
    """All per-stream state: tracker, histories, options. One instance per stream.

    Args:
        forecaster: shared, stateless forecaster (None: no forecasts).
        fps: the stream's frame rate (frames per second, > 0), for the tracker's buffers and for
            timestamps when the source gives none.
        tracker_config: association settings.
        forecast: forecast horizon and spacing.
        classes: class ids this stream keeps (None: all the detector gives).
        conf: minimum detection score this stream keeps, in [0, 1]; the shared detector may run
            lower for other streams.
        history_s: seconds of history kept per track.
    """

    def __init__(
        self,
        forecaster: Forecaster | None,
        fps: float,
        tracker_config: TrackerConfig | None = None,
        forecast: ForecastConfig | None = None,
        classes: Sequence[int] | None = None,
        conf: float = 0.0,
        history_s: float = 8.0,
    ) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps!r}")
        if not 0.0 <= conf <= 1.0:
            raise ValueError(f"conf must be in [0, 1], got {conf!r}")
        self.fps = float(fps)
        self.forecaster = forecaster
        self.forecast = forecast or ForecastConfig()
        self.offsets_s = forecast_offsets(self.forecast.horizon_s, self.forecast.step_s)
        self.classes = None if classes is None else np.asarray(sorted(classes), dtype=np.int64)
        self.conf = float(conf)
        self.tracker = Tracker(tracker_config, fps=self.fps)
        self.histories = HistoryStore(max_seconds=history_s)

    def _keep(self, detections: Detections) -> Detections:
        mask = detections.confidence >= self.conf
        if self.classes is not None:
            mask &= np.isin(detections.class_id, self.classes)
        return detections if mask.all() else detections.filter(mask)

    def step(
        self,
        detections: Detections,
        frame_index: int,
        timestamp_s: float,
        image_size: tuple[int, int],
        frame: np.ndarray | None = None,
    ) -> FrameResult:
        """Advance the stream by one frame whose detections are already known.

        Args:
            detections: the detector's output for this frame (pixels).
            frame_index: 0-based index of the frame in the stream.
            timestamp_s: frame time in seconds; must increase from frame to frame.
            image_size: (width, height) in pixels.
            frame: the BGR image, only needed by trackers with camera-motion compensation.

        Returns:
            Active tracks with their forecasts, and this frame's lifecycle events.
        """
        dets = self._keep(detections)
        out = self.tracker.update(dets, frame)
        tracks = [
            Track(
                track_id=tb.track_id,
                class_id=tb.class_id,
                confidence=tb.confidence,
                xyxy=tb.xyxy,
                state=TrackState.NEW if tb.is_new else TrackState.TRACKED,
            )
            for tb in out.tracked
        ]
        events = self.histories.update(timestamp_s, tracks, set(out.lost), out.removed)
        tracks = self._with_forecasts(tracks, timestamp_s)
        return FrameResult(frame_index, float(timestamp_s), image_size, tracks, events, len(dets))

    def _with_forecasts(self, tracks: list[Track], t: float) -> list[Track]:
        histories = {}
        for tr in tracks:
            h = self.histories.get(tr.track_id)
            if h is not None and len(h) >= self.forecast.min_history:
                histories[tr.track_id] = h
        forecasts = {}
        if self.forecaster is not None and histories:
            for f in self.forecaster.predict(list(histories.values()), self.offsets_s):
                forecasts[f.track_id] = f
        out = []
        for tr in tracks:
            first = self.histories.first_seen(tr.track_id)
            age = 0.0 if first is None else t - first
            out.append(
                Track(
                    tr.track_id,
                    tr.class_id,
                    tr.confidence,
                    tr.xyxy,
                    tr.state,
                    age,
                    forecasts.get(tr.track_id),
                )
            )
        return out

    def process(
        self, detector: Detector, frame: np.ndarray, frame_index: int, timestamp_s: float | None = None
    ) -> FrameResult:
        """Detect and step one frame (offline use). ``timestamp_s`` defaults to index / fps."""
        t = frame_index / self.fps if timestamp_s is None else timestamp_s
        (dets,) = detector.detect([frame])
        return self.step(dets, frame_index, t, (frame.shape[1], frame.shape[0]), frame)

    def finish(self) -> list:
        """End every track (the stream is over); returns the ENDED events."""
        return self.histories.end_all()

    def run(
        self, detector: Detector, frames: Iterator[tuple[int, float, np.ndarray]]
    ) -> Iterator[FrameResult]:
        """Process ``(index, timestamp_s, frame)`` tuples in order."""
        for index, t, frame in frames:
            yield self.process(detector, frame, index, t)
