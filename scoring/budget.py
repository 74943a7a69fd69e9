"""A review threshold derived from each branch's daily alert capacity.

A branch can investigate so many alerts a day. Instead of a fixed review
threshold, each branch's threshold for today is the score of the N-th highest
review candidate it had yesterday, N being its budget: if tomorrow looks like
today, the branch receives about as many score-driven reviews as it can work.
Rules that ask for review still get it; blocks are never budgeted.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

__all__ = ["AlertBudget"]


@dataclass
class _Branch:
    day: int = -1
    today: list[float] = field(default_factory=list)
    """Min-heap of today's highest candidate scores, at most `budget` of them."""
    threshold: float | None = None


class AlertBudget:
    def __init__(self, per_branch_day: int, *, share: float = 1.0, floor: float = 0.3) -> None:
        """`share`: this worker's part of each branch's traffic (1 / processes)."""
        self.budget = max(1, round(per_branch_day * share))
        self.floor = floor
        self._branches: dict[str, _Branch] = {}

    def threshold(self, branch: str, day: int) -> float | None:
        """Today's review threshold for the branch; None on its first day (no history yet)."""
        state = self._roll(branch, day)
        return state.threshold

    def observe(self, branch: str, day: int, score: float) -> None:
        """Count a review candidate (a score at or above the floor)."""
        if score < self.floor:
            return
        state = self._roll(branch, day)
        if len(state.today) < self.budget:
            heapq.heappush(state.today, score)
        elif score > state.today[0]:
            heapq.heapreplace(state.today, score)

    def _roll(self, branch: str, day: int) -> _Branch:
        state = self._branches.get(branch)
        if state is None:
            state = self._branches[branch] = _Branch(day=day)
        elif day > state.day:
            # Yesterday's N-th best becomes today's bar; a quiet day lets everything through.
            full = len(state.today) >= self.budget
            state.threshold = state.today[0] if full else self.floor
            state.today = []
            state.day = day
        return state
