"""``forecaster train``: read a TOML config, train, calibrate, write checkpoints.

Two kinds of config:

- ``kind = "pixel"``: the shipped model. Pixel tracks split by sequence (``[data]`` lists them),
  motion normalised by box height (or a constant), one checkpoint at ``output``.
- ``kind = "eth_ucy"``: the standard benchmark, one model per held-out scene, trained on that
  scene's ``train`` files, early-stopped and calibrated on its ``val`` files, written to
  ``output_dir/SCENE.pt``. With ``model.neighbours > 0`` the model reads the nearest other
  pedestrians at the last observed step (social context, observed past only).

Calibration: predicted sigmas are scaled so that 90% of validation points fall inside the predicted
90% region. For pixels the scale is computed per dataset (KITTI, TRAF, PETS) and the largest is
kept: the service does not know which kind of scene it watches, so it is calibrated for the
hardest (moving-camera KITTI) and over-covers the easier ones.

Every checkpoint is one dict: ``model_args``, ``model`` (weights), ``normalisation``,
``sigma_scale``, ``provenance`` (data root, sequences or scene, configs, seed, git-free file
list) and ``val_metrics``.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.forecasting.baselines import ade_fde, constant_velocity
from app.forecasting.eth_ucy import SCENES, load_scene_split
from app.forecasting.pixel import PixelWindows, load_sequences, windows_from_tracks
from app.forecasting.train import (
    CHI2_2DOF_90,
    TrainConfig,
    WindowSet,
    calibrate_sigma,
    predict_windows,
    train_model,
)
from app.pipeline.forecasting.lstm import NORMALISATIONS, LSTMConfig, save_checkpoint

__all__ = ["ExperimentConfig", "calibrate_by_group", "load_config", "pixel_split_windows", "run_training"]


@dataclass(frozen=True)
class ExperimentConfig:
    """A training run as read from TOML.

    Attributes:
        kind: ``"pixel"`` or ``"eth_ucy"``.
        model: network shape and time step.
        train: optimisation settings (seed included).
        output: checkpoint path (pixel).
        output_dir: folder for one checkpoint per scene (eth_ucy).
        scenes: held-out scenes to train (eth_ucy).
        normalisation: ``"box_height"`` or ``"constant"`` (pixel).
        scale: divisor for ``"constant"`` normalisation, pixels.
        train_sequences, val_sequences, test_sequences: pixel sequences per split (``dataset/name``).
        train_stride: steps between training windows (1 = every step).
        eval_stride: steps between validation/test windows.
    """

    kind: str
    model: LSTMConfig
    train: TrainConfig
    output: str = "models/forecaster/lstm.pt"
    output_dir: str = "models/forecaster/eth_ucy"
    scenes: tuple[str, ...] = SCENES
    normalisation: str = "box_height"
    scale: float = 100.0
    train_sequences: tuple[str, ...] = ()
    val_sequences: tuple[str, ...] = ()
    test_sequences: tuple[str, ...] = ()
    train_stride: int = 1
    eval_stride: int = 1
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in ("pixel", "eth_ucy"):
            raise ValueError(f"kind must be 'pixel' or 'eth_ucy', got {self.kind!r}")
        if self.normalisation not in NORMALISATIONS:
            raise ValueError(f"normalisation must be one of {NORMALISATIONS}, got {self.normalisation!r}")
        bad = set(self.scenes) - set(SCENES)
        if bad:
            raise ValueError(f"scenes must be among {SCENES}, got {sorted(bad)}")
        if self.kind == "pixel" and not (self.train_sequences and self.val_sequences):
            raise ValueError("a pixel config needs [data] train and val sequences")
        overlap = set(self.train_sequences) & (set(self.val_sequences) | set(self.test_sequences))
        if overlap or set(self.val_sequences) & set(self.test_sequences):
            raise ValueError(f"splits must not share sequences, got {sorted(overlap)}")


def load_config(path: str | Path) -> ExperimentConfig:
    """Parse a training TOML file (see ``models/forecaster/*.toml``)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"config not found: {p}")
    raw = tomllib.loads(p.read_text())
    data = raw.get("data", {})
    return ExperimentConfig(
        kind=raw.get("kind", "pixel"),
        model=LSTMConfig(**raw.get("model", {})),
        train=TrainConfig(**raw.get("train", {})),
        output=raw.get("output", "models/forecaster/lstm.pt"),
        output_dir=raw.get("output_dir", "models/forecaster/eth_ucy"),
        scenes=tuple(raw.get("scenes", SCENES)),
        normalisation=data.get("normalisation", "box_height"),
        scale=float(data.get("scale", 100.0)),
        train_sequences=tuple(data.get("train", ())),
        val_sequences=tuple(data.get("val", ())),
        test_sequences=tuple(data.get("test", ())),
        train_stride=int(data.get("train_stride", 1)),
        eval_stride=int(data.get("eval_stride", 1)),
        raw=raw,
    )


def _scale(w: PixelWindows, cfg: ExperimentConfig) -> np.ndarray:
    return w.scale if cfg.normalisation == "box_height" else np.full(len(w), cfg.scale)


def pixel_split_windows(
    cfg: ExperimentConfig, pixel_root: Path, split: str, neighbours: int | None = None
) -> PixelWindows:
    """Windows of one pixel split (``train``, ``val`` or ``test``) at the model's step, with the
    model's number of neighbours (or ``neighbours`` if given)."""
    seqs = {"train": cfg.train_sequences, "val": cfg.val_sequences, "test": cfg.test_sequences}[split]
    stride = cfg.train_stride if split == "train" else cfg.eval_stride
    m = cfg.model
    return windows_from_tracks(
        load_sequences(pixel_root, seqs),
        m.obs_len,
        m.pred_len,
        m.step_s,
        stride=stride,
        neighbours=m.neighbours if neighbours is None else neighbours,
    )


def _val_metrics(pred, sig, fut, obs, box) -> dict[str, float]:
    """Validation figures from calibrated predictions; ``box`` (n,) the box height (1 for metres)."""
    ade, fde = ade_fde(pred, fut)
    cv_ade, cv_fde = ade_fde(constant_velocity(obs, fut.shape[1]), fut)
    m2 = (((fut - pred) / sig) ** 2).sum(-1)
    err_n = np.linalg.norm(pred - fut, axis=-1) / box[:, None]
    return {
        "ade": ade,
        "fde": fde,
        "cv_ade": cv_ade,
        "cv_fde": cv_fde,
        "ade_norm": float(err_n.mean()),
        "coverage90": float((m2 <= CHI2_2DOF_90).mean()),
        "windows": len(obs),
    }


def calibrate_by_group(
    pred: np.ndarray, sigma: np.ndarray, fut: np.ndarray, group: np.ndarray
) -> tuple[float, dict[str, float]]:
    """Sigma scale per group (e.g. dataset) and the largest of them (see the module docstring)."""
    scales = {
        str(g): calibrate_sigma(pred[group == g], sigma[group == g], fut[group == g])
        for g in np.unique(group)
    }
    return max(scales.values()), scales


def run_training(cfg: ExperimentConfig, shared_dir: Path, progress: bool = True, log=print) -> list[Path]:
    """Train what ``cfg`` describes; returns the checkpoint paths written."""
    root = Path(shared_dir) / "data" / "trajectories"
    written = []
    provenance_base = {
        "config": cfg.raw,
        "train_config": asdict(cfg.train),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if cfg.kind == "eth_ucy":
        out_dir = Path(cfg.output_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        for scene in cfg.scenes:
            tr = load_scene_split(root / "eth_ucy", scene, "train")
            va = load_scene_split(root / "eth_ucy", scene, "val")
            ones_tr, ones_va = np.ones(len(tr)), np.ones(len(va))
            val_set = WindowSet(va.obs, va.fut, ones_va, neighbours=va.neighbours)
            t0 = time.time()
            model = train_model(
                tr.obs,
                tr.fut,
                ones_tr,
                cfg.model,
                cfg.train,
                progress,
                desc=scene,
                neighbours=tr.neighbours,
                val=val_set,
            )
            pred, sig = predict_windows(model, va.obs, ones_va, neighbours=va.neighbours)
            s = calibrate_sigma(pred, sig, va.fut)
            val = _val_metrics(pred, sig * s, va.fut, va.obs, ones_va)
            path = out_dir / f"{scene}.pt"
            save_checkpoint(
                path,
                model,
                normalisation={"kind": "constant", "scale": 1.0},
                sigma_scale=s,
                provenance={
                    **provenance_base,
                    "data": "eth_ucy",
                    "held_out_scene": scene,
                    "units": "metres",
                    "train_windows": len(tr),
                    "val_windows": len(va),
                    "train_seconds": time.time() - t0,
                },
                val_metrics=val,
            )
            log(
                f"{scene}: val ADE/FDE {val['ade']:.3f}/{val['fde']:.3f}"
                f" (CV {val['cv_ade']:.3f}/{val['cv_fde']:.3f}),"
                f" sigma x{s:.2f}, 90% coverage {val['coverage90']:.3f}, {time.time() - t0:.0f} s -> {path}"
            )
            written.append(path)
        return written
    pixel_root = root / "pixel"
    ptr = pixel_split_windows(cfg, pixel_root, "train")
    pva = pixel_split_windows(cfg, pixel_root, "val")
    log(f"pixel windows: train {len(ptr)}, val {len(pva)}")
    t0 = time.time()
    val_set = WindowSet(pva.obs, pva.fut, _scale(pva, cfg), pva.height, pva.neighbours)
    model = train_model(
        ptr.obs,
        ptr.fut,
        _scale(ptr, cfg),
        cfg.model,
        cfg.train,
        progress,
        desc="pixel",
        height=ptr.height,
        neighbours=ptr.neighbours,
        val=val_set,
    )
    pred, sig = predict_windows(model, pva.obs, _scale(pva, cfg), pva.height, pva.neighbours)
    dataset = np.array([str(q).split("/")[0] for q in pva.sequence])
    s, per_dataset = calibrate_by_group(pred, sig, pva.fut, dataset)
    val = _val_metrics(pred, sig * s, pva.fut, pva.obs, pva.scale)
    out = Path(cfg.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(
        out,
        model,
        normalisation={"kind": cfg.normalisation, "scale": cfg.scale},
        sigma_scale=s,
        provenance={
            **provenance_base,
            "data": "pixel",
            "units": "pixels",
            "fps": {"kitti": 10, "traf": 20, "pets2009": 7, "tud": 25},
            "train_sequences": list(cfg.train_sequences),
            "val_sequences": list(cfg.val_sequences),
            "test_sequences": list(cfg.test_sequences),
            "train_windows": len(ptr),
            "val_windows": len(pva),
            "train_seconds": time.time() - t0,
            "sigma_scale_per_dataset": per_dataset,
        },
        val_metrics=val,
    )
    log(
        f"pixel: val ADE {val['ade']:.2f} px (CV {val['cv_ade']:.2f}), {val['ade_norm']:.3f} box heights,"
        f" sigma x{s:.2f}, 90% coverage {val['coverage90']:.3f}, {time.time() - t0:.0f} s -> {out}"
    )
    written.append(out)
    return written
