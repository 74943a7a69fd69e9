"""Exact sliding windows over one account's timestamped amounts."""

from __future__ import annotations

from bisect import bisect_right

__all__ = ["SlidingWindow"]


class SlidingWindow:
    """Timestamps and amounts kept sorted by time, so any window is two bisections.

    Counting the interval `(t - width, t]` rather than "the last N events"
    makes the answer exact for events that arrive out of order: a late event
    is inserted in its place and counted only by events at or after its time.
    """

    __slots__ = ("amounts", "cap", "horizon", "times")

    def __init__(self, horizon: float, cap: int) -> None:
        self.horizon = horizon
        """Seconds of history kept: the widest window anyone asks for."""
        self.cap = cap
        """Most entries kept, so a hyperactive account cannot grow state without bound."""
        self.times: list[float] = []
        self.amounts: list[float] = []

    def add(self, t: float, amount: float) -> None:
        times = self.times
        if not times or t >= times[-1]:
            times.append(t)
            self.amounts.append(amount)
        else:
            i = bisect_right(times, t)
            times.insert(i, t)
            self.amounts.insert(i, amount)
        self._prune()

    def _prune(self) -> None:
        times = self.times
        cutoff = times[-1] - self.horizon
        drop = bisect_right(times, cutoff)
        drop = max(drop, len(times) - self.cap)
        if drop > 0:
            del times[:drop]
            del self.amounts[:drop]

    def count(self, t: float, width: float) -> int:
        """Entries with time in `(t - width, t]`."""
        times = self.times
        return bisect_right(times, t) - bisect_right(times, t - width)

    def total(self, t: float, width: float) -> float:
        """Sum of amounts with time in `(t - width, t]`."""
        times = self.times
        hi = bisect_right(times, t)
        lo = bisect_right(times, t - width)
        return sum(self.amounts[lo:hi])

    def to_state(self) -> tuple[list[float], list[float]]:
        return (self.times, self.amounts)

    def load_state(self, state: tuple[list[float], list[float]]) -> None:
        self.times, self.amounts = list(state[0]), list(state[1])
