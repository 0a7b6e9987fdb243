"""LSTM trajectory forecaster: the network, its config, and the serving-side forecaster.

The network sees motion only, never absolute coordinates: the displacements between consecutive
resampled positions, divided by a per-track scale (the mean box height for pixel tracks, 1 for
metres), plus a validity flag per step for short histories. It predicts, for every future step,
a correction to the constant-velocity extrapolation and a per-axis log standard deviation
(an axis-aligned Gaussian), in the same normalised units.

Training code lives in ``app.forecasting`` and is never imported here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from app.pipeline.forecasting.base import check_offsets
from app.pipeline.forecasting.constant_velocity import ConstantVelocityForecaster
from app.pipeline.history import History
from app.pipeline.types import Forecast

__all__ = [
    "LSTMConfig",
    "LSTMForecaster",
    "TrajectoryLSTM",
    "features",
    "load_forecaster",
    "resample_history",
    "save_checkpoint",
]


@dataclass(frozen=True)
class LSTMConfig:
    """Network shape and time base.

    Attributes:
        obs_len: observed positions the network reads (>= 2), at ``step_s`` spacing.
        pred_len: future positions it predicts (>= 1).
        step_s: time step in seconds (> 0).
        hidden: LSTM and MLP width.
        layers: stacked LSTM layers.
    """

    obs_len: int = 8
    pred_len: int = 12
    step_s: float = 0.4
    hidden: int = 64
    layers: int = 1

    def __post_init__(self) -> None:
        if self.obs_len < 2 or self.pred_len < 1:
            raise ValueError(f"obs_len must be >= 2 and pred_len >= 1, got {self.obs_len}, {self.pred_len}")
        if not self.step_s > 0:
            raise ValueError(f"step_s must be > 0, got {self.step_s}")
        if self.hidden < 1 or self.layers < 1:
            raise ValueError(f"hidden and layers must be >= 1, got {self.hidden}, {self.layers}")


class TrajectoryLSTM(nn.Module):
    """Encoder LSTM + MLP head.

    Input ``x``: (B, obs_len - 1, 3) normalised displacements (dx, dy) and a validity flag (1 = observed).
    Output: ``mu`` (B, pred_len, 2) future positions relative to the last observed one, normalised;
    ``log_sigma`` (B, pred_len, 2).
    """

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.embed = nn.Linear(3, h)
        self.encoder = nn.LSTM(h, h, config.layers, batch_first=True)
        self.head = nn.Sequential(nn.Linear(h + 2, h), nn.ReLU(), nn.Linear(h, config.pred_len * 4))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b = x.shape[0]
        enc, _ = self.encoder(torch.relu(self.embed(x)))  # (B, T, h)
        last_v = x[:, -1, :2]  # last displacement (B, 2)
        out = self.head(torch.cat([enc[:, -1], last_v], dim=1)).view(b, self.config.pred_len, 4)
        steps = torch.arange(1, self.config.pred_len + 1, dtype=x.dtype, device=x.device)[None, :, None]
        cv = steps * last_v[:, None, :]  # constant-velocity extrapolation
        mu = cv + out[..., :2]
        log_sigma = out[..., 2:].clamp(-6.0, 6.0)
        return mu, log_sigma


def resample_history(
    t: np.ndarray, xy: np.ndarray, obs_len: int, step_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Resample a history onto ``obs_len`` times ending at its last observation, ``step_s`` apart.

    Uses linear interpolation between observations (past only: the last resampled point is the last
    observation itself). Times before the first observation are invalid and hold the first position.

    Args:
        t: (n,) seconds, strictly increasing.
        xy: (n, 2) positions.

    Returns:
        (obs_len, 2) positions and (obs_len,) bool validity.
    """
    times = t[-1] - step_s * np.arange(obs_len - 1, -1, -1)
    valid = times >= t[0] - 1e-6
    pos = np.stack([np.interp(times, t, xy[:, 0]), np.interp(times, t, xy[:, 1])], 1)
    return pos, valid


