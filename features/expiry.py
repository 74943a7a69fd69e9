"""Wall-clock idle expiry shared by the keyed steps (the account and every entity stage).

A live run discards a key's state once it has seen no event for `expiry_s` seconds of wall
clock; bytewax asks each logic `notify_at` after every batch and calls `on_notify` when that
time passes. A replay passes `active_at=None`: its states bound themselves by event time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

__all__ = ["expired", "expires_at"]


def expires_at(active_at: float | None, expiry_s: float) -> datetime | None:
    """When the key's state expires, or None when it does not (a replay)."""
    if active_at is None:
        return None
    return datetime.fromtimestamp(active_at + expiry_s, UTC)


def expired(active_at: float | None, expiry_s: float, clock: Callable[[], float]) -> bool:
    """Whether the key has been idle for `expiry_s` by now: its state may be discarded."""
    return active_at is not None and clock() - active_at >= expiry_s
