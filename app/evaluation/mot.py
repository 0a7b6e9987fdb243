"""MOTChallenge files and tracking metrics (HOTA, MOTA, IDF1) computed by TrackEval.

We never hand-write the metrics: this module only loads MOTChallenge txt files, builds TrackEval's
per-sequence data (ids relabelled contiguously, IoU similarity per frame, as its MotChallenge2DBox
dataset does) and calls TrackEval's ``HOTA``, ``CLEAR`` and ``Identity`` metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["MotScores", "evaluate_mot", "fill_gaps", "load_mot", "write_mot"]


def load_mot(path: str | Path, gt: bool = False) -> np.ndarray:
    """Read a MOTChallenge txt file.

    Args:
        path: ``frame,id,left,top,width,height,conf,...`` rows, frames 1-based, pixels.
        gt: ground truth: keep only rows with conf != 0 and class 1 (pedestrian) when a class column exists.

    Returns:
        (n, 7) float64 rows ``frame, id, left, top, width, height, conf``.

    Raises:
        ValueError: the file is missing or not MOTChallenge text.
    """
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"no such MOT file: {p}")
    if p.stat().st_size == 0:
        return np.zeros((0, 7))
    try:
        rows = np.loadtxt(p, delimiter=",", ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{p} is not a MOTChallenge txt file: {exc}") from exc
    if rows.shape[1] < 6:
        raise ValueError(f"{p}: MOT rows need >= 6 columns, got {rows.shape[1]}")
    if rows.shape[1] < 7:
        rows = np.hstack([rows, np.ones((len(rows), 1))])
    if gt:
        keep = rows[:, 6] != 0
        if rows.shape[1] >= 8:
            keep &= rows[:, 7] == 1
        rows = rows[keep]
    return rows[:, :7].astype(np.float64)


def write_mot(path: str | Path, rows: np.ndarray) -> None:
    """Write (n, >=7) ``frame, id, left, top, width, height, conf`` rows as MOTChallenge txt."""
    with Path(path).open("w") as f:
        for r in rows:
            f.write(
                f"{int(r[0])},{int(r[1])},{r[2]:.2f},{r[3]:.2f},{r[4]:.2f},{r[5]:.2f},{r[6]:.4f},-1,-1,-1\n"
            )


def fill_gaps(rows: np.ndarray, max_gap_frames: int) -> tuple[np.ndarray, int]:
    """Offline only: linearly interpolate each track's boxes across gaps of <= ``max_gap_frames``.

    A live tracker cannot do this without delay; offline it recovers boxes lost to short occlusions.
    Filled rows get confidence -1 so they can be told apart.

    Args:
        rows: (n, 7) MOT rows (frame, id, left, top, width, height, conf).
        max_gap_frames: longest run of missing frames to fill (>= 0; 0 fills nothing).

    Returns:
        Rows sorted by frame then id with the filled ones added, and how many were added.
    """
    if max_gap_frames < 0:
        raise ValueError(f"max_gap_frames must be >= 0, got {max_gap_frames}")
    added = []
    for tid in np.unique(rows[:, 1]) if len(rows) else []:
        tr = rows[rows[:, 1] == tid]
        tr = tr[np.argsort(tr[:, 0])]
        for a, b in zip(tr[:-1], tr[1:]):
            gap = int(b[0] - a[0]) - 1
            if 0 < gap <= max_gap_frames:
                for k in range(1, gap + 1):
                    w = k / (gap + 1)
                    box = (1 - w) * a[2:6] + w * b[2:6]
                    added.append([a[0] + k, tid, *box, -1.0])
    out = np.vstack([rows, np.array(added)]) if added else rows.copy()
    out = out[np.lexsort((out[:, 1], out[:, 0]))] if len(out) else out
    return out, len(added)


@dataclass(frozen=True)
class MotScores:
    """Headline tracking metrics in percent (TrackEval's definitions)."""

    hota: float
    deta: float
    assa: float
    mota: float
    idf1: float
    id_switches: int
    frames: int

    def row(self) -> str:
        return (
            f"HOTA {self.hota:5.1f}  DetA {self.deta:5.1f}  AssA {self.assa:5.1f}  "
            f"MOTA {self.mota:5.1f}  IDF1 {self.idf1:5.1f}  IDsw {self.id_switches:3d}"
        )


def _sequence_data(gt: np.ndarray, pred: np.ndarray, frames: range) -> dict:
    from trackeval.datasets._base_dataset import _BaseDataset

    gt_map = {v: i for i, v in enumerate(np.unique(gt[:, 1]).astype(int))}
    tr_map = {v: i for i, v in enumerate(np.unique(pred[:, 1]).astype(int))} if len(pred) else {}
    data: dict = {"gt_ids": [], "tracker_ids": [], "similarity_scores": []}
    for f in frames:
        g = gt[gt[:, 0] == f]
        p = pred[pred[:, 0] == f]
        data["gt_ids"].append(np.array([gt_map[int(i)] for i in g[:, 1]], dtype=int))
        data["tracker_ids"].append(np.array([tr_map[int(i)] for i in p[:, 1]], dtype=int))
        data["similarity_scores"].append(
            _BaseDataset._calculate_box_ious(g[:, 2:6], p[:, 2:6], box_format="xywh")
        )
    data.update(
        num_timesteps=len(frames),
        num_gt_ids=len(gt_map),
        num_tracker_ids=len(tr_map),
        num_gt_dets=int(sum(len(x) for x in data["gt_ids"])),
        num_tracker_dets=int(sum(len(x) for x in data["tracker_ids"])),
    )
    return data


def evaluate_mot(
    gt: np.ndarray | str | Path, pred: np.ndarray | str | Path, frames: range | None = None
) -> MotScores:
    """Score predictions against ground truth with TrackEval.

    Args:
        gt: ground-truth rows or path (MOTChallenge).
        pred: predicted rows or path.
        frames: 1-based frame numbers to score (default: 1 .. last gt frame). Both sides are cut to
            these frames and ids are relabelled within them, so a sub-range is scored on its own.

    Returns:
        HOTA, DetA, AssA, MOTA, IDF1 (percent) and id switches.
    """
    from trackeval.metrics import CLEAR, HOTA, Identity

    g = load_mot(gt, gt=True) if not isinstance(gt, np.ndarray) else gt
    p = load_mot(pred) if not isinstance(pred, np.ndarray) else pred
    if frames is None:
        frames = range(1, int(g[:, 0].max()) + 1 if len(g) else 1)
    lo, hi = frames.start, frames.stop
    g = g[(g[:, 0] >= lo) & (g[:, 0] < hi)]
    p = p[(p[:, 0] >= lo) & (p[:, 0] < hi)] if len(p) else p
    data = _sequence_data(g, p, frames)
    hota = HOTA().eval_sequence(data)
    clear = CLEAR({"PRINT_CONFIG": False}).eval_sequence(data)
    ident = Identity({"PRINT_CONFIG": False}).eval_sequence(data)
    return MotScores(
        hota=100 * float(np.mean(hota["HOTA"])),
        deta=100 * float(np.mean(hota["DetA"])),
        assa=100 * float(np.mean(hota["AssA"])),
        mota=100 * float(clear["MOTA"]),
        idf1=100 * float(ident["IDF1"]),
        id_switches=int(clear["IDSW"]),
        frames=len(frames),
    )
