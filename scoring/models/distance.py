"""An anomaly detector: how many standard deviations an event sits from the typical one.

For each input it keeps a running mean and variance (Welford); an event's score is
the mean over its inputs of the squared standardised deviation, each capped at
`cap` (5 sigma by default) so that one absurd value cannot stand for the whole
event, scaled into [0, 1]. On inputs that are decorrelated (a card data set's
principal components) this is the Mahalanobis distance; on the ULB card data, with
no labels at all, it ranks fraud at ROC AUC 0.95 where half-space trees reach 0.90
(docs/performance.md). It learns and scores in a few microseconds per input, and its
state is two floats and a count per input.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["StandardizedDistance"]


@dataclass
class StandardizedDistance:
    cap: float = 25.0
    min_count: int = 30
    """Inputs seen fewer times than this are not scored yet."""
    count: dict[str, int] = field(default_factory=dict)
    mean: dict[str, float] = field(default_factory=dict)
    m2: dict[str, float] = field(default_factory=dict)

    def learn_one(self, x: dict[str, float]) -> None:
        count, mean, m2 = self.count, self.mean, self.m2
        for name, value in x.items():
            n = count.get(name, 0) + 1
            count[name] = n
            mu = mean.get(name, 0.0)
            delta = value - mu
            mu += delta / n
            mean[name] = mu
            m2[name] = m2.get(name, 0.0) + delta * (value - mu)

    def score_one(self, x: dict[str, float]) -> float:
        count, mean, m2, cap = self.count, self.mean, self.m2, self.cap
        total = 0.0
        scored = 0
        for name, value in x.items():
            n = count.get(name, 0)
            if n < self.min_count:
                continue
            var = m2[name] / (n - 1)
            deviation = value - mean[name]
            if var > 0.0:
                total += min(deviation * deviation / var, cap)
            elif deviation:
                total += cap  # a value never seen on an input that never varied
            scored += 1
        return total / (scored * cap) if scored else 0.0
