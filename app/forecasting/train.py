"""Training loop for :class:`TrajectoryLSTM` on fixed-step windows (seeded, CPU by default)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from app.pipeline.forecasting.lstm import LSTMConfig, TrajectoryLSTM, features

__all__ = ["CHI2_2DOF_90", "TrainConfig", "calibrate_sigma", "predict_windows", "train_model"]

CHI2_2DOF_90 = 4.605170185988092  # 90% quantile of chi-square with 2 degrees of freedom


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes:
        epochs: passes over the training windows.
        batch_size: windows per step.
        lr: Adam learning rate (cosine-decayed to 5% over training).
        ade_weight: weight of the mean displacement error added to the Gaussian NLL (keeps the
            mean sharp; 0 trains on NLL alone).
        truncate_prob: chance a training window's oldest steps are hidden, teaching short histories.
        augment: random mirroring of every window, and rotation if ``rotate``.
        rotate: random rotation when augmenting (right for ground-plane metres, where motion has no
            preferred direction; image motion has one: gravity and perspective point down).
        seed: RNG seed for torch and numpy.
        threads: torch CPU threads.
    """

    epochs: int = 30
    batch_size: int = 256
    lr: float = 2e-3
    ade_weight: float = 1.0
    truncate_prob: float = 0.2
    augment: bool = True
    rotate: bool = True
    seed: int = 0
    threads: int = 2


def _batch_inputs(
    obs: np.ndarray,
    fut: np.ndarray,
    scale: np.ndarray,
    rng: np.random.Generator | None,
    truncate_prob: float,
    augment: bool = True,
    rotate: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    rel_obs = obs - obs[:, -1:]
    rel_fut = fut - obs[:, -1:]
    valid = np.ones(obs.shape[:2], bool)
    if rng is not None and augment:  # rotation and mirror
        theta = rng.uniform(0, 2 * np.pi, len(obs)) if rotate else np.zeros(len(obs))
        c, s = np.cos(theta), np.sin(theta)
        rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (B, 2, 2)
        flip = np.where(rng.random(len(obs)) < 0.5, -1.0, 1.0)
        rot[:, :, 0] *= flip[:, None]
        rel_obs = np.einsum("bij,btj->bti", rot, rel_obs)
        rel_fut = np.einsum("bij,btj->bti", rot, rel_fut)
    if rng is not None and truncate_prob > 0:  # hide the oldest steps of some windows
        cut = rng.integers(0, obs.shape[1] - 1, len(obs))
        cut[rng.random(len(obs)) >= truncate_prob] = 0
        valid = np.arange(obs.shape[1])[None, :] >= cut[:, None]
        rel_obs = np.where(valid[..., None], rel_obs, rel_obs[np.arange(len(obs)), cut][:, None, :])
    x = features(rel_obs, valid, scale)
    y = (rel_fut / scale[:, None, None]).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y)


def _loss(mu: torch.Tensor, log_sigma: torch.Tensor, y: torch.Tensor, ade_weight: float) -> torch.Tensor:
    """Displacement error trains the mean; the Gaussian NLL (on the detached mean) trains sigma."""
    z = (y - mu.detach()) / log_sigma.exp()
    nll = (0.5 * z.pow(2) + log_sigma).sum(-1).mean()
    ade = (y - mu).norm(dim=-1).mean()
    return nll + ade_weight * ade


def predict_windows(
    model: TrajectoryLSTM, obs: np.ndarray, scale: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Forecast windows: returns absolute (n, pred_len, 2) positions and (n, pred_len, 2) sigmas."""
    model.eval()
    mus, sigs = [], []
    with torch.inference_mode():
        for i in range(0, len(obs), 4096):
            o, s = obs[i : i + 4096], scale[i : i + 4096]
            x, _ = _batch_inputs(o, o[:, -1:].repeat(model.config.pred_len, 1), s, None, 0.0)
            mu, ls = model(x)
            mus.append(mu.numpy() * s[:, None, None] + o[:, -1:])
            sigs.append(np.exp(ls.numpy()) * s[:, None, None])
    return np.concatenate(mus), np.concatenate(sigs)


def calibrate_sigma(pred: np.ndarray, sigma: np.ndarray, fut: np.ndarray) -> float:
    """Scale for sigmas so that 90% of true points fall in the predicted 90% ellipse."""
    m = np.sqrt((((fut - pred) / sigma) ** 2).sum(-1)).ravel()
    return float(np.quantile(m, 0.9) / math.sqrt(CHI2_2DOF_90))


def train_model(
    train_obs: np.ndarray,
    train_fut: np.ndarray,
    train_scale: np.ndarray,
    model_config: LSTMConfig,
    config: TrainConfig = TrainConfig(),
    progress: bool = True,
    desc: str = "train",
) -> TrajectoryLSTM:
    """Train a fresh network on windows.

    Args:
        train_obs: (n, obs_len, 2) observed positions; train_fut: (n, pred_len, 2); train_scale: (n,)
            normalising length per window (1 for metres, box height for pixels).
    """
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    model = TrajectoryLSTM(model_config)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps_per_epoch = max(1, math.ceil(len(train_obs) / config.batch_size))
    total = config.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total, eta_min=config.lr * 0.05)
    bar = tqdm(total=total, desc=desc, disable=not progress, dynamic_ncols=True, leave=False)
    model.train()
    for _epoch in range(config.epochs):
        order = rng.permutation(len(train_obs))
        for k in range(steps_per_epoch):
            idx = order[k * config.batch_size : (k + 1) * config.batch_size]
            x, y = _batch_inputs(
                train_obs[idx],
                train_fut[idx],
                train_scale[idx],
                rng,
                config.truncate_prob,
                config.augment,
                config.rotate,
            )
            mu, ls = model(x)
            loss = _loss(mu, ls, y, config.ade_weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}")
    bar.close()
    return model.eval()
