"""The 64-bit hash the entity states keep instead of an id.

Snapshots store these numbers, so the function is part of the state format: it must give
the same value in every process and every version (Python's own `hash` is salted per run).
"""

from __future__ import annotations

import hashlib

__all__ = ["id_hash"]


def id_hash(value: str) -> int:
    """A stable 64-bit number for an account, device or other id."""
    return int.from_bytes(hashlib.blake2b(value.encode(), digest_size=8).digest(), "big")
