"""Detector-only vs full-pipeline fps (same frames, interleaved), and association updates/s."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np

from app.pipeline.detector import Detector
from app.pipeline.forecasting.factory import build_forecaster
from app.pipeline.pipeline import StreamPipeline
from app.pipeline.tracker import Tracker
from app.pipeline.types import Detections
from app.pipeline.video import VideoReader

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


def _frames(n: int) -> list[np.ndarray]:
    with VideoReader(SHARED / "data" / "mot" / "PETS09-S2L1" / "PETS09-S2L1.avi") as r:
        return [f for _, (_, _, f) in zip(range(n), r)]


def pipeline_vs_detector(n_frames: int = 120, rounds: int = 3) -> dict:
    """Median per-frame time of detector-only and of detect+track+forecast, in alternating rounds."""
    det = Detector(str(REPO / "models/detector/yolo11n_int8_openvino_model"), device="cpu", conf=0.1)
    frames = _frames(n_frames)
    det.detect(frames[:2])  # warm-up
    forecaster = build_forecaster("auto")
    det_times: list[float] = []
    pipe_times: list[float] = []
    for _ in range(rounds):
        for f in frames:
            t0 = time.perf_counter()
            det.detect([f])
            det_times.append(time.perf_counter() - t0)
        sp = StreamPipeline(forecaster, fps=7)
        for i, f in enumerate(frames):
            t0 = time.perf_counter()
            sp.process(det, f, i)
            pipe_times.append(time.perf_counter() - t0)
    d, p = statistics.median(det_times), statistics.median(pipe_times)
    return {
        "frames": n_frames * rounds,
        "forecaster": getattr(forecaster, "name", type(forecaster).__name__),
        "detector_only_ms_median": round(d * 1000, 2),
        "pipeline_ms_median": round(p * 1000, 2),
        "detector_only_fps": round(1 / d, 2),
        "pipeline_fps": round(1 / p, 2),
        "pipeline_over_detector_ratio": round(d / p, 3),
        "target_ratio": 0.9,
    }


def _random_dets(rng: np.random.Generator, n: int, state: np.ndarray) -> Detections:
    state += rng.normal(0, 2.0, state.shape)
    xyxy = np.concatenate([state, state + np.array([20.0, 50.0])], 1).astype(np.float32)
    return Detections(xyxy, rng.uniform(0.3, 1.0, n).astype(np.float32), np.zeros(n, np.int64))


def association_rate(sizes: tuple[int, ...] = (10, 50, 200), frames: int = 300) -> dict:
    """Tracker updates per second with n moving objects a frame (association step alone)."""
    out = {}
    for n in sizes:
        rng = np.random.default_rng(n)
        state = rng.uniform(0, 1000, (n, 2))
        dets = [_random_dets(rng, n, state) for _ in range(frames)]
        tracker = Tracker(fps=10)
        times = []
        for d in dets:
            t0 = time.perf_counter()
            tracker.update(d)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times[10:])
        out[f"updates_per_s_at_{n}_dets"] = round(1 / med, 1)
    out["target_updates_per_s_at_50"] = 1000
    return out
