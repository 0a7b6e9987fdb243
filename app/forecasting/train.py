"""Training loop for :class:`TrajectoryLSTM` on fixed-step windows (seeded, CPU by default)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from tqdm import tqdm

from app.pipeline.forecasting.lstm import LSTMConfig, TrajectoryLSTM, features, neighbour_features

__all__ = [
    "CHI2_2DOF_90",
    "TrainConfig",
    "WindowSet",
    "calibrate_sigma",
    "predict_windows",
    "train_model",
]

CHI2_2DOF_90 = 4.605170185988092  # 90% quantile of chi-square with 2 degrees of freedom


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings.

    Attributes:
        epochs: most passes over the training windows.
        batch_size: windows per step.
        lr: AdamW learning rate (cosine-decayed to 2% over ``epochs``).
        weight_decay: AdamW decoupled weight decay (higher regularises more).
        ade_weight: weight of the mean displacement error added to the Gaussian NLL (keeps the
            mean sharp; 0 trains on NLL alone).
        truncate_prob: chance a training window's oldest steps are hidden, teaching short histories.
        augment: random mirroring of every window, and rotation if ``rotate``.
        rotate: random rotation when augmenting (right for ground-plane metres, where motion has no
            preferred direction; image motion has one: gravity and perspective point down).
        speed_jitter: when augmenting, scale each window's motion (past and future alike) by
            exp(u), u uniform in [-speed_jitter, speed_jitter] (0: off).
        eval_every: epochs between validation passes (when validation windows are given); the
            weights with the lowest validation ADE are kept.
        patience: stop after this many epochs without a better validation ADE (0: never stop early).
        seed: RNG seed for torch and numpy.
        threads: torch CPU threads.
    """

    epochs: int = 30
    batch_size: int = 256
    lr: float = 2e-3
    weight_decay: float = 1e-4
    ade_weight: float = 1.0
    truncate_prob: float = 0.2
    augment: bool = True
    rotate: bool = True
    speed_jitter: float = 0.0
    eval_every: int = 2
    patience: int = 0
    seed: int = 0
    threads: int = 2


@dataclass(frozen=True)
class WindowSet:
    """Windows as the trainer reads them.

    Attributes:
        obs: (n, obs_len, 2) observed positions; fut: (n, pred_len, 2) true future positions.
        scale: (n,) normalising length (1 for metres, mean box height for pixels).
        height: (n, obs_len) box heights, pixels, for models with ``box_features``.
        neighbours: (n, K, 2, 2) other agents at the last two observed steps (NaN: nobody), for
            models with ``neighbours > 0``.
    """

    obs: np.ndarray
    fut: np.ndarray
    scale: np.ndarray
    height: np.ndarray | None = None
    neighbours: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.obs)

    def take(self, idx: np.ndarray) -> WindowSet:
        return WindowSet(
            self.obs[idx],
            self.fut[idx],
            self.scale[idx],
            None if self.height is None else self.height[idx],
            None if self.neighbours is None else self.neighbours[idx],
        )


Inputs = tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]


def _batch_inputs(
    obs: np.ndarray,
    fut: np.ndarray,
    scale: np.ndarray,
    rng: np.random.Generator | None,
    truncate_prob: float,
    augment: bool = True,
    rotate: bool = True,
    height: np.ndarray | None = None,
    neighbours: np.ndarray | None = None,
    config: LSTMConfig | None = None,
    speed_jitter: float = 0.0,
) -> tuple[Inputs, torch.Tensor]:
    """Network inputs ``(x, nb, nb_mask)`` and normalised targets for a batch of windows.

    Positions are taken relative to the last observed one; ``rng`` (training only) draws the
    augmentation and truncation. ``height`` is read when ``config.box_features``; ``neighbours``
    when ``config.neighbours``.
    """
    last = obs[:, -1:]
    rel_obs = obs - last
    rel_fut = fut - last
    hgt = height if config is None or config.box_features else None
    k = 0 if config is None else config.neighbours
    rel_nb = None
    if k and neighbours is not None:
        rel_nb = neighbours[:, :k] - last[:, :, None, :]  # (B, k, 2, 2)
    valid = np.ones(obs.shape[:2], bool)
    if rng is not None and augment:  # rotation and mirror
        theta = rng.uniform(0, 2 * np.pi, len(obs)) if rotate else np.zeros(len(obs))
        c, s = np.cos(theta), np.sin(theta)
        rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)  # (B, 2, 2)
        flip = np.where(rng.random(len(obs)) < 0.5, -1.0, 1.0)
        rot[:, :, 0] *= flip[:, None]
        rel_obs = np.einsum("bij,btj->bti", rot, rel_obs)
        rel_fut = np.einsum("bij,btj->bti", rot, rel_fut)
        if rel_nb is not None:
            rel_nb = np.einsum("bij,bktj->bkti", rot, rel_nb)
        if speed_jitter > 0:
            f = np.exp(rng.uniform(-speed_jitter, speed_jitter, len(obs)))
            rel_obs, rel_fut = rel_obs * f[:, None, None], rel_fut * f[:, None, None]
            if rel_nb is not None:
                rel_nb = rel_nb * f[:, None, None, None]
    if rng is not None and truncate_prob > 0:  # hide the oldest steps of some windows
        cut = rng.integers(0, obs.shape[1] - 1, len(obs))
        cut[rng.random(len(obs)) >= truncate_prob] = 0
        valid = np.arange(obs.shape[1])[None, :] >= cut[:, None]
        rows = np.arange(len(obs))
        rel_obs = np.where(valid[..., None], rel_obs, rel_obs[rows, cut][:, None, :])
        if hgt is not None:
            hgt = np.where(valid, hgt, hgt[rows, cut][:, None])
    x = torch.from_numpy(features(rel_obs, valid, scale, hgt))
    nb = nb_mask = None
    if k:
        if rel_nb is None:
            rel_nb = np.full((len(obs), k, 2, 2), np.nan)
        f, m = neighbour_features(rel_obs[:, -2:], rel_nb, scale)
        nb, nb_mask = torch.from_numpy(f), torch.from_numpy(m)
    y = (rel_fut / scale[:, None, None]).astype(np.float32)
    return (x, nb, nb_mask), torch.from_numpy(y)


