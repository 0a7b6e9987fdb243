"""Result sinks shared by the CLI and the server: JSON Lines, MOTChallenge txt, annotated video.

The JSON Lines record (:func:`frame_record`) is the same shape as the server's ``frame`` event body,
so offline and online results compare field for field.
"""

from __future__ import annotations

import json
from collections import defaultdict, deque
from pathlib import Path
from typing import IO, Any

import cv2
import numpy as np

from app.pipeline.types import FrameResult, Track

__all__ = ["AnnotatedVideoWriter", "JsonlWriter", "MotWriter", "draw_frame", "frame_record", "track_record"]


def _r(x: float, nd: int = 2) -> float:
    return round(float(x), nd)


def track_record(track: Track, names: dict[int, str] | None = None) -> dict[str, Any]:
    """One track as plain JSON values (pixels, seconds)."""
    rec: dict[str, Any] = {
        "id": track.track_id,
        "class_id": track.class_id,
        "class_name": (names or {}).get(track.class_id, str(track.class_id)),
        "confidence": _r(track.confidence, 4),
        "xyxy": [_r(v) for v in track.xyxy],
        "state": track.state.value,
        "age_s": _r(track.age_s, 3),
        "forecast": None,
    }
    f = track.forecast
    if f is not None:
        rec["forecast"] = {
            "method": f.method,
            "points": [
                {"dt_s": _r(dt, 3), "x": _r(x), "y": _r(y), "sigma_x": _r(sx), "sigma_y": _r(sy)}
                for dt, (x, y), (sx, sy) in zip(f.offsets_s, f.xy, f.sigma)
            ],
        }
    return rec


def frame_record(result: FrameResult, names: dict[int, str] | None = None) -> dict[str, Any]:
    """One frame as plain JSON values: index, timestamp, tracks with forecasts, lifecycle events."""
    return {
        "frame_index": result.frame_index,
        "timestamp_s": _r(result.timestamp_s, 4),
        "image_size": list(result.image_size),
        "num_detections": result.num_detections,
        "tracks": [track_record(t, names) for t in result.tracks],
        "events": [{"track_id": tid, "event": ev.value} for tid, ev in result.events],
    }


class JsonlWriter:
    """Writes one :func:`frame_record` per line, flushed per frame so a crash keeps what was written."""

    def __init__(self, path: str | Path, names: dict[int, str] | None = None) -> None:
        self.path = Path(path)
        self._f: IO[str] = self.path.open("w")
        self._names = names

    def write(self, result: FrameResult) -> None:
        self._f.write(json.dumps(frame_record(result, self._names)) + "\n")
        self._f.flush()

    def close(self) -> None:
        self._f.close()


class MotWriter:
    """MOTChallenge rows ``frame,id,left,top,width,height,conf,-1,-1,-1`` (frames 1-based, pixels)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._f: IO[str] = self.path.open("w")

    def write(self, result: FrameResult) -> None:
        for t in result.tracks:
            x1, y1, x2, y2 = (float(v) for v in t.xyxy)
            self._f.write(
                f"{result.frame_index + 1},{t.track_id},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},"
                f"{t.confidence:.4f},-1,-1,-1\n"
            )
        self._f.flush()

    def close(self) -> None:
        self._f.close()


def _color(track_id: int) -> tuple[int, int, int]:
    rng = np.random.default_rng(track_id * 7919)
    c = rng.integers(60, 256, 3)
    return int(c[0]), int(c[1]), int(c[2])


def draw_frame(
    frame: np.ndarray,
    result: FrameResult,
    trails: dict[int, deque[tuple[int, int]]] | None = None,
    names: dict[int, str] | None = None,
) -> np.ndarray:
    """Draw boxes, ids, trails and forecast paths (with their 1-sigma extent) on a copy of ``frame``.

    Args:
        frame: BGR image (H, W, 3).
        result: the frame's tracks.
        trails: per-track past centres, updated in place (pass the same dict every frame).
        names: class id -> name.
    """
    import supervision as sv

    out = frame.copy()
    if result.tracks:
        xyxy = np.stack([t.xyxy for t in result.tracks]).astype(np.float32)
        ids = np.array([t.track_id for t in result.tracks])
        dets = sv.Detections(
            xyxy=xyxy,
            confidence=np.array([t.confidence for t in result.tracks], np.float32),
            class_id=np.array([t.class_id for t in result.tracks]),
            tracker_id=ids,
        )
        palette = sv.ColorPalette.DEFAULT
        out = sv.BoxAnnotator(color=palette, color_lookup=sv.ColorLookup.TRACK, thickness=2).annotate(
            out, dets
        )
        labels = [f"#{t.track_id} {(names or {}).get(t.class_id, t.class_id)}" for t in result.tracks]
        out = sv.LabelAnnotator(
            color=palette, color_lookup=sv.ColorLookup.TRACK, text_scale=0.4, text_padding=3
        ).annotate(out, dets, labels)
    for t in result.tracks:
        c = _color(t.track_id)
        cx, cy = int((t.xyxy[0] + t.xyxy[2]) / 2), int((t.xyxy[1] + t.xyxy[3]) / 2)
        if trails is not None:
            trail = (
                trails[t.track_id]
                if t.track_id in trails
                else trails.setdefault(t.track_id, deque(maxlen=40))
            )
            trail.append((cx, cy))
            if len(trail) > 1:
                cv2.polylines(out, [np.array(trail, np.int32)], False, c, 2, cv2.LINE_AA)
        if t.forecast is not None:
            pts = np.vstack([[cx, cy], t.forecast.xy]).astype(np.int32)
            for (x, y), (sx, sy) in zip(t.forecast.xy, t.forecast.sigma):
                cv2.ellipse(out, (int(x), int(y)), (max(1, int(sx)), max(1, int(sy))), 0, 0, 360, c, 1)
            cv2.polylines(out, [pts], False, (255, 255, 255), 3, cv2.LINE_AA)
            cv2.polylines(out, [pts], False, c, 1, cv2.LINE_AA)
    return out


class AnnotatedVideoWriter:
    """Writes annotated frames to an MP4 (OpenCV, ``mp4v``)."""

    def __init__(
        self, path: str | Path, fps: float, size: tuple[int, int], names: dict[int, str] | None = None
    ):
        self.path = Path(path)
        self._writer = cv2.VideoWriter(str(self.path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
        if not self._writer.isOpened():
            raise OSError(f"cannot write video {self.path}")
        self._trails: dict[int, deque[tuple[int, int]]] = defaultdict(lambda: deque(maxlen=40))
        self._names = names

    def write(self, frame: np.ndarray, result: FrameResult) -> None:
        self._writer.write(draw_frame(frame, result, self._trails, self._names))

    def close(self) -> None:
        self._writer.release()
