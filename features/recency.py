"""Capped maps of things an account has used, with when it last used them."""

from __future__ import annotations

__all__ = ["LastSeen"]


class LastSeen:
    """Value -> last time seen, evicting the stalest entry past a cap.

    Used both for "have we ever seen this payee/device/IP" (the cap bounds
    memory; an evicted value counts as new again, which errs on the cautious
    side) and for distinct counts within a window.
    """

    __slots__ = ("cap", "seen")

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.seen: dict[str, float] = {}

    def __contains__(self, value: str) -> bool:
        return value in self.seen

    def touch(self, value: str, t: float) -> None:
        seen = self.seen
        previous = seen.get(value)
        if previous is None or t > previous:
            seen[value] = t
        if len(seen) > self.cap:
            stalest = min(seen, key=seen.__getitem__)
            del seen[stalest]

    def distinct_since(self, since: float) -> int:
        """Values last seen after `since`."""
        return sum(1 for last in self.seen.values() if last > since)
