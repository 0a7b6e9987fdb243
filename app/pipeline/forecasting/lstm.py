"""LSTM trajectory forecaster: the network, its config, and the serving-side forecaster.

The network sees motion only, never absolute coordinates: the displacements between consecutive
resampled positions, divided by a per-track scale (the mean box height for pixel tracks, 1 for
metres), plus a validity flag per step for short histories and, optionally, the log ratio of each
step's box height to the last one (growth says the object approaches, which in a moving camera's
image means it will drift outward). It predicts, for every future step, a correction to the
constant-velocity extrapolation (mean of the last ``base_k`` displacements) and a per-axis log
standard deviation (an axis-aligned Gaussian), in the same normalised units.

Optionally (``neighbours > 0``, the ETH/UCY benchmark models) it also reads the nearest other agents
at the last observed step: their position relative to the track's last position, their distance and
velocity, and their velocity relative to the track's; each is embedded by a small MLP and max-pooled.

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
    "neighbour_features",
    "load_forecaster",
    "nearest",
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
        base_k: the constant-velocity base the network corrects continues the mean of the last
            ``base_k`` displacements (1 <= base_k < obs_len).
        box_features: also read log(box height / last box height) per step (pixel tracks).
        neighbours: other agents read at the last observed step (0: the track alone).
        head_hidden: width of the output MLP's hidden layer (0: ``hidden``). It runs once per
            track, not per step, so widening it costs little latency.
    """

    obs_len: int = 8
    pred_len: int = 12
    step_s: float = 0.4
    hidden: int = 64
    layers: int = 1
    base_k: int = 1
    box_features: bool = False
    neighbours: int = 0
    head_hidden: int = 0

    @property
    def n_inputs(self) -> int:
        """Features per observed step: dx, dy, validity flag [, log height ratio]."""
        return 3 + int(self.box_features)

    def __post_init__(self) -> None:
        if self.obs_len < 2 or self.pred_len < 1:
            raise ValueError(f"obs_len must be >= 2 and pred_len >= 1, got {self.obs_len}, {self.pred_len}")
        if not self.step_s > 0:
            raise ValueError(f"step_s must be > 0, got {self.step_s}")
        if self.hidden < 1 or self.layers < 1:
            raise ValueError(f"hidden and layers must be >= 1, got {self.hidden}, {self.layers}")
        if not 1 <= self.base_k < self.obs_len:
            raise ValueError(f"base_k must be in [1, obs_len - 1], got {self.base_k}")
        if self.neighbours < 0:
            raise ValueError(f"neighbours must be >= 0, got {self.neighbours}")
        if self.head_hidden < 0:
            raise ValueError(f"head_hidden must be >= 0, got {self.head_hidden}")


NEIGHBOUR_FEATURES = 7  # relative position (2), distance, velocity (2), relative velocity (2)