def _loss(mu: torch.Tensor, log_sigma: torch.Tensor, y: torch.Tensor, ade_weight: float) -> torch.Tensor:
    """Displacement error trains the mean; the Gaussian NLL (on the detached mean) trains sigma."""
    z = (y - mu.detach()) / log_sigma.exp()
    nll = (0.5 * z.pow(2) + log_sigma).sum(-1).mean()
    ade = (y - mu).norm(dim=-1).mean()
    return nll + ade_weight * ade


def predict_windows(
    model: TrajectoryLSTM,
    obs: np.ndarray,
    scale: np.ndarray,
    height: np.ndarray | None = None,
    neighbours: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Forecast windows: returns absolute (n, pred_len, 2) positions and (n, pred_len, 2) sigmas."""
    model.eval()
    c = model.config
    mus, sigs = [], []
    with torch.inference_mode():
        for i in range(0, len(obs), 4096):
            sl = slice(i, i + 4096)
            o, s = obs[sl], scale[sl]
            inputs, _ = _batch_inputs(
                o,
                o[:, -1:].repeat(c.pred_len, 1),
                s,
                None,
                0.0,
                height=None if height is None else height[sl],
                neighbours=None if neighbours is None else neighbours[sl],
                config=c,
            )
            mu, ls = model(*inputs)
            mus.append(mu.numpy() * s[:, None, None] + o[:, -1:])
            sigs.append(np.exp(ls.numpy()) * s[:, None, None])
    return np.concatenate(mus), np.concatenate(sigs)


def calibrate_sigma(pred: np.ndarray, sigma: np.ndarray, fut: np.ndarray) -> float:
    """Scale for sigmas so that 90% of true points fall in the predicted 90% ellipse."""
    m = np.sqrt((((fut - pred) / sigma) ** 2).sum(-1)).ravel()
    return float(np.quantile(m, 0.9) / math.sqrt(CHI2_2DOF_90))


def _val_ade(model: TrajectoryLSTM, val: WindowSet) -> float:
    """Validation ADE in normalised units (box heights for pixels, metres for ETH/UCY)."""
    pred, _ = predict_windows(model, val.obs, val.scale, val.height, val.neighbours)
    return float((np.linalg.norm(pred - val.fut, axis=-1) / val.scale[:, None]).mean())


def train_model(
    train_obs: np.ndarray,
    train_fut: np.ndarray,
    train_scale: np.ndarray,
    model_config: LSTMConfig,
    config: TrainConfig = TrainConfig(),
    progress: bool = True,
    desc: str = "train",
    *,
    height: np.ndarray | None = None,
    neighbours: np.ndarray | None = None,
    val: WindowSet | None = None,
    history: list[tuple[int, float]] | None = None,
) -> TrajectoryLSTM:
    """Train a fresh network on windows.

    Args:
        train_obs: (n, obs_len, 2) observed positions; train_fut: (n, pred_len, 2); train_scale: (n,)
            normalising length per window (1 for metres, box height for pixels).
        height, neighbours: optional per-window inputs (see :class:`WindowSet`).
        val: validation windows; when given, the weights with the lowest validation ADE are kept
            and ``config.patience`` may stop training early.
        history: if given, receives ``(epoch, val_ade)`` after each validation pass.
    """
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    rng = np.random.default_rng(config.seed)
    data = WindowSet(train_obs, train_fut, train_scale, height, neighbours)
    model = TrajectoryLSTM(model_config)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = max(1, math.ceil(len(data) / config.batch_size))
    total = config.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, total, eta_min=config.lr * 0.02)
    bar = tqdm(total=total, desc=desc, disable=not progress, dynamic_ncols=True, leave=False)
    best_ade, best_state, best_epoch = math.inf, None, -1
    for epoch in range(config.epochs):
        model.train()
        order = rng.permutation(len(data))
        for k in range(steps_per_epoch):
            b = data.take(order[k * config.batch_size : (k + 1) * config.batch_size])
            inputs, y = _batch_inputs(
                b.obs,
                b.fut,
                b.scale,
                rng,
                config.truncate_prob,
                config.augment,
                config.rotate,
                b.height,
                b.neighbours,
                model_config,
                config.speed_jitter,
            )
            mu, ls = model(*inputs)
            loss = _loss(mu, ls, y, config.ade_weight)
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.3f}", val=f"{best_ade:.4f}")
        last = epoch == config.epochs - 1
        if val is not None and len(val) and ((epoch + 1) % config.eval_every == 0 or last):
            ade = _val_ade(model, val)
            if history is not None:
                history.append((epoch, ade))
            if ade < best_ade:
                best_ade, best_epoch = ade, epoch
                best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            elif config.patience and epoch - best_epoch >= config.patience:
                break
    bar.close()
    if best_state is not None:
        model.load_state_dict(best_state)
    return model.eval()
