"""ETH/UCY trajectories in the Social-GAN layout and its standard windows.

Rows are ``frame  ped_id  x  y`` (tab separated, metres); consecutive annotated frames are 0.4 s apart.
Windows follow Social-GAN's ``TrajectoryDataset``: 20 consecutive annotated frames (stride 1), keep
the pedestrians present in all 20, keep the window if at least 2 are; observe 8, predict 12.

Each window also carries its social context, read from the observed past only: the ``MAX_NEIGHBOURS``
nearest other pedestrians annotated at the last observed frame (whether or not they stay for all 20
frames), with their positions at the last two observed frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.pipeline.forecasting.lstm import nearest

__all__ = ["MAX_NEIGHBOURS", "SCENES", "STEP_S", "Windows", "load_scene_split", "windows_from_file"]

SCENES = ("eth", "hotel", "univ", "zara1", "zara2")
STEP_S = 0.4
MAX_NEIGHBOURS = 12


@dataclass(frozen=True)
class Windows:
    """Trajectory windows.

    Attributes:
        obs: (n, T_obs, 2) observed positions, metres.
        fut: (n, T_pred, 2) true future positions, metres.
        source: (n,) index of the file each window came from.
        neighbours: (n, MAX_NEIGHBOURS, 2, 2) positions, metres, of the nearest other pedestrians at
            the second-last and last observed frames (NaN where absent), nearest first.
    """

    obs: np.ndarray
    fut: np.ndarray
    source: np.ndarray
    neighbours: np.ndarray

    def __len__(self) -> int:
        return len(self.obs)

    @staticmethod
    def empty(obs_len: int = 8, pred_len: int = 12) -> Windows:
        return Windows(
            np.zeros((0, obs_len, 2)),
            np.zeros((0, pred_len, 2)),
            np.zeros(0, int),
            np.zeros((0, MAX_NEIGHBOURS, 2, 2)),
        )

    @staticmethod
    def concat(parts: list[Windows]) -> Windows:
        if not parts:
            return Windows.empty()
        fields = ("obs", "fut", "source", "neighbours")
        return Windows(*(np.concatenate([getattr(p, f) for p in parts]) for f in fields))


def _neighbours(ego_last: np.ndarray, last: np.ndarray, prev: dict[float, np.ndarray]) -> np.ndarray:
    """(k, MAX_NEIGHBOURS, 2, 2) context for k egos; ``last`` rows are ``ped_id x y`` at the last
    observed frame, ``prev`` maps ped_id to its position one frame earlier."""
    if len(last) == 0:
        return np.full((len(ego_last), MAX_NEIGHBOURS, 2, 2), np.nan)
    pos = last[:, 1:3]
    before = np.array([prev.get(pid, p) for pid, p in zip(last[:, 0], pos)])  # absent: standing
    dist = np.linalg.norm(pos[None, :, :] - ego_last[:, None, :], axis=-1)  # (k, m)
    dist[dist < 1e-9] = np.inf  # the ego itself
    both = np.stack([before, pos], axis=1)  # (m, 2, 2)
    return nearest(np.broadcast_to(both, (len(ego_last), *both.shape)), dist, MAX_NEIGHBOURS)


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
    obs, fut, nbs = [], [], []
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
            last = by_frame[start + obs_len - 1][:, 1:4]
            prev = {r[1]: r[2:4] for r in by_frame[start + obs_len - 2]}
            nbs.append(_neighbours(arr[:, obs_len - 1], last, prev))
    if not obs:
        return Windows.empty(obs_len, pred_len)
    o, f = np.concatenate(obs), np.concatenate(fut)
    return Windows(o, f, np.full(len(o), source), np.concatenate(nbs))


def load_scene_split(root: str | Path, scene: str, split: str) -> Windows:
    """All windows of ``root/scene/split/*.txt`` (split: train, val or test)."""
    if scene not in SCENES:
        raise ValueError(f"scene must be one of {SCENES}, got {scene!r}")
    folder = Path(root) / scene / split
    files = sorted(folder.glob("*.txt"))
    if not files:
        raise ValueError(f"no trajectory files in {folder}")
    return Windows.concat([windows_from_file(p, source=i) for i, p in enumerate(files)])
