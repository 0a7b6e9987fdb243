"""Pixel-space tracks (KITTI, TRAF, PETS 2009, TUD) and their fixed-step windows.

Every loader returns :class:`PixelTrack` objects: timestamps in seconds from the frame rate of its
dataset, box centres and heights in pixels. Frame rates: KITTI 10 fps, TRAF 20 fps (assumed: not in
the files; its ``FORMAT.txt`` says videos were processed at 20 fps and 20 fps fits walking speeds,
10 fps does not), PETS 2009 7 fps, TUD 25 fps.

TRAF boxes are ``left, top, width, height, id`` whatever its ``FORMAT.txt`` says; an id labelling two
boxes in one frame loses both boxes in that frame (the gap splitting below then applies).

Windows are cut per track after resampling it onto a fixed step (linear interpolation between
annotated frames); a track is split where annotations are missing for more than ``max_gap_s``.
Splits are by sequence, never by window.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.pipeline.forecasting.lstm import nearest

__all__ = [
    "FPS",
    "PixelTrack",
    "PixelWindows",
    "load_sequence",
    "load_sequences",
    "windows_from_tracks",
]

FPS = {"kitti": 10.0, "traf": 20.0, "pets2009": 7.0, "tud": 25.0}


@dataclass(frozen=True)
class PixelTrack:
    """One annotated object track.

    Attributes:
        sequence: ``dataset/name``, e.g. ``"traf/TRAF11"``.
        track_id: id within the sequence.
        t: (n,) seconds, strictly increasing.
        xy: (n, 2) box centres, pixels.
        height: (n,) box heights, pixels.
        label: object class as annotated (``"person"`` when the dataset has only people).
    """

    sequence: str
    track_id: str
    t: np.ndarray
    xy: np.ndarray
    height: np.ndarray
    label: str


@dataclass(frozen=True)
class PixelWindows:
    """Fixed-step windows of pixel tracks.

    Attributes:
        obs: (n, obs_len, 2) observed centres, pixels, at the model step; the last one is a real frame.
        fut: (n, pred_len, 2) true future centres, pixels.
        scale: (n,) mean box height over the observed part, pixels.
        sequence: (n,) sequence each window came from.
        height: (n, obs_len) observed box heights, pixels, at the model step.
        neighbours: (n, K, 2, 2) the K nearest other tracks of the same sequence at the last two
            observed steps, pixels (NaN: nobody), or None when not asked for.
    """

    obs: np.ndarray
    fut: np.ndarray
    scale: np.ndarray
    sequence: np.ndarray
    height: np.ndarray
    neighbours: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.obs)


def _tracks_from_rows(
    sequence: str, rows: dict[str, list[tuple[int, float, float, float]]], fps: float, labels: dict[str, str]
) -> list[PixelTrack]:
    out = []
    for tid, items in rows.items():
        items.sort()
        arr = np.array(items, dtype=np.float64)
        frames, keep = np.unique(arr[:, 0], return_index=True)
        arr = arr[keep]
        out.append(PixelTrack(sequence, tid, frames / fps, arr[:, 1:3], arr[:, 3], labels.get(tid, "person")))
    return out


def _load_kitti(path: Path) -> list[PixelTrack]:
    rows: dict[str, list] = defaultdict(list)
    labels: dict[str, str] = {}
    for line in path.read_text().splitlines():
        f = line.split()
        if len(f) < 10 or f[1] == "-1" or f[2] == "DontCare":
            continue
        left, top, right, bottom = map(float, f[6:10])
        rows[f[1]].append((int(f[0]), (left + right) / 2, (top + bottom) / 2, bottom - top))
        labels[f[1]] = f[2]
    return _tracks_from_rows(f"kitti/{path.stem}", rows, FPS["kitti"], labels)


def _load_traf(path: Path) -> list[PixelTrack]:
    rows: dict[str, list] = defaultdict(list)
    for line in path.read_text().splitlines():
        f = line.strip().rstrip(",").split(",")
        if len(f) < 2:
            continue
        frame, n = int(f[0]), int(f[1])
        agents = [f[2 + 5 * k : 7 + 5 * k] for k in range(n)]
        ids = [a[4] for a in agents if len(a) == 5]
        dup = {i for i in ids if ids.count(i) > 1}
        for a in agents:
            if len(a) != 5 or a[4] in dup:
                continue
            left, top, w, h = map(float, a[:4])
            if w <= 0 or h <= 0:
                continue
            rows[a[4]].append((frame, left + w / 2, top + h / 2, h))
    labels = {tid: tid.rstrip("0123456789") for tid in rows}
    return _tracks_from_rows(f"traf/{path.stem.replace('_gt', '')}", rows, FPS["traf"], labels)


def _load_pets(path: Path) -> list[PixelTrack]:
    rows: dict[str, list] = defaultdict(list)
    for frame in ET.parse(path).getroot().iter("frame"):
        number = int(frame.get("number", "0"))
        for obj in frame.iter("object"):
            box = obj.find("box")
            if box is None:
                continue
            rows[obj.get("id", "")].append(
                (number, float(box.get("xc", "nan")), float(box.get("yc", "nan")), float(box.get("h", "nan")))
            )
    name = path.stem.replace("PETS2009-", "")
    return _tracks_from_rows(f"pets2009/{name}", rows, FPS["pets2009"], {})


def _load_tud(folder: Path) -> list[PixelTrack]:
    rows: dict[str, list] = defaultdict(list)
    data = np.loadtxt(folder / "gt" / "gt.txt", delimiter=",", ndmin=2)
    for r in data:
        rows[str(int(r[1]))].append((int(r[0]), r[2] + r[4] / 2, r[3] + r[5] / 2, r[5]))
    return _tracks_from_rows(f"tud/{folder.name}", rows, FPS["tud"], {})


def load_sequence(pixel_root: str | Path, sequence: str) -> list[PixelTrack]:
    """Tracks of one sequence named ``dataset/name`` (e.g. ``kitti/0003``, ``traf/TRAF11``,
    ``pets2009/S1L1-1``, ``tud/TUD-Campus``) under ``pixel_root``."""
    root = Path(pixel_root)
    dataset, _, name = sequence.partition("/")
    paths = {
        "kitti": root / "kitti" / "label" / f"{name}.txt",
        "traf": root / "traf" / f"{name}_gt.txt",
        "pets2009": root / "pets2009" / f"PETS2009-{name}.xml",
        "tud": root / "tud" / name,
    }
    if dataset not in paths:
        raise ValueError(f"sequence must start with one of {sorted(paths)}, got {sequence!r}")
    path = paths[dataset]
    if not path.exists():
        raise ValueError(f"sequence {sequence!r}: {path} not found")
    loader = {"kitti": _load_kitti, "traf": _load_traf, "pets2009": _load_pets, "tud": _load_tud}[dataset]
    return loader(path)


def load_sequences(pixel_root: str | Path, sequences: Iterable[str]) -> list[PixelTrack]:
    """Tracks of several sequences, concatenated."""
    return [t for s in sequences for t in load_sequence(pixel_root, s)]


def windows_from_tracks(
    tracks: Iterable[PixelTrack],
    obs_len: int,
    pred_len: int,
    step_s: float,
    stride: int = 1,
    max_gap_s: float = 0.5,
    min_height: float = 10.0,
    neighbours: int = 0,
) -> PixelWindows:
    """Cut fixed-step windows from tracks.

    Each track is split at annotation gaps longer than ``max_gap_s``; each piece is resampled onto a
    grid of ``step_s`` starting at its first frame, and every run of ``obs_len + pred_len`` grid
    points (``stride`` apart) is a window. Windows whose mean observed box height is below
    ``min_height`` pixels are dropped (annotation noise dominates their motion).

    Args:
        obs_len: observed steps; pred_len: future steps; step_s: seconds per step.
        neighbours: also gather the K nearest other tracks of the same sequence at each window's
            last two observed steps (positions interpolated at those times from their own
            gap-free pieces; nothing later than the last observed step is read).

    Returns:
        The windows (positions in pixels).
    """
    if obs_len < 2 or pred_len < 1 or not step_s > 0 or stride < 1:
        raise ValueError(
            f"bad window shape: obs_len={obs_len}, pred_len={pred_len}, step_s={step_s}, stride={stride}"
        )
    seq_len = obs_len + pred_len
    obs, fut, scale, seqs, heights = [], [], [], [], []
    pieces: list[tuple[str, int, np.ndarray, np.ndarray]] = []  # sequence, track, t, xy
    owner, last_t = [], []  # per window: index of its track, time of its last observed step
    for n_track, tr in enumerate(tracks):
        ok = np.isfinite(tr.xy).all(1) & np.isfinite(tr.height)
        t, xy, hgt = tr.t[ok], tr.xy[ok], tr.height[ok]
        cuts = np.flatnonzero(np.diff(t) > max_gap_s) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(t)]):
            ts = t[a:b]
            if len(ts) >= 2:
                pieces.append((tr.sequence, n_track, ts, xy[a:b]))
            if len(ts) < 2 or ts[-1] - ts[0] < (seq_len - 1) * step_s - 1e-9:
                continue
            grid = np.arange(ts[0], ts[-1] + 1e-9, step_s)
            pos = np.stack([np.interp(grid, ts, xy[a:b, 0]), np.interp(grid, ts, xy[a:b, 1])], 1)
            h = np.interp(grid, ts, hgt[a:b])
            starts = np.arange(0, len(grid) - seq_len + 1, stride)
            idx = starts[:, None] + np.arange(seq_len)[None, :]
            win = pos[idx]
            hw = h[idx[:, :obs_len]]
            sc = hw.mean(1)
            keep = sc >= min_height
            obs.append(win[keep, :obs_len])
            fut.append(win[keep, obs_len:])
            scale.append(sc[keep])
            heights.append(hw[keep])
            seqs.append(np.full(int(keep.sum()), tr.sequence, dtype=object))
            owner.append(np.full(int(keep.sum()), n_track))
            last_t.append(grid[starts[keep] + obs_len - 1])
    if not obs:
        return PixelWindows(
            np.zeros((0, obs_len, 2)),
            np.zeros((0, pred_len, 2)),
            np.zeros(0),
            np.zeros(0, object),
            np.zeros((0, obs_len)),
            np.zeros((0, neighbours, 2, 2)) if neighbours else None,
        )
    sequence = np.concatenate(seqs)
    all_obs = np.concatenate(obs)
    nb = None
    if neighbours:
        nb = _nearest_others(
            pieces,
            sequence,
            np.concatenate(owner),
            np.concatenate(last_t),
            all_obs[:, -1],
            step_s,
            neighbours,
        )
    return PixelWindows(
        all_obs,
        np.concatenate(fut),
        np.concatenate(scale),
        sequence,
        np.concatenate(heights),
        nb,
    )


def _nearest_others(
    pieces: list[tuple[str, int, np.ndarray, np.ndarray]],
    sequence: np.ndarray,
    owner: np.ndarray,
    last_t: np.ndarray,
    ego_last: np.ndarray,
    step_s: float,
    k: int,
) -> np.ndarray:
    """(n, k, 2, 2): for each window, the k other tracks nearest to it at its last observed step,
    at that step and the one before (pixels, NaN-padded), from pieces that cover both times."""
    out = np.full((len(owner), k, 2, 2), np.nan)
    for seq in np.unique(sequence):
        rows = np.flatnonzero(sequence == seq)
        mine = [p for p in pieces if p[0] == seq]
        if not mine or not len(rows):
            continue
        times = np.stack([last_t[rows] - step_s, last_t[rows]], 1)  # (m, 2)
        cand = np.full((len(rows), len(mine), 2, 2), np.nan)
        for j, (_, track, t, xy) in enumerate(mine):
            ok = (times[:, 0] >= t[0] - 1e-6) & (times[:, 1] <= t[-1] + 1e-6) & (owner[rows] != track)
            if ok.any():
                q = times[ok]
                cand[ok, j] = np.stack([np.interp(q, t, xy[:, 0]), np.interp(q, t, xy[:, 1])], -1)
        dist = np.linalg.norm(cand[:, :, 1] - ego_last[rows][:, None], axis=2)
        out[rows] = nearest(cand, np.where(np.isfinite(dist), dist, np.inf), k)
    return out
