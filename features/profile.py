"""An account's habits: amount statistics and the hours it usually pays at."""

from __future__ import annotations

import math

__all__ = ["AmountProfile", "HourHabit"]


class AmountProfile:
    """Running mean, variance (Welford) and maximum of past payment amounts."""

    __slots__ = ("m2", "maximum", "mean", "n")

    def __init__(self) -> None:
        self.n = 0
        self.mean = 0.0
        self.m2 = 0.0
        self.maximum = 0.0

    def zscore(self, amount: float, min_history: int = 5) -> float:
        if self.n < min_history:
            return 0.0
        std = math.sqrt(self.m2 / (self.n - 1))
        # A perfectly regular payer (std 0) still deserves a finite, large score.
        return (amount - self.mean) / max(std, 1e-6 * max(self.mean, 1.0), 1.0)

    def ratio_to_max(self, amount: float) -> float:
        return amount / self.maximum if self.maximum > 0 else 0.0

    def add(self, amount: float) -> None:
        self.n += 1
        delta = amount - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (amount - self.mean)
        if amount > self.maximum:
            self.maximum = amount

    def to_state(self) -> tuple[int, float, float, float]:
        return (self.n, self.mean, self.m2, self.maximum)

    def load_state(self, state: tuple[int, float, float, float]) -> None:
        self.n, self.mean, self.m2, self.maximum = state


class HourHabit:
    """How often the account paid in each local hour of the day."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts = [0] * 24

    def share(self, hour: int, min_history: int = 10) -> float:
        total = sum(self.counts)
        if total < min_history:
            return 1.0
        return self.counts[hour] / total

    def add(self, hour: int) -> None:
        self.counts[hour] += 1
