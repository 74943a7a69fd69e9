"""A review threshold derived from each branch's daily alert capacity.

A branch can investigate so many alerts a day. Instead of a fixed review
threshold, each branch's threshold for today is the score of the N-th highest
review candidate it had yesterday, N being its budget: if tomorrow looks like
today, the branch receives about as many score-driven reviews as it can work.
Rules that ask for review still get it; blocks are never budgeted.

The flow keeps one `BranchBudget` per branch in a stateful step keyed by the
branch (`budget_logic`), so every process budgets the whole branch, not its share
of the traffic, and recovery restores it. A branch's state is a bounded heap of
best candidates for each of its last three days. Several processes deliver a
little out of order, so a day's heap still takes candidates that arrive after
the next day began, and a late event of yesterday still gets yesterday's bar.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Callable
from typing import Final, Generic, TypeVar

import msgspec
from bytewax.operators import StatefulBatchLogic

__all__ = ["AlertBudget", "BranchBudget", "BudgetLogic", "budget_logic"]

FIRST_DAY: Final = -1
KEPT_DAYS: Final = 3
"""Today, yesterday and the day before: late events of yesterday still find their bar."""

T = TypeVar("T")

_log = logging.getLogger(__name__)


def _ignore(_step: str, _error: str) -> None:
    pass


class BranchBudget(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False):
    """One branch: the highest candidate scores of each of its latest `KEPT_DAYS` days
    (min-heaps, at most `budget` each). Fields are only ever added, with defaults, so older
    snapshots load."""

    first: int = FIRST_DAY
    """The branch's first day: it has no bar (no history yet)."""
    newest: int = FIRST_DAY
    heaps: dict[int, list[float]] = {}

    def threshold(self, day: int, budget: int, floor: float) -> float | None:
        """The review bar on `day`: None on the branch's first day; the floor after a day
        under capacity."""
        self._see(day)
        if day <= self.first:
            return None
        heap = self.heaps.get(day - 1, [])
        return heap[0] if len(heap) >= budget else floor

    def observe(self, day: int, score: float, budget: int, floor: float) -> None:
        """Count a review candidate (a score at or above the floor) of `day`."""
        self._see(day)
        if score < floor or day <= self.newest - KEPT_DAYS:
            return  # under the floor, or too late for any bar still read
        heap = self.heaps.setdefault(day, [])
        if len(heap) < budget:
            heapq.heappush(heap, score)
        elif score > heap[0]:
            heapq.heapreplace(heap, score)

    def _see(self, day: int) -> None:
        if self.first == FIRST_DAY:
            self.first = self.newest = day
            return
        self.first = min(self.first, day)
        if day > self.newest:
            self.newest = day
            self.heaps = {d: h for d, h in self.heaps.items() if d > day - KEPT_DAYS}


class AlertBudget:
    """Every branch's budget in one object: for tools that decide outside the flow."""

    def __init__(self, per_branch_day: int, *, floor: float = 0.3) -> None:
        self.budget = max(1, per_branch_day)
        self.floor = floor
        self._branches: dict[str, BranchBudget] = {}

    def _branch(self, branch: str) -> BranchBudget:
        return self._branches.setdefault(branch, BranchBudget())

    def threshold(self, branch: str, day: int) -> float | None:
        return self._branch(branch).threshold(day, self.budget, self.floor)

    def observe(self, branch: str, day: int, score: float) -> None:
        self._branch(branch).observe(day, score, self.budget, self.floor)


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(BranchBudget)


class BudgetLogic(StatefulBatchLogic[T, T, bytes], Generic[T]):
    """One branch's budget in the flow: each item gets its bar, then counts as a candidate."""

    def __init__(
        self,
        state: BranchBudget,
        budget: int,
        floor: float,
        order: Callable[[T], tuple[float, str]],
        day_and_score: Callable[[T], tuple[int, float]],
        with_bar: Callable[[T, float | None], T],
        on_error: Callable[[str, str], None] = _ignore,
    ) -> None:
        self.state = state
        self._on_error = on_error
        self._budget = budget
        self._floor = floor
        self._order = order
        self._day_and_score = day_and_score
        self._with_bar = with_bar

    def on_batch(self, values: list[T]) -> tuple[list[T], bool]:
        out = []
        state, budget, floor = self.state, self._budget, self._floor
        # In event-time order, so a batch gives the same bars however the input was cut.
        for item in sorted(values, key=self._order):
            try:
                day, score = self._day_and_score(item)
                bar = state.threshold(day, budget, floor)
                if score == score:  # a NaN score is never a candidate: it would poison the heap
                    state.observe(day, score, budget, floor)
            except Exception as exc:  # one event must not stop the flow: the policy's bar
                _log.warning("budget step failed on an event: %s", type(exc).__name__)
                self._on_error("budget", type(exc).__name__)
                bar = None
            out.append(self._with_bar(item, bar))
        return out, StatefulBatchLogic.RETAIN

    def snapshot(self) -> bytes:
        return _encoder.encode(self.state)


def budget_logic(
    per_branch_day: int,
    floor: float,
    *,
    order: Callable[[T], tuple[float, str]],
    day_and_score: Callable[[T], tuple[int, float]],
    with_bar: Callable[[T, float | None], T],
    on_error: Callable[[str, str], None] = _ignore,
) -> Callable[[bytes | None], BudgetLogic[T]]:
    """The budget step's builder (a branch's state from its snapshot, or a new one)."""
    budget = max(1, per_branch_day)

    def build(snapshot: bytes | None) -> BudgetLogic[T]:
        state = BranchBudget() if snapshot is None else _decoder.decode(snapshot)
        return BudgetLogic(state, budget, floor, order, day_and_score, with_bar, on_error)

    return build
