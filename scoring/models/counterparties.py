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
tens of thousands of active counterparties that blurs a few percent of them.

A rate is the decayed frauds over the decayed labels, unsmoothed: a terminal whose one
label yesterday was a fraud reads 1.0 on its one-day horizon, as the handbook's
delayed-window risk does. (Smoothing each rate toward the overall fraud share with
two pseudo-labels, as before, flattened exactly the one-label terminals a card
skimmer leaves: on the handbook slice it cost AP 0.44 -> 0.36. Label and fraud counts
beside the rates cost more than they told the model.)
A counterparty with no label reads 0.
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


def _names(kind: str) -> tuple[str, ...]:
    return tuple(f"cp_fraud_rate_{h}.{kind}" for h, _ in HORIZONS)


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
        """Fraud rate per horizon of each counterparty of one of `kinds` at time `t`; one
        never labelled gets 0, a value rather than a missing input."""
        out: dict[str, float] = {}
        if not self.slots:
            return out
        counts = self.counts
        for key in keys:
            kind = key.split(":", 1)[0]
            if kind not in kinds:
                continue
            rates = _NAMES[kind]
            i = self._slot(key)
            base = 2 * _H * i
            for h in range(_H):
                # Frauds and labels decay alike: their ratio is the same at any later `t`.
                n = counts[base + _H + h]
                out[rates[h]] = counts[base + h] / n if n > 0.0 else 0.0
        return out
