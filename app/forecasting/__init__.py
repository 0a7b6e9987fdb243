"""Forecaster training and evaluation (data, windows, baselines).

Imported by the CLI only, never by serving code.
"""
