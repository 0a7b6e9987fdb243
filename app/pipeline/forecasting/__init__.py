"""Forecasters: the interface, the constant-velocity baseline and the LSTM (serving side only)."""

from app.pipeline.forecasting.base import Forecaster, check_offsets
from app.pipeline.forecasting.constant_velocity import ConstantVelocityForecaster
from app.pipeline.forecasting.lstm import LSTMForecaster, load_forecaster

__all__ = ["ConstantVelocityForecaster", "Forecaster", "LSTMForecaster", "check_offsets", "load_forecaster"]
