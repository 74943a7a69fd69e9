"""Learned models: vectors, learners, versioned snapshots and the worker's hot-swapped copy."""
