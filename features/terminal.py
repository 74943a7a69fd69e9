"""Per-terminal (or merchant) state across cards: card testing spread over many stolen cards
at one small shop (features/entity.py).

A card payment is keyed by its terminal, or by its merchant when it names no terminal
(`t:` and `m:` prefixes keep the two key spaces apart). A fraudster testing a list of
stolen cards tries each once or twice, so no single account looks like card testing; the
shop where they are all tried does.

One `TerminalState` per key holds, bounded whatever the traffic:

- its payments of the last hour as (second, account hash, small), at most `payments_cap`
  of them, the oldest dropped first (so the counts saturate rather than grow).

Windows are in event time. A payment's features come from the history before it: the event
counts for the events after it, not for itself.
"""

from __future__ import annotations

from typing import Final

import msgspec

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import ENTITY_OF, FEATURES, Features
from riskflow.features.entity import Entity
from riskflow.features.ids import id_hash

__all__ = [
    "TERMINAL_FEATURES",
    "TerminalConfig",
    "TerminalState",
    "neutral",
    "terminal_entity",
    "terminal_key",
]

SHORT_S: Final = 600.0
"""The 10 minute window of the card counts."""
HOUR_S: Final = 3600.0
"""The longest window: older history is dropped."""

TERMINAL_FEATURES: Final = tuple(name for name, entity in ENTITY_OF.items() if entity == "terminal")


def neutral() -> Features:
    """The terminal features of an event with no terminal or merchant, or a failed one."""
    return {name: FEATURES[name][0]() for name in TERMINAL_FEATURES}


def terminal_key(event: Payment | Login) -> str | None:
    """The entity key: a payment's terminal, else its merchant; None for logins and
    payments with neither."""
    if not isinstance(event, Payment):
        return None
    if event.terminal_id:
        return f"t:{event.terminal_id}"
    if event.merchant_id:
        return f"m:{event.merchant_id}"
    return None


class TerminalConfig(msgspec.Struct, frozen=True, kw_only=True):
    small_amount: float = 10.0
    """Payments at or under this amount count towards `terminal_small_cards_10m`."""
    payments_cap: int = 256
    """Most payments of the last hour a terminal remembers: the counts saturate here."""


class _Snapshot(msgspec.Struct, array_like=True, forbid_unknown_fields=False):
    """The stored form. Fields only ever get added at the end, each with a default, so a
    snapshot of an older version still loads."""

    payments: list[tuple[int, int, bool]] = []
    """(second, account hash, small) of the payments of the last hour."""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Snapshot)


class TerminalState:
    """Everything riskflow remembers about one terminal or merchant, bounded in size and
    in event time."""

    __slots__ = ("cfg", "payments")

    def __init__(self, cfg: TerminalConfig | None = None) -> None:
        self.cfg = cfg or TerminalConfig()
        self.payments: list[tuple[int, int, bool]] = []

    def observe(self, event: Payment | Login) -> Features:
        """The terminal features of a payment there, from the history before, then absorbed."""
        assert isinstance(event, Payment)
        t = event.ts.timestamp()
        short_ago, hour_ago = t - SHORT_S, t - HOUR_S
        cards: set[int] = set()
        small_cards: set[int] = set()
        payments_1h = 0
        for second, who, small in self.payments:
            if second > t or second <= hour_ago:
                continue  # a late event sees only what came before it
            payments_1h += 1
            if second > short_ago:
                cards.add(who)
                if small:
                    small_cards.add(who)
        features: Features = {
            "terminal_cards_10m": len(cards),
            "terminal_small_cards_10m": len(small_cards),
            "terminal_payments_1h": payments_1h,
        }
        small = float(event.amount) <= self.cfg.small_amount
        self.payments.append((int(t), id_hash(event.account_id), small))
        self._prune(t)
        return features

    def _prune(self, t: float) -> None:
        newest = max(int(t), self.payments[-1][0] if self.payments else 0)
        # Kept in time order (ties by content), so any replay keeps and drops the same.
        kept = sorted(p for p in self.payments if p[0] > newest - HOUR_S)
        self.payments = kept[-self.cfg.payments_cap :]

    def to_bytes(self) -> bytes:
        return _encoder.encode(_Snapshot(self.payments))

    @classmethod
    def from_bytes(cls, blob: bytes, cfg: TerminalConfig | None = None) -> TerminalState:
        snap = _decoder.decode(blob)
        state = cls(cfg)
        state.payments = [(int(s), int(w), bool(small)) for s, w, small in snap.payments]
        return state


def terminal_entity(cfg: TerminalConfig | None = None) -> Entity[TerminalState]:
    """The terminal entity, for `entity_stage`."""
    conf = cfg or TerminalConfig()
    return Entity(
        name="terminal",
        key=terminal_key,
        new=lambda: TerminalState(conf),
        load=lambda blob: TerminalState.from_bytes(blob, conf),
        neutral=neutral,
    )
