"""Time handling for fixed-step forecasters: histories onto a fixed step, fixed-step outputs onto offsets.

Both directions are vectorised over all tracks of a frame (no per-track Python work beyond gathering
arrays), so serving 100 tracks costs a few numpy calls.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from app.pipeline.history import History

__all__ = ["offsets_matrix", "resample_batch", "resample_history"]


def resample_history(
    t: np.ndarray, xy: np.ndarray, obs_len: int, step_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Resample one history onto ``obs_len`` times ending at its last observation, ``step_s`` apart.

    Linear interpolation between observations, past only: the last resampled point is the last
    observation itself, so nothing after it is read. Times before the first observation are invalid
    and hold the first position.

    Args:
        t: (n,) seconds, strictly increasing.
        xy: (n, 2) positions.
        obs_len: number of resampled points.
        step_s: seconds between them.

    Returns:
        (obs_len, 2) positions and (obs_len,) bool validity.
    """
    times = t[-1] - step_s * np.arange(obs_len - 1, -1, -1)
    valid = times >= t[0] - 1e-6
    pos = np.stack([np.interp(times, t, xy[:, 0]), np.interp(times, t, xy[:, 1])], 1)
    return pos, valid


def resample_batch(
    histories: Sequence[History], obs_len: int, step_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate and resample many histories at once.

    Args:
        histories: B histories, each with >= 1 point.
        obs_len: resampled points per history; step_s: seconds between them.

    Returns:
        pos (B, obs_len, 2) centres in pixels, valid (B, obs_len) bool, height (B, obs_len) box
        heights in pixels (both held constant before the first observation), span (B,) seconds
        from the first to the last observation.

    Raises:
        ValueError: a history that is empty, has non-finite values or non-increasing timestamps
            (the message names its track id).
    """
    b = len(histories)
    lengths = np.fromiter((len(h.t) for h in histories), np.int64, b)
    if b and lengths.min() == 0:
        raise ValueError(f"history of track {histories[int(np.argmin(lengths))].track_id} is empty")
    t = np.concatenate([h.t for h in histories]).astype(np.float64) if b else np.zeros(0)
    box = np.concatenate([h.xyxy for h in histories]).astype(np.float64) if b else np.zeros((0, 4))
    ends = np.cumsum(lengths)
    starts = ends - lengths
    track = np.repeat(np.arange(b), lengths)
    if not (np.isfinite(t).all() and np.isfinite(box).all()):  # cheap check first, rows only on failure
        bad = ~(np.isfinite(t) & np.isfinite(box).all(1))
        raise ValueError(
            f"history of track {histories[track[np.argmax(bad)]].track_id} has NaN or inf values"
        )
    dt = np.diff(t)
    same = track[1:] == track[:-1]
    if np.any(same & (dt <= 0)):
        i = track[1:][np.argmax(same & (dt <= 0))]
        raise ValueError(f"history of track {histories[i].track_id}: timestamps must be strictly increasing")
    last_t, first_t = t[ends - 1], t[starts]
    # Put every track on its own stretch of one time axis, so that one np.interp serves them all.
    gap = float((last_t - first_t).max(initial=0.0)) + obs_len * step_s + 10.0
    shift = np.arange(b) * gap - last_t
    tg = t + shift[track]
    q_rel = -step_s * np.arange(obs_len - 1, -1, -1)  # (obs_len,) <= 0
    span = last_t - first_t
    valid = q_rel[None, :] >= -span[:, None] - 1e-6
    q = np.maximum(q_rel[None, :], -span[:, None]) + (np.arange(b) * gap)[:, None]
    cx, cy = (box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2
    hgt = box[:, 3] - box[:, 1]
    flat = q.ravel()
    pos = np.stack([np.interp(flat, tg, cx), np.interp(flat, tg, cy)], 1).reshape(b, obs_len, 2)
    height = np.interp(flat, tg, hgt).reshape(b, obs_len)
    return pos, valid, height, span


def offsets_matrix(step_s: float, pred_len: int, offsets: np.ndarray) -> np.ndarray:
    """Linear map from fixed-step outputs to arbitrary offsets.

    Row ``i`` interpolates between the grid points ``0, step_s, ..., pred_len * step_s`` (value 0 at
    offset 0: the last observation) that bracket ``offsets[i]``; offsets past the horizon continue the
    last step's slope (linear extrapolation).

    Args:
        step_s: grid step, seconds; pred_len: grid points after 0; offsets: (h,) seconds, > 0.

    Returns:
        (h, pred_len) weights W, so that ``W @ y`` maps (pred_len, ...) step outputs to the offsets.
    """
    u = np.asarray(offsets, np.float64) / step_s  # offset in steps
    lo = np.clip(np.floor(u).astype(np.int64), 0, pred_len - 1)
    frac = u - lo
    w = np.zeros((len(u), pred_len + 1))
    rows = np.arange(len(u))
    w[rows, lo] += 1 - frac
    w[rows, lo + 1] += frac
    return w[:, 1:]  # grid point 0 has value 0
