"""Constant-velocity baseline: the last observed velocity continued."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.pipeline.forecasting.base import check_offsets
from app.pipeline.history import History
from app.pipeline.types import Forecast

__all__ = ["ConstantVelocityForecaster"]


class ConstantVelocityForecaster:
    """Extrapolate box centres at the mean velocity of the last ``window_s`` seconds.

    Velocity is (last - first) / (t_last - t_first) over the observations inside the window, so it
    uses timestamps, not frame counts, and works at any frame rate or with dropped frames. A history
    of one point gets zero velocity (method ``"static"``).

    Uncertainty is an isotropic Gaussian whose standard deviation grows linearly with the offset,
    in units of the last box height: ``sigma = height * (sigma0 + sigma_rate * offset_s)``.

    Args:
        window_s: seconds of past used for the velocity (> 0). Shorter follows turns sooner and is
            noisier; longer is smoother and lags turns.
        sigma0: standard deviation at offset 0, in box heights (>= 0).
        sigma_rate: growth of the standard deviation, box heights per second (>= 0).
    """

    name = "constant_velocity"

    def __init__(self, window_s: float = 0.5, sigma0: float = 0.05, sigma_rate: float = 0.25) -> None:
        if not window_s > 0:
            raise ValueError(f"window_s must be > 0, got {window_s!r}")
        if sigma0 < 0 or sigma_rate < 0:
            raise ValueError(f"sigma0 and sigma_rate must be >= 0, got {sigma0!r}, {sigma_rate!r}")
        self.window_s = float(window_s)
        self.sigma0 = float(sigma0)
        self.sigma_rate = float(sigma_rate)

    def predict(self, histories: Sequence[History], offsets_s: np.ndarray) -> list[Forecast]:
        offsets = check_offsets(offsets_s)
        out = []
        for h in histories:
            if len(h) == 0:
                raise ValueError(f"history of track {h.track_id} is empty")
            c = h.centers
            method = self.name
            inside = h.t >= h.t[-1] - self.window_s - 1e-9
            first = int(np.argmax(inside))
            if first == len(h) - 1 and len(h) >= 2:
                first = len(h) - 2  # sparse history: fall back to the last displacement
            if first == len(h) - 1:
                velocity = np.zeros(2)
                method = "static"
            else:
                velocity = (c[-1] - c[first]) / (h.t[-1] - h.t[first])
            xy = c[-1] + offsets[:, None] * velocity[None, :]
            height = max(float(h.heights[-1]), 1.0)
            s = height * (self.sigma0 + self.sigma_rate * offsets)
            out.append(Forecast(h.track_id, offsets, xy, np.stack([s, s], 1), method))
        return out
