"""``forecaster eval``: the LSTM and the baselines on the same windows, as side-by-side tables.

Baselines (all fed the same fixed-step observed windows):

- ``cv``: constant velocity, last displacement.
- ``cv_mean_k``: constant velocity over the mean of the last ``k`` displacements, ``k`` tuned on the
  validation windows.
- ``ca_kf``: constant-acceleration Kalman filter (filterpy's model, batched in numpy:
  :func:`constant_acceleration_kf_batch`), process and measurement noise tuned on validation.
  Pixel windows are filtered in box-height units (relative to the last observation) so one noise
  setting serves every resolution.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.forecasting.baselines import constant_acceleration_kf_batch, constant_velocity_mean
from app.forecasting.eth_ucy import SCENES, load_scene_split
from app.forecasting.experiment import ExperimentConfig, pixel_split_windows
from app.forecasting.train import CHI2_2DOF_90, predict_windows
from app.pipeline.forecasting.lstm import LSTMForecaster, load_forecaster

__all__ = ["MethodScores", "eval_eth_ucy", "eval_pixel", "format_table"]

KF_Q = (0.0001, 0.001, 0.01, 0.05, 0.2)
KF_R = (0.01, 0.05, 0.2, 0.5, 1.0, 2.0)


@dataclass(frozen=True)
class MethodScores:
    """Errors of one method on one set of windows.

    Attributes:
        ade, fde: mean displacement errors in the windows' units (metres or pixels).
        ade_norm, fde_norm: the same divided by each window's box height (pixel windows only).
        ade_norm_median, ade_norm_p90: median and 90th percentile of per-window ADE, box heights.
        coverage90: share of true future points inside the predicted 90% region (LSTM only).
        setting: the tuned parameter, if any (e.g. ``k=3``).
    """

    ade: float
    fde: float
    ade_norm: float = float("nan")
    fde_norm: float = float("nan")
    ade_norm_median: float = float("nan")
    ade_norm_p90: float = float("nan")
    coverage90: float = float("nan")
    setting: str = ""


def _scores(
    pred: np.ndarray,
    fut: np.ndarray,
    box: np.ndarray | None,
    sigma: np.ndarray | None = None,
    setting: str = "",
) -> MethodScores:
    err = np.linalg.norm(pred - fut, axis=-1)  # (n, T)
    cov = float("nan")
    if sigma is not None:
        cov = float(((((fut - pred) / sigma) ** 2).sum(-1) <= CHI2_2DOF_90).mean())
    if box is None:
        return MethodScores(float(err.mean()), float(err[:, -1].mean()), coverage90=cov, setting=setting)
    en = err / box[:, None]
    per = en.mean(1)
    return MethodScores(
        float(err.mean()),
        float(err[:, -1].mean()),
        float(en.mean()),
        float(en[:, -1].mean()),
        float(np.median(per)),
        float(np.quantile(per, 0.9)),
        cov,
        setting,
    )


def _normed(obs: np.ndarray, box: np.ndarray) -> np.ndarray:
    return (obs - obs[:, -1:]) / box[:, None, None]


def _tune_baselines(
    val_obs: np.ndarray, val_fut: np.ndarray, pred_len: int
) -> tuple[int, tuple[float, float]]:
    """Pick ``k`` for cv_mean_k and ``(q, r)`` for the KF by validation ADE (inputs already normalised)."""

    def ade(p: np.ndarray) -> float:
        return float(np.linalg.norm(p - val_fut, axis=-1).mean())

    ks = range(1, val_obs.shape[1])
    k = min(ks, key=lambda k: ade(constant_velocity_mean(val_obs, pred_len, k)))
    qr = min(
        itertools.product(KF_Q, KF_R),
        key=lambda qr: ade(constant_acceleration_kf_batch(val_obs, pred_len, *qr)),
    )
    return k, qr


def _baselines(obs, val_obs, val_fut, pred_len, box=None, val_box=None) -> dict[str, tuple[np.ndarray, str]]:
    """Baseline predictions for ``obs`` in its own units; tuning in box-height units if boxes given."""
    if box is not None:
        vo, vf = _normed(val_obs, val_box), (val_fut - val_obs[:, -1:]) / val_box[:, None, None]
        k, (q, r) = _tune_baselines(vo, vf, pred_len)
        o = _normed(obs, box)
        kf = constant_acceleration_kf_batch(o, pred_len, q, r) * box[:, None, None] + obs[:, -1:]
    else:
        k, (q, r) = _tune_baselines(val_obs, val_fut, pred_len)
        kf = constant_acceleration_kf_batch(obs, pred_len, q, r)
    return {
        "cv": (constant_velocity_mean(obs, pred_len, 1), ""),
        "cv_mean_k": (constant_velocity_mean(obs, pred_len, k), f"k={k}"),
        "ca_kf": (kf, f"q={q},r={r}"),
    }


def _lstm(
    fc: LSTMForecaster,
    obs: np.ndarray,
    box: np.ndarray,
    height: np.ndarray | None = None,
    neighbours: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    norm = box if fc.normalisation == "box_height" else np.full(len(obs), fc.scale)
    pred, sig = predict_windows(fc.model, obs, norm, height, neighbours)
    return pred, sig * fc.sigma_scale


def eval_eth_ucy(
    eth_root: Path, models_dir: Path | None, scenes=SCENES
) -> dict[str, dict[str, MethodScores]]:
    """Per scene and ``average``: method -> scores on the standard test windows (metres).

    The LSTM column uses ``models_dir/SCENE.pt`` (trained without that scene) when present; a
    social model reads each window's neighbours (observed past only).
    """
    table: dict[str, dict[str, MethodScores]] = {}
    for scene in scenes:
        te = load_scene_split(eth_root, scene, "test")
        va = load_scene_split(eth_root, scene, "val")
        row = {}
        ckpt = None if models_dir is None else Path(models_dir) / f"{scene}.pt"
        if ckpt is not None and ckpt.is_file():
            fc = load_forecaster(ckpt)
            pred, sig = _lstm(fc, te.obs, np.ones(len(te)), neighbours=te.neighbours)
            row["lstm"] = _scores(pred, te.fut, None, sig)
        for name, (pred, setting) in _baselines(te.obs, va.obs, va.fut, te.fut.shape[1]).items():
            row[name] = _scores(pred, te.fut, None, setting=setting)
        table[scene] = row
    methods = set.intersection(*(set(r) for r in table.values()))
    table["average"] = {
        m: MethodScores(
            float(np.mean([table[s][m].ade for s in scenes])),
            float(np.mean([table[s][m].fde for s in scenes])),
            coverage90=float(np.mean([table[s][m].coverage90 for s in scenes])),
        )
        for m in sorted(methods)
    }
    return table


def eval_pixel(
    cfg: ExperimentConfig, pixel_root: Path, checkpoints: dict[str, Path]
) -> dict[str, dict[str, MethodScores]]:
    """Pixel test split (from ``cfg``): group (``all`` and per dataset) -> method -> scores.

    Windows use the shape of ``cfg.model``. Checkpoints must share its step and ``pred_len``; one
    that reads fewer observed steps than the windows hold gets the most recent ones (so a config
    with a longer ``obs_len`` scores the same model on tracks with a long past), while the
    baselines see the whole observed window.
    """
    models = {name: load_forecaster(path) for name, path in checkpoints.items()}
    k_nb = max([fc.config.neighbours for fc in models.values()], default=0)
    te = pixel_split_windows(cfg, pixel_root, "test", neighbours=k_nb)
    va = pixel_split_windows(cfg, pixel_root, "val", neighbours=0)
    if len(te) == 0:
        raise ValueError("the pixel test split has no windows")
    preds: dict[str, tuple[np.ndarray, np.ndarray | None, str]] = {}
    for name, fc in models.items():
        path = checkpoints[name]
        c = fc.config
        shape = cfg.model
        if (c.pred_len, c.step_s) != (shape.pred_len, shape.step_s) or c.obs_len > shape.obs_len:
            raise ValueError(f"checkpoint {path} has another window shape than the config")
        k = c.obs_len
        nb = te.neighbours[:, : c.neighbours] if c.neighbours and te.neighbours is not None else None
        pred, sig = _lstm(fc, te.obs[:, -k:], te.scale, te.height[:, -k:], nb)
        preds[name] = (pred, sig, "")
    for name, (pred, setting) in _baselines(
        te.obs, va.obs, va.fut, te.fut.shape[1], te.scale, va.scale
    ).items():
        preds[name] = (pred, None, setting)
    dataset = np.array([str(s).split("/")[0] for s in te.sequence])
    out = {}
    for group in ["all", *sorted(set(dataset))]:
        m = np.ones(len(te), bool) if group == "all" else dataset == group
        out[f"{group} ({int(m.sum())} windows)"] = {
            name: _scores(p[m], te.fut[m], te.scale[m], None if s is None else s[m], setting)
            for name, (p, s, setting) in preds.items()
        }
    return out


def format_table(table: dict[str, dict[str, MethodScores]], fields: tuple[str, ...], title: str) -> str:
    """Markdown table: one row per group, ``method field`` columns side by side."""
    methods = list(next(iter(table.values())))
    head = ["", *[f"{m} {f}" for m in methods for f in fields]]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for group, row in table.items():
        cells = [group] + [
            "-" if m not in row or np.isnan(getattr(row[m], f)) else f"{getattr(row[m], f):.3f}"
            for m in methods
            for f in fields
        ]
        lines.append("| " + " | ".join(cells) + " |")
    settings = [
        f"{g}: " + ", ".join(f"{m} {s.setting}" for m, s in row.items() if s.setting)
        for g, row in table.items()
        if any(s.setting for s in row.values()) and not g.startswith(("kitti", "traf", "pets"))
    ]
    if settings and "ade" in fields:
        lines += ["", "Tuned on validation windows: " + "; ".join(settings)]
    return "\n".join(lines)
