"""Pick the forecaster named by a setting."""

from __future__ import annotations

import logging
from pathlib import Path

from app.pipeline.forecasting.base import Forecaster
from app.pipeline.forecasting.constant_velocity import ConstantVelocityForecaster

__all__ = ["DEFAULT_CHECKPOINT", "build_forecaster"]

log = logging.getLogger(__name__)
DEFAULT_CHECKPOINT = Path(__file__).resolve().parents[3] / "models" / "forecaster" / "lstm.pt"


def build_forecaster(spec: str = "auto") -> Forecaster:
    """Build a forecaster.

    Args:
        spec: ``"auto"`` (the shipped LSTM checkpoint if present, else constant velocity),
            ``"constant_velocity"``, or a checkpoint path.

    Raises:
        ValueError: a checkpoint path that does not exist or cannot be loaded.
    """
    if spec == "constant_velocity":
        return ConstantVelocityForecaster()
    path = DEFAULT_CHECKPOINT if spec == "auto" else Path(spec)
    if not path.is_file():
        if spec == "auto":
            log.info("no forecaster checkpoint at %s; using constant velocity", path)
            return ConstantVelocityForecaster()
        raise ValueError(f"forecaster: no such checkpoint {spec!r}")
    try:
        from app.pipeline.forecasting.lstm import load_forecaster
    except ImportError as exc:  # torch missing: the LSTM cannot load
        raise ValueError(f"forecaster: cannot load {path}: {exc}") from exc
    return load_forecaster(path)