class TrajectoryLSTM(nn.Module):
    """Encoder LSTM + MLP head (+ max-pooled neighbour MLP when ``config.neighbours > 0``).

    Inputs: ``x`` (B, obs_len - 1, n_inputs) from :func:`features`; optionally ``nb``
    (B, neighbours, 7) from :func:`neighbour_features` and ``nb_mask`` (B, neighbours) bool
    (True = present). Without them a social model sees nobody around.
    Output: ``mu`` (B, pred_len, 2) future positions relative to the last observed one, normalised;
    ``log_sigma`` (B, pred_len, 2).
    """

    def __init__(self, config: LSTMConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.embed = nn.Linear(config.n_inputs, h)
        self.encoder = nn.LSTM(h, h, config.layers, batch_first=True)
        head_in = h + 2
        if config.neighbours:
            self.social = nn.Sequential(nn.Linear(NEIGHBOUR_FEATURES, h), nn.ReLU(), nn.Linear(h, h))
            head_in += h
        hh = config.head_hidden or h
        self.head = nn.Sequential(nn.Linear(head_in, hh), nn.ReLU(), nn.Linear(hh, config.pred_len * 4))

    def forward(
        self, x: torch.Tensor, nb: torch.Tensor | None = None, nb_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        b, c = x.shape[0], self.config
        enc, _ = self.encoder(torch.relu(self.embed(x)))  # (B, T, h)
        # Constant-velocity base: mean of the last base_k displacements (invalid steps count as 0
        # and are excluded from the mean).
        valid = x[:, -c.base_k :, 2:3]
        base_v = (x[:, -c.base_k :, :2] * valid).sum(1) / valid.sum(1).clamp(min=1.0)  # (B, 2)
        parts = [enc[:, -1], base_v]
        if c.neighbours:
            if nb is None or nb_mask is None:
                pooled = torch.zeros(b, c.hidden, dtype=x.dtype, device=x.device)
            else:
                e = self.social(nb).masked_fill(~nb_mask[..., None], -1e4).amax(1)  # (B, h)
                pooled = torch.where(nb_mask.any(1, keepdim=True), e, torch.zeros_like(e))
            parts.append(pooled)
        out = self.head(torch.cat(parts, dim=1)).view(b, c.pred_len, 4)
        steps = torch.arange(1, c.pred_len + 1, dtype=x.dtype, device=x.device)[None, :, None]
        mu = steps * base_v[:, None, :] + out[..., :2]  # correction to constant velocity
        log_sigma = out[..., 2:].clamp(-6.0, 6.0)
        return mu, log_sigma


def features(
    pos: np.ndarray, valid: np.ndarray, scale: np.ndarray, height: np.ndarray | None = None
) -> np.ndarray:
    """Network input from resampled positions.

    Args:
        pos: (B, obs_len, 2) positions; valid: (B, obs_len) bool; scale: (B,) normalising length.
        height: (B, obs_len) box heights, pixels, for models with ``box_features`` (else None).

    Returns:
        (B, obs_len - 1, 3 or 4) float32: displacement / scale, a validity flag (both ends
        observed) and, with ``height``, log(height / last height) at the step's end (0 if invalid).
    """
    d = np.diff(pos, axis=1) / scale[:, None, None]
    v = (valid[:, 1:] & valid[:, :-1]).astype(np.float64)
    parts = [d * v[..., None], v[..., None]]
    if height is not None:
        h = np.maximum(height, 1.0)
        parts.append((np.log(h[:, 1:] / h[:, -1:]) * v)[..., None])
    return np.concatenate(parts, axis=2).astype(np.float32)


def neighbour_features(
    ego: np.ndarray, neighbours: np.ndarray, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Social input: the other agents at the last observed step, seen from the track.

    Args:
        ego: (B, 2, 2) the track's positions at the second-last and last observed steps.
        neighbours: (B, K, 2, 2) positions of K others at the same two steps (NaN: nobody).
        scale: (B,) normalising length.

    Returns:
        (B, K, 7) float32: position relative to the track's last one, distance, velocity per step,
        velocity relative to the track's (lengths divided by ``scale``; zero where absent), and the
        (B, K) bool presence mask.
    """
    mask = np.isfinite(neighbours).all(axis=(2, 3))
    nb = np.nan_to_num(neighbours)
    s = scale[:, None, None]
    rel = (nb[:, :, 1] - ego[:, None, 1]) / s
    vel = (nb[:, :, 1] - nb[:, :, 0]) / s
    rel_vel = vel - ((ego[:, 1] - ego[:, 0]) / scale[:, None])[:, None, :]
    dist = np.linalg.norm(rel, axis=2, keepdims=True)
    f = np.concatenate([rel, dist, vel, rel_vel], axis=2) * mask[..., None]
    return f.astype(np.float32), mask


def nearest(candidates: np.ndarray, dist: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` nearest candidates of every row, nearest first, NaN-padded.

    Args:
        candidates: (n, m, 2, 2) each row's m candidate agents at the last two steps (a broadcast
            view is fine); dist: (n, m) their distances (inf: not a candidate); k: how many to keep.

    Returns:
        (n, k, 2, 2) positions, NaN where a row has fewer than k candidates.
    """
    out = np.full((len(dist), k, 2, 2), np.nan)
    order = np.argsort(dist, axis=1)[:, :k]
    got = np.take_along_axis(candidates, order[:, :, None, None], axis=1)
    got[~np.isfinite(np.take_along_axis(dist, order, axis=1))] = np.nan
    out[:, : order.shape[1]] = got
    return out


NORMALISATIONS = ("box_height", "constant")


class LSTMForecaster:
    """Serves a trained :class:`TrajectoryLSTM` behind the :class:`Forecaster` interface.

    Per frame, all histories are validated and resampled onto the model's step from their timestamps
    in one vectorised pass, normalised (by their mean box height over the observed window, or by a
    constant), forecast in one batched forward pass, and mapped onto the requested offsets by linear
    interpolation between the model's steps (the last observation at offset 0). Offsets beyond the
    trained horizon ``pred_len * step_s`` continue the last predicted step's velocity (linear
    extrapolation) with the uncertainty held at least at its horizon value; trust them less.

    Models with ``neighbours > 0`` read the other tracks of the same call (one stream's tracks at one
    frame): for each track, the ``neighbours`` nearest others whose last observation is at the same
    moment (within half a step) and that have at least one step of past, at the last two model
    steps, as in training.

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
        self._weights: tuple[bytes, np.ndarray] = (b"", np.zeros((0, 0)))  # offsets -> offsets_matrix

    def _offset_weights(self, offsets: np.ndarray) -> np.ndarray:
        """:func:`offsets_matrix` for these offsets, cached: a stream asks the same ones every frame."""
        key, cached = self._weights  # one read: streams on other threads may replace it
        wanted = offsets.tobytes()
        if key != wanted:
            c = self.config
            cached = offsets_matrix(c.step_s, c.pred_len, offsets)
            self._weights = (wanted, cached)
        return cached

    def _others(self, histories: Sequence[History], pos: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """(B, K, 2, 2): each track's K nearest others (see the class docstring) at the last two
        model steps, pixels, NaN where there are fewer than K."""
        c, b = self.config, len(pos)
        last_t = np.fromiter((h.t[-1] for h in histories), np.float64, b)
        ok = (np.abs(last_t[:, None] - last_t[None, :]) <= c.step_s / 2) & valid[None, :, -2]
        np.fill_diagonal(ok, False)
        dist = np.where(ok, np.linalg.norm(pos[:, None, -1] - pos[None, :, -1], axis=2), np.inf)
        return nearest(np.broadcast_to(pos[None, :, -2:], (b, b, 2, 2)), dist, c.neighbours)

    def predict(self, histories: Sequence[History], offsets_s: np.ndarray) -> list[Forecast]:
        offsets = check_offsets(offsets_s)
        c = self.config
        pos, valid, height, span = resample_batch(histories, c.obs_len, c.step_s)
        use = span >= c.step_s - 1e-6
        others = self._others(histories, pos, valid) if c.neighbours else None
        out: list[Forecast | None] = [None] * len(histories)
        for i in np.flatnonzero(~use).tolist():
            (f,) = self._fallback.predict([histories[i]], offsets)
            out[i] = Forecast(f.track_id, f.offsets_s, f.xy, f.sigma, f"{f.method}_fallback")
        if use.any():
            pos, valid, height = pos[use], valid[use], height[use]
            if self.normalisation == "box_height":
                scale = np.maximum((height * valid).sum(1) / valid.sum(1), 1.0)
            else:
                scale = np.full(len(pos), self.scale)
            x = torch.from_numpy(features(pos, valid, scale, height if c.box_features else None))
            nb = nb_mask = None
            if others is not None:
                f_nb, m_nb = neighbour_features(pos[:, -2:], others[use], scale)
                nb, nb_mask = torch.from_numpy(f_nb), torch.from_numpy(m_nb)
            if self.threads is not None and torch.get_num_threads() != self.threads:
                torch.set_num_threads(self.threads)
            with torch.inference_mode():
                mu, log_sigma = self.model(x, nb, nb_mask)
            w = self._offset_weights(offsets)  # (h, pred_len)
            mu_np = mu.numpy().astype(np.float64) * scale[:, None, None]
            sig_np = np.exp(log_sigma.numpy().astype(np.float64)) * (scale * self.sigma_scale)[:, None, None]
            xy = np.matmul(w, mu_np) + pos[:, -1:, :]  # (h, p) @ (B, p, 2) -> (B, h, 2)
            sig = np.matmul(w, sig_np)
            beyond = offsets > c.pred_len * c.step_s
            if beyond.any():
                sig[:, beyond] = np.maximum(sig[:, beyond], sig_np[:, -1:, :])
            sig = np.maximum(sig, 1e-6)
            rows = np.flatnonzero(use).tolist()
            batch = Forecast.batch([histories[i].track_id for i in rows], offsets, xy, sig, self.name)
            for i, f in zip(rows, batch):
                out[i] = f
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
