"""Trackcast vs Ultralytics' own ``model.track`` on one MOTChallenge sequence, same detector.

Detections are computed once and cached, so every Trackcast tracker setting is scored on exactly the
same detector outputs; Ultralytics' ``model.track`` runs the same model file with the same ``conf``
and classes (its detector outputs are identical; it is the association that differs).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.pipeline.detector import Detector
from app.pipeline.tracker import Tracker, TrackerConfig
from app.pipeline.types import Detections, xyxy_to_tlwh
from app.pipeline.video import VideoReader

__all__ = ["MotSequence", "detect_sequence", "track_detections", "ultralytics_track"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MotSequence:
    """A MOTChallenge sequence folder: ``seqinfo.ini``, ``gt/gt.txt`` and a video (or ``img1/``)."""

    root: Path
    video: Path
    gt: Path
    fps: float
    length: int

    @classmethod
    def open(cls, root: str | Path) -> MotSequence:
        import configparser

        r = Path(root)
        ini = r / "seqinfo.ini"
        if not ini.is_file():
            raise ValueError(f"{r} is not a MOTChallenge sequence folder (no seqinfo.ini)")
        cp = configparser.ConfigParser()
        cp.read(ini)
        name = cp.get("Sequence", "name", fallback=r.name)
        videos = [p for p in r.iterdir() if p.suffix.lower() in (".avi", ".mp4", ".mkv", ".mov")]
        video = r / f"{name}.avi" if (r / f"{name}.avi").exists() else (videos[0] if videos else r / "img1")
        if not video.exists():
            raise ValueError(f"{r}: no video file and no img1/ folder")
        return cls(
            r,
            video,
            r / "gt" / "gt.txt",
            cp.getfloat("Sequence", "frameRate"),
            cp.getint("Sequence", "seqLength"),
        )


def _cache_key(detector: Detector, video: Path) -> str:
    st = video.stat() if video.is_file() else None
    d = detector
    raw = f"{d.model_name}|{d.conf}|{d.iou}|{d.imgsz}|{d.classes}|{video}|{st and st.st_size}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]


def detect_sequence(
    detector: Detector,
    video: Path,
    fps: float,
    cache_dir: Path | None = None,
    progress: Callable | None = None,
) -> list[Detections]:
    """Run the detector over every frame (one frame per call), optionally cached as .npz."""
    cache = cache_dir / f"dets-{_cache_key(detector, video)}.npz" if cache_dir else None
    if cache and cache.is_file():
        z = np.load(cache)
        n = int(z["n"])
        return [Detections(z[f"b{i}"], z[f"c{i}"], z[f"k{i}"]) for i in range(n)]
    out = []
    with VideoReader(video, fps=fps) as reader:
        for _i, _t, frame in reader:
            out.extend(detector.detect([frame]))
            if progress:
                progress()
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"n": np.array(len(out))}
        for i, d in enumerate(out):
            arrays.update({f"b{i}": d.xyxy, f"c{i}": d.confidence, f"k{i}": d.class_id})
        np.savez_compressed(cache, **arrays)  # type: ignore[arg-type]
    return out


def track_detections(detections: list[Detections], fps: float, config: TrackerConfig) -> np.ndarray:
    """Associate cached detections with a fresh Trackcast tracker.

    Returns:
        (n, 7) MOT rows ``frame (1-based), id, left, top, width, height, conf``.
    """
    tracker = Tracker(config, fps=fps)
    rows = []
    for i, dets in enumerate(detections):
        out = tracker.update(dets)
        for tb in out.tracked:
            rows.append([i + 1, tb.track_id, *xyxy_to_tlwh(tb.xyxy[None])[0], tb.confidence])
    return np.array(rows) if rows else np.zeros((0, 7))


def ultralytics_track(
    model: str, video: Path, tracker_yaml: str, conf: float, classes: list[int] | None, imgsz: int = 640
) -> np.ndarray:
    """Ultralytics' own ``model.track`` with its default tracker YAML; returns MOT rows as above."""
    from ultralytics import YOLO

    yolo = YOLO(model, task="detect")
    rows = []
    results = yolo.track(
        source=str(video), tracker=tracker_yaml, conf=conf, classes=classes, imgsz=imgsz,
        stream=True, persist=True, verbose=False,
    )  # fmt: skip
    for i, r in enumerate(results):
        b = r.boxes
        if b is None or b.id is None:
            continue
        xyxy, ids, confs = (np.asarray(getattr(v, "cpu", lambda v=v: v)()) for v in (b.xyxy, b.id, b.conf))
        for box, tid, c in zip(xyxy, ids, confs):
            rows.append([i + 1, int(tid), *xyxy_to_tlwh(box[None])[0], float(c)])
    return np.array(rows) if rows else np.zeros((0, 7))
