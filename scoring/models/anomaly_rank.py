"""How unusual an anomaly score is among all scores seen so far, as a share in [0, 1).

An anomaly detector's raw score has no fixed meaning (a half-space tree's mass
depends on its window and depth); its rank among the scores the process has seen
does: 0.999 means one event in a thousand looked stranger. A fixed histogram keeps
the rank bounded in memory and the same for the same sequence of scores.
"""

from __future__ import annotations

from array import array

__all__ = ["AnomalyRank"]


class AnomalyRank:
    __slots__ = ("bins", "counts", "seen")

    def __init__(self, bins: int = 2000) -> None:
        self.bins = bins
        self.counts = array("q", bytes(8 * bins))
        self.seen = 0

    def _bin(self, score: float) -> int:
        if not score > 0.0:  # NaN and negatives too
            return 0
        if score >= 1.0:
            return self.bins - 1
        return min(int(score * self.bins), self.bins - 1)

    def rank(self, score: float) -> float:
        """Share of earlier scores below this one (ties count half); 0.5 before any."""
        if not self.seen:
            return 0.5
        b = self._bin(score)
        below = sum(self.counts[:b])
        return (below + 0.5 * self.counts[b]) / (self.seen + 1)

    def observe(self, score: float) -> None:
        self.counts[self._bin(score)] += 1
        self.seen += 1
