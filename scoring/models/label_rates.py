"""The share of fraudulent and legitimate events that ever get a label, from the labels.

Labels over-represent fraud: a bank labels most frauds (chargebacks, reports) and
few legitimate payments, a card data set with a chargeback window labels them all.
The classifier learns odds on the labelled mix; to turn them into odds on traffic the
learner needs the two labelling shares. Every logged event carries its ordinal
`seq` among the events of its type scored so far, so over the last `window` labels
the number of events scored between the oldest and the newest labelled one is
known, and each class's labels divided by it is that class's labels per scored
event. With the fraud share assumed (1.0 unless configured), the legitimate share
follows. Exact when labels come after a fixed delay; when recent events are still
waiting for slow labels it errs low, which the config override corrects.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

__all__ = ["LabelRates"]

_MIN_LABELS = 50
_REFRESH = 500


@dataclass
class LabelRates:
    window: int = 5000
    fraud_share: float = 1.0
    """Share of fraudulent events that get a label (not identifiable from labels alone)."""
    legit_override: float | None = None
    """If set, the share of legitimate events labelled, instead of the estimate."""
    recent: deque[tuple[int, bool]] = field(default_factory=deque)
    frauds: int = 0
    _cached: float = 1.0
    _since: int = 0

    def learn(self, seq: int, fraud: bool) -> None:
        recent = self.recent
        recent.append((seq, fraud))
        self.frauds += fraud
        if len(recent) > self.window:
            _, old = recent.popleft()
            self.frauds -= old
        self._since += 1
        if self._since >= _REFRESH:
            self._since = 0
            self._cached = self._estimate()

    def _estimate(self) -> float:
        recent = self.recent
        seqs = [s for s, _ in recent if s > 0]
        if len(seqs) < _MIN_LABELS:
            return 1.0
        span = max(seqs) - min(seqs) + 1
        legit = len(recent) - self.frauds
        frauds_scored = min(self.frauds / self.fraud_share, span - 1)
        share = legit / max(1.0, span - frauds_scored)
        return min(1.0, max(1e-4, share))

    @property
    def legit_share(self) -> float:
        return self.legit_override if self.legit_override is not None else self._cached

    @property
    def shift(self) -> float:
        """Log of (labelled-mix odds / traffic odds): subtract it from a labelled-mix logit."""
        return math.log(self.fraud_share / self.legit_share)
