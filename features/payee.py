"""Per-payee state across senders: the inbound side of a transfer (features/entity.py).

A payment is keyed by its payee account, so the payee's state sees every sender that pays
it, whichever account they are. The same state is *noticed* of every payment its own
account makes (when the payee is an account of this bank): a mule receives from many
victims and pays most of it on within the hour, and both halves meet here.

One `PayeeState` per payee holds, bounded whatever the traffic:

- the inbound payments of the last 7 days as (second, sender hash, amount), at most
  `inbound_cap` of them, the oldest dropped first;
- the payee's own outbound payments of the last 24 hours as (second, amount), at most
  `outbound_cap` of them.

Windows are in event time. A payment's features come from the history before it: its own
sender is never counted among the payee's other senders.
"""

from __future__ import annotations

from typing import Final

import msgspec

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import ENTITY_OF, FEATURES, Features
from riskflow.features.entity import Entity
from riskflow.features.ids import id_hash

__all__ = [
    "PAYEE_FEATURES",
    "PayeeConfig",
    "PayeeState",
    "neutral",
    "payee_entity",
    "payee_key",
    "payer_key",
]

DAY: Final = 86400.0
WEEK: Final = 7 * DAY

PAYEE_FEATURES: Final = tuple(name for name, entity in ENTITY_OF.items() if entity == "payee")


def neutral() -> Features:
    """The payee features of an event with no payee, or one the stage failed on."""
    return {name: FEATURES[name][0]() for name in PAYEE_FEATURES}


def payee_key(event: Payment | Login) -> str | None:
    """The entity key: a payment's payee account; None for a login or a payment without."""
    if isinstance(event, Payment):
        return event.payee_account or None
    return None


def payer_key(event: Payment | Login) -> str | None:
    """Whose payee state hears of the payment: the paying account's own (as a payee)."""
    return event.account_id if isinstance(event, Payment) and event.payee_account else None


class PayeeConfig(msgspec.Struct, frozen=True, kw_only=True):
    inbound_cap: int = 64
    """Most inbound payments a payee remembers: the sender counts saturate here."""
    outbound_cap: int = 64
    """Most of its own outbound payments a payee remembers."""


class _Snapshot(msgspec.Struct, array_like=True, forbid_unknown_fields=False):
    """The stored form. Fields only ever get added at the end, each with a default, so a
    snapshot of an older version still loads."""

    inbound: list[tuple[int, int, float]] = []
    outbound: list[tuple[int, float]] = []


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Snapshot)


class PayeeState:
    """Everything riskflow remembers about one payee, bounded in size and in event time."""

    __slots__ = ("cfg", "inbound", "outbound")

    def __init__(self, cfg: PayeeConfig | None = None) -> None:
        self.cfg = cfg or PayeeConfig()
        self.inbound: list[tuple[int, int, float]] = []
        self.outbound: list[tuple[int, float]] = []

    def observe(self, event: Payment | Login) -> Features:
        """The payee features of a payment to it, from the history before, then absorbed."""
        assert isinstance(event, Payment)
        t = event.ts.timestamp()
        sender = id_hash(event.account_id)
        day_ago, week_ago = t - DAY, t - WEEK
        senders_24h: set[int] = set()
        senders_7d: set[int] = set()
        inbound_24h = 0.0
        for second, who, amount in self.inbound:
            if second > t or second <= week_ago:
                continue  # a late event sees only what came before it
            senders_7d.add(who)
            if second > day_ago:
                senders_24h.add(who)
                inbound_24h += amount
        outbound_24h = sum(a for second, a in self.outbound if day_ago < second <= t)
        features: Features = {
            "payee_senders_24h": len(senders_24h - {sender}),
            "payee_senders_7d": len(senders_7d - {sender}),
            "payee_inbound_24h": round(inbound_24h, 2),
            "payee_new_sender": sender not in senders_7d,
            "payee_forwarded_share_24h": (
                min(1.0, outbound_24h / inbound_24h) if inbound_24h > 0 else 0.0
            ),
        }
        self.inbound.append((int(t), sender, float(event.amount)))
        self._prune(t)
        return features

    def notice(self, event: Payment | Login) -> None:
        """The payee's own account paid money out."""
        assert isinstance(event, Payment)
        t = event.ts.timestamp()
        self.outbound.append((int(t), float(event.amount)))
        self._prune(t)

    def _prune(self, t: float) -> None:
        newest = max(
            self.inbound[-1][0] if self.inbound else 0, self.outbound[-1][0] if self.outbound else 0
        )
        newest = max(newest, int(t))
        # Kept in time order (ties by content), so any replay keeps and drops the same.
        inbound = sorted(x for x in self.inbound if x[0] > newest - WEEK)
        outbound = sorted(x for x in self.outbound if x[0] > newest - DAY)
        self.inbound = inbound[-self.cfg.inbound_cap :]
        self.outbound = outbound[-self.cfg.outbound_cap :]

    def to_bytes(self) -> bytes:
        return _encoder.encode(_Snapshot(self.inbound, self.outbound))

    @classmethod
    def from_bytes(cls, blob: bytes, cfg: PayeeConfig | None = None) -> PayeeState:
        snap = _decoder.decode(blob)
        state = cls(cfg)
        state.inbound = [(int(s), int(w), float(a)) for s, w, a in snap.inbound]
        state.outbound = [(int(s), float(a)) for s, a in snap.outbound]
        return state


def _notice(state: PayeeState, event: Payment | Login) -> None:
    state.notice(event)


def payee_entity(cfg: PayeeConfig | None = None) -> Entity[PayeeState]:
    """The payee entity, for `entity_stage`."""
    conf = cfg or PayeeConfig()
    return Entity(
        name="payee",
        key=payee_key,
        new=lambda: PayeeState(conf),
        load=lambda blob: PayeeState.from_bytes(blob, conf),
        neutral=neutral,
        notice_key=payer_key,
        on_notice=_notice,
    )