def features(pos: np.ndarray, valid: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Network input from resampled positions.

    Args:
        pos: (B, obs_len, 2) positions; valid: (B, obs_len) bool; scale: (B,) normalising length.

    Returns:
        (B, obs_len - 1, 3) float32: displacement / scale and a validity flag (both ends observed).
    """
    d = np.diff(pos, axis=1) / scale[:, None, None]
    v = (valid[:, 1:] & valid[:, :-1]).astype(np.float64)
    d = d * v[..., None]
    return np.concatenate([d, v[..., None]], axis=2).astype(np.float32)


class LSTMForecaster:
    """Serves a trained :class:`TrajectoryLSTM` behind the :class:`Forecaster` interface.

    Histories are resampled onto the model's step from their timestamps, normalised by their mean box
    height, forecast in one batched forward pass, and interpolated onto the requested offsets
    (linearly, with the track's last position at offset 0). Offsets beyond the trained horizon
    continue the last predicted velocity and grow the uncertainty linearly. Histories spanning less
    than two model steps use the constant-velocity forecaster (``method`` says so).

    Args:
        model: the trained network (eval mode is set here).
        sigma_scale: multiplies predicted standard deviations (calibrated on validation data).
    """

    name = "lstm"

    def __init__(self, model: TrajectoryLSTM, sigma_scale: float = 1.0) -> None:
        if not sigma_scale > 0:
            raise ValueError(f"sigma_scale must be > 0, got {sigma_scale!r}")
        self.model = model.eval()
        self.config = model.config
        self.sigma_scale = float(sigma_scale)
        self._fallback = ConstantVelocityForecaster()

    def predict(self, histories: Sequence[History], offsets_s: np.ndarray) -> list[Forecast]:
        offsets = check_offsets(offsets_s)
        c = self.config
        out: list[Forecast | None] = [None] * len(histories)
        use, pos, val, scale = [], [], [], []
        for i, h in enumerate(histories):
            if len(h) == 0 or not np.all(np.isfinite(h.xyxy)) or not np.all(np.isfinite(h.t)):
                raise ValueError(f"history of track {h.track_id} is empty or not finite")
            if len(h) < 2 or h.t[-1] - h.t[0] < c.step_s - 1e-6:
                (f,) = self._fallback.predict([h], offsets)
                out[i] = Forecast(f.track_id, f.offsets_s, f.xy, f.sigma, f"{f.method}_fallback")
                continue
            p, v = resample_history(h.t, h.centers, c.obs_len, c.step_s)
            use.append(i)
            pos.append(p)
            val.append(v)
            scale.append(max(float(np.mean(h.heights)), 1.0))
        if use:
            pos_a, val_a, scale_a = np.stack(pos), np.stack(val), np.array(scale)
            x = torch.from_numpy(features(pos_a, val_a, scale_a))
            with torch.inference_mode():
                mu, log_sigma = self.model(x)
            mu_np = mu.numpy().astype(np.float64) * scale_a[:, None, None]
            sig_np = np.exp(log_sigma.numpy().astype(np.float64)) * scale_a[:, None, None] * self.sigma_scale
            grid = c.step_s * np.arange(0, c.pred_len + 1)
            for j, i in enumerate(use):
                xy, sig = _onto_offsets(grid, mu_np[j], sig_np[j], offsets)
                out[i] = Forecast(histories[i].track_id, offsets, pos_a[j, -1] + xy, sig, self.name)
        return [f for f in out if f is not None]


def _onto_offsets(
    grid: np.ndarray, mu: np.ndarray, sigma: np.ndarray, offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Interpolate (pred_len, 2) step outputs onto arbitrary offsets; extrapolate past the horizon."""
    mu0 = np.vstack([[0.0, 0.0], mu])
    sig0 = np.vstack([[0.0, 0.0], sigma])
    horizon = grid[-1]
    xy = np.stack([np.interp(offsets, grid, mu0[:, k]) for k in range(2)], 1)
    sig = np.stack([np.interp(offsets, grid, sig0[:, k]) for k in range(2)], 1)
    beyond = offsets > horizon
    if beyond.any():
        step = grid[1] - grid[0]
        v = (mu0[-1] - mu0[-2]) / step
        sv = (sig0[-1] - sig0[-2]) / step
        extra = (offsets[beyond] - horizon)[:, None]
        xy[beyond] = mu0[-1] + extra * v
        sig[beyond] = sig0[-1] + extra * np.maximum(sv, 0)
    return xy, np.maximum(sig, 1e-6)


def save_checkpoint(path: str | Path, model: TrajectoryLSTM, **meta: object) -> None:
    """Write the checkpoint dict: ``model_args``, ``model`` weights and any metadata."""
    torch.save({"model_args": asdict(model.config), "model": model.state_dict(), **meta}, path)


def load_forecaster(path: str | Path) -> LSTMForecaster:
    """Rebuild the network from a checkpoint's ``model_args`` and wrap it for serving.

    Raises:
        ValueError: missing file or not a Trackcast forecaster checkpoint.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"forecaster checkpoint not found: {p}")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=True)
        model = TrajectoryLSTM(LSTMConfig(**ckpt["model_args"]))
        model.load_state_dict(ckpt["model"])
    except Exception as exc:
        raise ValueError(f"{p} is not a Trackcast forecaster checkpoint: {exc}") from exc
    return LSTMForecaster(model, sigma_scale=float(ckpt.get("sigma_scale", 1.0)))
