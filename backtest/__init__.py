"""Backtests: what a run's decisions were worth against the ground truth."""
