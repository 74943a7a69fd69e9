"""Fraud rates of counterparties over recent labels, as known when a decision is made.

A terminal where three cards were skimmed last week is evidence about the next
card used there, whichever account it belongs to. The learner counts, for each
payee, merchant, terminal, device and IP, the labels that arrived and how many said
fraud, in exponentially decayed counters with 1-, 7- and 30-day time constants (the
Fraud Detection Handbook's delayed-window terminal risk, without having to know the
label delay: only labels that had *arrived* count). The counters travel inside each
model snapshot, so a decision sees them exactly as of its snapshot and never a label
from its future.

Counterparties are hashed into a fixed table: memory and snapshot size do not grow
with the number of terminals or payees, and the table pickles as two flat arrays.
Two counterparties sharing a slot share their counts; with the default 2^17 slots and
tens of thousands of active counterparties that blurs a few percent of them, and
the rates are smoothed toward the overall labelled fraud share, so an entity with
one label is not called 100% fraud.
"""

from __future__ import annotations

import math
import zlib
from array import array
from dataclasses import dataclass, field
from typing import Final

from riskflow.contract.messages import Login, Payment

__all__ = ["HORIZONS", "KINDS", "CounterpartyStats", "parties"]

KINDS: Final = ("payee", "merchant", "terminal", "device", "ip")
HORIZONS: Final = (("1d", 86400.0), ("7d", 7 * 86400.0), ("30d", 30 * 86400.0))
_H: Final = len(HORIZONS)
_SMOOTHING: Final = 2.0


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


def _names(kind: str) -> tuple[tuple[str, ...], str, str]:
    rates = tuple(f"cp_fraud_rate_{h}.{kind}" for h, _ in HORIZONS)
    return rates, f"cp_labels_30d.{kind}", f"cp_frauds_7d.{kind}"


_NAMES: Final = {kind: _names(kind) for kind in KINDS}


@dataclass
class CounterpartyStats:
    slots: int = 1 << 17
    """Size of the hashed table (a power of two); 0 keeps none."""
    fraud: int = 0
    labels: int = 0
    counts: array = field(default_factory=lambda: array("f"))
    """Per slot: decayed fraud labels then decayed labels, one of each per horizon."""
    last: array = field(default_factory=lambda: array("d"))
    """Per slot: label time the slot's counters were last decayed to."""

    def __post_init__(self) -> None:
        if self.slots and not self.counts:
            if self.slots & (self.slots - 1):
                raise ValueError("counterparty slots must be a power of two")
            self.counts = array("f", bytes(4 * 2 * _H * self.slots))
            self.last = array("d", bytes(8 * self.slots))

    def _slot(self, key: str) -> int:
        return zlib.crc32(key.encode()) & (self.slots - 1)

    def learn(self, keys: list[str], fraud: bool, at: float) -> None:
        self.labels += 1
        self.fraud += fraud
        if not self.slots:
            return  # not a model input here: keep snapshots small
        counts, last = self.counts, self.last
        for key in keys:
            i = self._slot(key)
            dt = max(0.0, at - last[i])
            last[i] = max(last[i], at)
            base = 2 * _H * i
            for h, (_, tau) in enumerate(HORIZONS):
                keep = math.exp(-dt / tau)
                counts[base + h] = counts[base + h] * keep + fraud
                counts[base + _H + h] = counts[base + _H + h] * keep + 1.0

    def features(self, keys: list[str], kinds: frozenset[str], t: float) -> dict[str, float]:
        """Smoothed rates per horizon and label counts of each counterparty of one of `kinds`,
        decayed to time `t`; an unknown one gets the prior and 0, so "never labelled" is a
        value, not a missing input."""
        out: dict[str, float] = {}
        if not self.slots:
            return out
        prior = (self.fraud + 1.0) / (self.labels + 2.0)
        counts, last = self.counts, self.last
        for key in keys:
            kind = key.split(":", 1)[0]
            if kind not in kinds:
                continue
            rates, labels_30d, frauds_7d = _NAMES[kind]
            i = self._slot(key)
            dt = max(0.0, t - last[i])
            base = 2 * _H * i
            for h, (_, tau) in enumerate(HORIZONS):
                keep = math.exp(-dt / tau)
                f = counts[base + h] * keep
                n = counts[base + _H + h] * keep
                out[rates[h]] = (f + _SMOOTHING * prior) / (n + _SMOOTHING)
                if h == 1:
                    out[frauds_7d] = math.log1p(f)
                elif h == 2:
                    out[labels_30d] = math.log1p(n)
        return out
