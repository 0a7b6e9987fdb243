"""Forecaster latency: one batched ``predict`` for 100 tracks, shipped LSTM vs constant velocity."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from app.pipeline.forecasting import ConstantVelocityForecaster, load_forecaster
from app.pipeline.history import History

CHECKPOINT = Path(__file__).resolve().parents[1] / "models" / "forecaster" / "lstm.pt"


def _histories(n: int, fps: float = 25.0, seconds: float = 4.0, seed: int = 0) -> list[History]:
    rng = np.random.default_rng(seed)
    t = np.arange(0, seconds, 1 / fps)
    out = []
    for i in range(n):
        v = rng.normal(0, 40, 2)
        c = rng.uniform(100, 900, 2) + v * t[:, None] + np.cumsum(rng.normal(0, 0.5, (len(t), 2)), 0)
        h = rng.uniform(40, 200)
        out.append(History(i + 1, t.copy(), np.concatenate([c - [h / 4, h / 2], c + [h / 4, h / 2]], 1)))
    return out


def _median_ms(fn, repeats: int) -> float:
    for _ in range(10):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000)


def run(tracks: int = 100, repeats: int = 300) -> dict:
    """Median milliseconds of one ``predict`` call for ``tracks`` 25 fps tracks (4 s of history),
    offsets 0.2 s to 4.8 s, for the shipped LSTM and for constant velocity."""
    histories = _histories(tracks)
    offsets = np.arange(1, 25) * 0.2
    lstm = load_forecaster(CHECKPOINT)
    cv = ConstantVelocityForecaster()
    return {
        "tracks": tracks,
        "horizon_points": len(offsets),
        "lstm_median_ms": round(_median_ms(lambda: lstm.predict(histories, offsets), repeats), 3),
        "constant_velocity_median_ms": round(_median_ms(lambda: cv.predict(histories, offsets), repeats), 3),
        "lstm_1_track_median_ms": round(_median_ms(lambda: lstm.predict(histories[:1], offsets), repeats), 3),
        "checkpoint": str(CHECKPOINT.name),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(run(), indent=1))
