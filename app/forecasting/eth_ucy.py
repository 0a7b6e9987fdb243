"""ETH/UCY trajectories in the Social-GAN layout and its standard windows.

Rows are ``frame  ped_id  x  y`` (tab separated, metres); consecutive annotated frames are 0.4 s apart.
Windows follow Social-GAN's ``TrajectoryDataset``: 20 consecutive annotated frames (stride 1), keep
the pedestrians present in all 20, keep the window if at least 2 are; observe 8, predict 12.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["SCENES", "STEP_S", "Windows", "load_scene_split", "windows_from_file"]

SCENES = ("eth", "hotel", "univ", "zara1", "zara2")
STEP_S = 0.4


@dataclass(frozen=True)
class Windows:
    """Trajectory windows.

    Attributes:
        obs: (n, T_obs, 2) observed positions, metres.
        fut: (n, T_pred, 2) true future positions, metres.
        source: (n,) index of the file each window came from.
    """

    obs: np.ndarray
    fut: np.ndarray
    source: np.ndarray

    def __len__(self) -> int:
        return len(self.obs)

    @staticmethod
    def concat(parts: list[Windows]) -> Windows:
        if not parts:
            return Windows(np.zeros((0, 8, 2)), np.zeros((0, 12, 2)), np.zeros(0, int))
        return Windows(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("obs", "fut", "source")))


def windows_from_file(
    path: str | Path, obs_len: int = 8, pred_len: int = 12, min_peds: int = 2, source: int = 0
) -> Windows:
    """Social-GAN windows of one file (see the module docstring)."""
    data = np.loadtxt(path, ndmin=2)
    if data.shape[1] < 4:
        raise ValueError(f"{path}: expected 'frame ped_id x y' rows, got {data.shape[1]} columns")
    seq_len = obs_len + pred_len
    frames = np.unique(data[:, 0])
    by_frame = [data[data[:, 0] == f] for f in frames]
    obs, fut = [], []
    for start in range(0, len(frames) - seq_len + 1):
        chunk = np.concatenate(by_frame[start : start + seq_len])
        window_frames = frames[start : start + seq_len]
        kept = []
        for pid in np.unique(chunk[:, 1]):
            rows = chunk[chunk[:, 1] == pid]
            if len(rows) == seq_len and np.array_equal(rows[:, 0], window_frames):
                kept.append(rows[:, 2:4])
        if len(kept) >= min_peds:
            arr = np.stack(kept)
            obs.append(arr[:, :obs_len])
            fut.append(arr[:, obs_len:])
    if not obs:
        return Windows(np.zeros((0, obs_len, 2)), np.zeros((0, pred_len, 2)), np.zeros(0, int))
    o, f = np.concatenate(obs), np.concatenate(fut)
    return Windows(o, f, np.full(len(o), source))


def load_scene_split(root: str | Path, scene: str, split: str) -> Windows:
    """All windows of ``root/scene/split/*.txt`` (split: train, val or test)."""
    if scene not in SCENES:
        raise ValueError(f"scene must be one of {SCENES}, got {scene!r}")
    folder = Path(root) / scene / split
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise ValueError(f"no trajectory files in {folder}")
    return Windows.concat([windows_from_file(p, source=i) for i, p in enumerate(files)])
