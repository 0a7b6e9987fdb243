"""Forecasters: the interface, the constant-velocity baseline and the LSTM (serving side only)."""

from app.pipeline.forecasting.base import Forecaster, check_offsets
from app.pipeline.forecasting.constant_velocity import ConstantVelocityForecaster

__all__ = ["ConstantVelocityForecaster", "Forecaster", "check_offsets"]
