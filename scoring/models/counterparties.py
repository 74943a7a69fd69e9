"""Fraud rates of counterparties over their labelled history, as known when a decision is made.

A payee that received money in three confirmed frauds is evidence about the
next transfer to it, whichever account sends it. The learner counts, for each
payee, merchant, terminal, device and IP it has labels for, how many were
fraud; the counts travel inside each model snapshot, so a decision sees them
exactly as of that snapshot and never a label from its future. Rates are
smoothed toward the overall labelled fraud share, so an entity with one
label is not called 100% fraud.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Final

from contract.messages import Login, Payment

__all__ = ["KINDS", "CounterpartyStats", "parties"]

KINDS: Final = ("payee", "merchant", "terminal", "device", "ip")

_SMOOTHING: Final = 5.0


def parties(event: Payment | Login) -> list[str]:
    """`kind:value` of every counterparty of the event."""
    if isinstance(event, Payment):
        values = (
            event.payee_account,
            event.merchant_id,
            event.terminal_id,
            event.device_id,
            event.ip,
        )
    else:
        values = (None, None, None, event.device_id, event.ip)
    return [f"{kind}:{value}" for kind, value in zip(KINDS, values, strict=True) if value]


@dataclass
class CounterpartyStats:
    cap: int = 50_000
    """Most counterparties kept (about 60 B each in a snapshot); the least recently labelled
    are forgotten first; 0 keeps none."""
    counts: OrderedDict[str, tuple[int, int]] = field(default_factory=OrderedDict)
    """`kind:value` -> (fraud labels, labels)."""
    fraud: int = 0
    labels: int = 0

    def learn(self, keys: list[str], fraud: bool) -> None:
        self.labels += 1
        self.fraud += fraud
        if not self.cap:
            return  # not a model input here: keep snapshots small
        counts = self.counts
        for key in keys:
            f, n = counts.pop(key, (0, 0))
            counts[key] = (f + fraud, n + 1)
        while len(counts) > self.cap:
            counts.popitem(last=False)

    def features(self, keys: list[str], kinds: frozenset[str]) -> dict[str, float]:
        """Smoothed rate and label count of each counterparty of one of `kinds`; an unknown
        one gets the prior and 0, so "never labelled" is a value, not a missing input."""
        prior = (self.fraud + 1.0) / (self.labels + 2.0)
        out: dict[str, float] = {}
        counts = self.counts
        for key in keys:
            kind = key.split(":", 1)[0]
            if kind not in kinds:
                continue
            f, n = counts.get(key, (0, 0))
            out[f"cp_fraud_rate.{kind}"] = (f + _SMOOTHING * prior) / (n + _SMOOTHING)
            out[f"cp_labels.{kind}"] = math.log1p(n)
        return out
