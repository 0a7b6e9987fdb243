"""The forecaster interface: batched histories -> future positions at fixed time offsets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from app.pipeline.history import History
from app.pipeline.types import Forecast

__all__ = ["Forecaster", "check_offsets"]


def check_offsets(offsets_s: np.ndarray) -> np.ndarray:
    """Validate forecast offsets: (h,) seconds, finite, > 0, strictly increasing."""
    offsets = np.asarray(offsets_s, dtype=np.float64)
    if offsets.ndim != 1 or len(offsets) == 0:
        raise ValueError(f"offsets_s must be a non-empty 1-D array, got shape {offsets.shape}")
    if not np.all(np.isfinite(offsets)) or offsets[0] <= 0 or np.any(np.diff(offsets) <= 0):
        raise ValueError(f"offsets_s must be finite, > 0 and strictly increasing, got {offsets.tolist()}")
    return offsets


@runtime_checkable
class Forecaster(Protocol):
    """Predicts where tracks will be.

    Implementations take many histories at once (one batched call per frame for a whole stream) and
    return one :class:`Forecast` per history, in the same order, with ``xy`` in the pixel space of
    the histories. A history too short for a method is answered by the documented fallback, named
    in ``Forecast.method``.
    """

    name: str

    def predict(self, histories: Sequence[History], offsets_s: np.ndarray) -> list[Forecast]:
        """Forecast every history.

        Args:
            histories: observed pasts, each with >= 1 point and strictly increasing times.
            offsets_s: (h,) seconds after each history's last observation.

        Returns:
            One Forecast per history, same order.
        """
        ...
