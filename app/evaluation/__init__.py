"""Offline evaluation (MOT metrics, tracker comparison). Imported by the CLI only."""
