"""Branch staff working riskflow's alerts: the outcome of each review comes back as a label.

Closes the loop the product is built around: head office alerts, the home
branch investigates and reports fraud or legit within hours. Each branch
works at most `capacity_per_day` alerts a (local) day, first come first
served; the rest stay open. The outcome is the simulator's ground truth,
which the desk regenerates from the same seed, so it needs no shared files.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from typing import Any

from riskflow.simulator.config import SimConfig
from riskflow.simulator.stream import generate_with_truth
from riskflow.simulator.timefmt import Stamper

__all__ = ["BranchDesk", "fraud_event_ids"]

HOUR = 3600.0


def fraud_event_ids(config: SimConfig) -> set[str]:
    """Every fraudulent event of the simulated stream `config` describes."""
    return {
        truth["event_id"]
        for _, truth in generate_with_truth(config)
        if truth is not None and truth["is_fraud"]
    }


@dataclass(frozen=True, slots=True)
class _Review:
    event_id: str
    account_id: str
    fraud: bool


class BranchDesk:
    def __init__(
        self,
        fraud_ids: set[str],
        *,
        capacity_per_day: int = 20,
        delay_hours: tuple[float, float] = (1.0, 8.0),
        seed: int = 0,
    ) -> None:
        self.fraud_ids = fraud_ids
        self.capacity = capacity_per_day
        self.delay_hours = delay_hours
        self.rng = random.Random(seed)
        self.stamp = Stamper()
        self._queue: list[tuple[float, int, _Review]] = []
        self._worked: dict[tuple[str, int], int] = {}
        self._seen: set[str] = set()
        self.open = 0
        """Alerts a branch had no capacity for: never reviewed."""

    def alerted(self, event_id: str, account_id: str, branch_id: str, event_ts: float) -> bool:
        """Take one alert; False when its branch has no capacity left that day (it stays open)."""
        if event_id in self._seen:
            return True  # the flow re-sent it after a restart: reviewed once
        self._seen.add(event_id)
        day = int((event_ts + 8 * HOUR) // 86400)  # the bank's local day
        worked = self._worked.get((branch_id, day), 0)
        if worked >= self.capacity:
            self.open += 1
            return False
        self._worked[(branch_id, day)] = worked + 1
        due = event_ts + self.rng.uniform(*self.delay_hours) * HOUR
        review = _Review(event_id, account_id, event_id in self.fraud_ids)
        heapq.heappush(self._queue, (due, len(self._seen), review))
        return True

    def due(self, now: float) -> list[dict[str, Any]]:
        """Feedback messages for every review finished by `now` (event time), oldest first."""
        out = []
        while self._queue and self._queue[0][0] <= now:
            at, _, review = heapq.heappop(self._queue)
            out.append(
                {
                    "event_id": review.event_id,
                    "account_id": review.account_id,
                    "label": "fraud" if review.fraud else "legit",
                    "ts": self.stamp(at),
                    "source": "branch_review",
                }
            )
        return out

    def pending(self) -> int:
        return len(self._queue)
