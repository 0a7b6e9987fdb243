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
from app.pipeline.forecasting.resample import offsets_matrix, resample_batch, resample_history
from app.pipeline.history import History
from app.pipeline.types import Forecast

__all__ = [
    "LSTMConfig",
    "LSTMForecaster",
    "NORMALISATIONS",
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


NORMALISATIONS = ("box_height", "constant")


class LSTMForecaster:
    """Serves a trained :class:`TrajectoryLSTM` behind the :class:`Forecaster` interface.

    Per frame, all histories are validated and resampled onto the model's step from their timestamps
    in one vectorised pass, normalised (by their mean box height over the observed window, or by a
    constant), forecast in one batched forward pass, and mapped onto the requested offsets by linear
    interpolation between the model's steps (the last observation at offset 0). Offsets beyond the
    trained horizon ``pred_len * step_s`` continue the last predicted step's velocity (linear
    extrapolation) with the uncertainty held at least at its horizon value; trust them less.

    Short histories: the network masks the steps before a track's first observation. A history
    spanning less than one model step (fewer than two model points) is answered by
    :class:`ConstantVelocityForecaster`, with ``method`` ``"constant_velocity_fallback"`` (or
    ``"static_fallback"`` for a single point).

    Args:
        model: the trained network (eval mode is set here).
        sigma_scale: multiplies predicted standard deviations (calibrated on validation data, > 0).
        normalisation: ``"box_height"`` (divide motion by the mean box height) or ``"constant"``.
        scale: the divisor for ``"constant"`` normalisation, pixels (> 0).
        threads: torch intra-op threads for inference; 1 is fastest for this small model.
    """

    name = "lstm"

    def __init__(
        self,
        model: TrajectoryLSTM,
        sigma_scale: float = 1.0,
        normalisation: str = "box_height",
        scale: float = 1.0,
        threads: int | None = 1,
    ) -> None:
        if not sigma_scale > 0:
            raise ValueError(f"sigma_scale must be > 0, got {sigma_scale!r}")
        if normalisation not in NORMALISATIONS:
            raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {normalisation!r}")
        if not scale > 0:
            raise ValueError(f"scale must be > 0, got {scale!r}")
        self.model = model.eval()
        self.config = model.config
        self.sigma_scale = float(sigma_scale)
        self.normalisation = normalisation
        self.scale = float(scale)
        self.threads = threads
        self._fallback = ConstantVelocityForecaster()

    def predict(self, histories: Sequence[History], offsets_s: np.ndarray) -> list[Forecast]:
        offsets = check_offsets(offsets_s)
        c = self.config
        pos, valid, height, span = resample_batch(histories, c.obs_len, c.step_s)
        use = span >= c.step_s - 1e-6
        out: list[Forecast | None] = [None] * len(histories)
        for i in np.flatnonzero(~use):
            (f,) = self._fallback.predict([histories[i]], offsets)
            out[i] = Forecast(f.track_id, f.offsets_s, f.xy, f.sigma, f"{f.method}_fallback")
        if use.any():
            pos, valid, height = pos[use], valid[use], height[use]
            if self.normalisation == "box_height":
                scale = np.maximum((height * valid).sum(1) / valid.sum(1), 1.0)
            else:
                scale = np.full(len(pos), self.scale)
            x = torch.from_numpy(features(pos, valid, scale))
            if self.threads is not None and torch.get_num_threads() != self.threads:
                torch.set_num_threads(self.threads)
            with torch.inference_mode():
                mu, log_sigma = self.model(x)
            w = offsets_matrix(c.step_s, c.pred_len, offsets)  # (h, pred_len)
            mu_np = mu.numpy().astype(np.float64) * scale[:, None, None]
            sig_np = np.exp(log_sigma.numpy().astype(np.float64)) * (scale * self.sigma_scale)[:, None, None]
            xy = np.einsum("hp,bpk->bhk", w, mu_np) + pos[:, -1:, :]
            sig = np.einsum("hp,bpk->bhk", w, sig_np)
            beyond = offsets > c.pred_len * c.step_s
            if beyond.any():
                sig[:, beyond] = np.maximum(sig[:, beyond], sig_np[:, -1:, :])
            sig = np.maximum(sig, 1e-6)
            for j, i in enumerate(np.flatnonzero(use)):
                out[i] = Forecast(histories[i].track_id, offsets, xy[j], sig[j], self.name)
        return [f for f in out if f is not None]


def save_checkpoint(path: str | Path, model: TrajectoryLSTM, **meta: object) -> None:
    """Write the checkpoint: one dict with ``model_args``, ``model`` (weights) and metadata.

    Metadata read back by :func:`load_forecaster`: ``normalisation`` (a dict with ``kind``,
    ``"box_height"`` or ``"constant"``, and ``scale``) and ``sigma_scale``. Training also stores
    ``provenance`` (data, splits, config, seed) and ``val_metrics``.
    """
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
    norm = ckpt.get("normalisation") or {"kind": "box_height"}
    if isinstance(norm, str):
        norm = {"kind": norm}
    return LSTMForecaster(
        model,
        sigma_scale=float(ckpt.get("sigma_scale", 1.0)),
        normalisation=str(norm.get("kind", "box_height")),
        scale=float(norm.get("scale", 1.0)),
    )
