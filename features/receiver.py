"""The account as a receiver: what arrived at it from other accounts (features/entity.py).

The account step sees only what an account does. A payment *to* an account of this bank
is another account's event, so this stage keys a payment by its payer and is *noticed* of
every payment by its payee: the payer's state holds what it received before it pays. A
mule receives from a victim and pays most of it on within the hour; this is the half of
"money in, then out" seen from the mule's own payment (`features/payee.py` has the half
seen from the victim's).

One `ReceiverState` per account holds the payments it received in the last 24 hours as
(second, sender hash, amount), at most `inbound_cap` of them, the oldest dropped first.
"""

from __future__ import annotations

from typing import Final

import msgspec

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import ENTITY_OF, FEATURES, Features
from riskflow.features.entity import Entity
from riskflow.features.ids import id_hash

__all__ = [
    "RECEIVER_FEATURES",
    "ReceiverConfig",
    "ReceiverState",
    "neutral",
    "receiver_entity",
]

HOUR: Final = 3600.0
DAY: Final = 24 * HOUR

RECEIVER_FEATURES: Final = tuple(n for n, entity in ENTITY_OF.items() if entity == "receiver")


def neutral() -> Features:
    """The receiver features of a login, or of a payment the stage failed on."""
    return {name: FEATURES[name][0]() for name in RECEIVER_FEATURES}


def _payer(event: Payment | Login) -> str | None:
    return event.account_id if isinstance(event, Payment) else None


def _payee(event: Payment | Login) -> str | None:
    if isinstance(event, Payment) and event.payee_account != event.account_id:
        return event.payee_account or None
    return None


class ReceiverConfig(msgspec.Struct, frozen=True, kw_only=True):
    inbound_cap: int = 64
    """Most received payments an account remembers."""


class _Snapshot(msgspec.Struct, array_like=True, forbid_unknown_fields=False):
    """The stored form; fields only ever get added at the end, each with a default."""

    inbound: list[tuple[int, int, float]] = []


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Snapshot)


class ReceiverState:
    """What one account received from other accounts, bounded in size and event time."""

    __slots__ = ("cfg", "inbound")

    def __init__(self, cfg: ReceiverConfig | None = None) -> None:
        self.cfg = cfg or ReceiverConfig()
        self.inbound: list[tuple[int, int, float]] = []

    def observe(self, event: Payment | Login) -> Features:
        """The account's own payment: what it received before it."""
        assert isinstance(event, Payment)
        t = event.ts.timestamp()
        hour_ago, day_ago = t - HOUR, t - DAY
        received_1h = received_24h = 0.0
        senders: set[int] = set()
        for second, who, amount in self.inbound:
            if day_ago < second <= t:  # a late event sees only what came before it
                received_24h += amount
                senders.add(who)
                if second > hour_ago:
                    received_1h += amount
        return {
            "received_1h": round(received_1h, 2),
            "received_24h": round(received_24h, 2),
            "received_senders_24h": len(senders),
            "amount_to_received_24h": (
                round(float(event.amount) / received_24h, 4) if received_24h > 0 else 0.0
            ),
        }

    def notice(self, event: Payment | Login) -> None:
        """A payment to this account."""
        assert isinstance(event, Payment)
        t = event.ts.timestamp()
        self.inbound.append((int(t), id_hash(event.account_id), float(event.amount)))
        newest = max(second for second, _, _ in self.inbound)
        # Kept in time order (ties by content), so any replay keeps and drops the same.
        kept = sorted(x for x in self.inbound if x[0] > newest - DAY)
        self.inbound = kept[-self.cfg.inbound_cap :]

    def to_bytes(self) -> bytes:
        return _encoder.encode(_Snapshot(self.inbound))

    @classmethod
    def from_bytes(cls, blob: bytes, cfg: ReceiverConfig | None = None) -> ReceiverState:
        state = cls(cfg)
        state.inbound = [(int(s), int(w), float(a)) for s, w, a in _decoder.decode(blob).inbound]
        return state


def _notice(state: ReceiverState, event: Payment | Login) -> None:
    state.notice(event)


def receiver_entity(cfg: ReceiverConfig | None = None) -> Entity[ReceiverState]:
    """The receiver entity, for `entity_stage`: keyed by the payer, noticed by the payee."""
    conf = cfg or ReceiverConfig()
    return Entity(
        name="receiver",
        key=_payer,
        new=lambda: ReceiverState(conf),
        load=lambda blob: ReceiverState.from_bytes(blob, conf),
        neutral=neutral,
        notice_key=_payee,
        on_notice=_notice,
    )
