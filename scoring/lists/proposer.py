"""The proposer: confirmed fraud labels counted per counterparty, a proposal at the threshold.

Each learned fraud label names its event's counterparties (`payee:X`, `ip:Y`,
`terminal:Z`); the flow keys them by counterparty, so one `PartyFrauds` holds one
payee's recent frauds whichever accounts they came from. When `min_frauds` of them
within `window_days`, from at least `min_victims` distinct accounts, name it, it
emits one `Proposal`, then stays quiet about it until that proposal would expire.

- Bounded: at most `cap` labels a counterparty, the oldest dropped first, and nothing
  older than the window (label time); a live run also forgets a counterparty after a
  window of wall-clock time without a fraud label.
- Idempotent: a label already counted (same event_id) counts nothing, and a proposal is
  named after the label that made the count, so the replay of an epoch after a restart
  emits the same id, which the store keeps once.
- Only the victims' count and a short hash of each leave the label: the accounts are not
  copied into the state or the proposal.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, cast

import msgspec
from bytewax.operators import StatefulBatchLogic

from riskflow.scoring.lists.entries import Entity
from riskflow.scoring.lists.proposals import EVIDENCE_EVENTS, Evidence, Proposal, proposal_id

__all__ = [
    "FraudLabel",
    "PartyFrauds",
    "ProposerConfig",
    "ProposerLogic",
    "fraud_labels",
    "proposer_logic",
]

log = logging.getLogger(__name__)

DAY: Final = 86400.0
Proposable = Literal["payee", "ip", "terminal"]
_WHAT: Final = {
    "payee": "payee named in confirmed frauds",
    "ip": "IP behind confirmed frauds",
    "terminal": "terminal with confirmed frauds",
}


class ProposerConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    enabled: bool = True
    """Only with `lists.backend: redis` and models enabled: proposals wait in Redis."""
    entities: list[Proposable] = msgspec.field(default_factory=lambda: ["payee"])
    """Counterparties proposed: payee, and optionally ip and terminal."""
    min_frauds: int = 3
    """Confirmed fraud labels naming it within the window ..."""
    min_victims: int = 2
    """... from at least this many distinct accounts."""
    window_days: float = 30.0
    expires_days: float = 30.0
    """The accepted entry's expiry, from the label that made the count."""
    action: Literal["challenge", "review"] = "review"
    """What the proposed watch entry asks for."""
    auto_accept_watch: bool = False
    """Accept every proposal as a watch entry at once (still audited, by `riskflow`)."""
    cap: int = 50
    """Most fraud labels kept per counterparty."""

    def __post_init__(self) -> None:
        if self.min_frauds < 1 or self.min_victims < 1:
            raise ValueError("min_frauds and min_victims must be at least 1")
        if self.min_victims > self.min_frauds:
            raise ValueError("min_victims cannot exceed min_frauds")
        if self.cap < self.min_frauds:
            raise ValueError("cap must be at least min_frauds")
        if self.window_days <= 0 or self.expires_days <= 0:
            raise ValueError("window_days and expires_days must be positive")


@dataclass(frozen=True, slots=True)
class FraudLabel:
    """A learned fraud label as one counterparty's state sees it."""

    party: str
    """`kind:value`, the key."""
    event_id: str
    account_id: str
    at: float
    """Label time."""


def fraud_labels(
    entities: Iterable[str],
    event_id: str,
    account_id: str,
    parties: Iterable[str],
    fraud: bool,
    at: float,
) -> list[FraudLabel]:
    """The labelled event's counterparties of the proposed kinds, for a fraud label only."""
    if not fraud or not event_id:
        return []
    kinds = frozenset(entities)
    return [
        FraudLabel(p, event_id, account_id, at)
        for p in dict.fromkeys(parties)
        if p.split(":", 1)[0] in kinds and ":" in p
    ]


def _victim(account_id: str) -> str:
    return hashlib.sha256(account_id.encode()).hexdigest()[:12]


class _Seen(msgspec.Struct, frozen=True, array_like=True):
    event_id: str
    victim: str
    at: float


class PartyFrauds(msgspec.Struct, kw_only=True):
    """One counterparty's recent fraud labels, oldest first."""

    frauds: list[_Seen] = msgspec.field(default_factory=list)
    quiet_until: float = 0.0
    """Label time before which no further proposal is made (the last one's expiry)."""

    def observe(self, label: FraudLabel, cfg: ProposerConfig) -> Proposal | None:
        if any(s.event_id == label.event_id for s in self.frauds):
            return None  # a replayed or repeated label
        self.frauds.append(_Seen(label.event_id, _victim(label.account_id), label.at))
        self.frauds.sort(key=lambda s: (s.at, s.event_id))
        oldest = label.at - cfg.window_days * DAY
        self.frauds = [s for s in self.frauds if s.at >= oldest][-cfg.cap :]
        if label.at < self.quiet_until:
            return None
        victims = len({s.victim for s in self.frauds})
        if len(self.frauds) < cfg.min_frauds or victims < cfg.min_victims:
            return None
        entity, value = label.party.split(":", 1)
        at = datetime.fromtimestamp(label.at, UTC)
        expires = at + timedelta(days=cfg.expires_days)
        self.quiet_until = expires.timestamp()
        return Proposal(
            id=proposal_id(entity, value, label.event_id),
            entity=cast(Entity, entity),  # checked with the rest by `_checked`
            value=value,
            action=cfg.action,
            reason=_WHAT.get(entity, "named in confirmed frauds"),
            evidence=Evidence(
                frauds=len(self.frauds),
                victims=victims,
                event_ids=[s.event_id for s in self.frauds][-EVIDENCE_EVENTS:],
                first_at=datetime.fromtimestamp(self.frauds[0].at, UTC),
                last_at=datetime.fromtimestamp(self.frauds[-1].at, UTC),
            ),
            proposed_at=at,
            expires_at=expires,
        )


_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder(PartyFrauds).decode
_to_dict = msgspec.to_builtins


def _checked(proposal: Proposal) -> Proposal:
    """The proposal as the store would read it back: a value too long, or an entity
    spelled wrong, fails here and not in Redis."""
    return msgspec.convert(_to_dict(proposal), Proposal)


def _ignore(_outcome: str) -> None:
    pass


class ProposerLogic(StatefulBatchLogic[FraudLabel, Proposal, bytes]):
    def __init__(
        self,
        cfg: ProposerConfig,
        state: PartyFrauds,
        *,
        live: bool = False,
        clock: Callable[[], float] = time.time,
        on_outcome: Callable[[str], None] = _ignore,
    ) -> None:
        self.cfg = cfg
        self.state = state
        self._live = live
        self._clock = clock
        self._on_outcome = on_outcome
        self._active_at = clock()

    def on_batch(self, values: list[FraudLabel]) -> tuple[list[Proposal], bool]:
        out: list[Proposal] = []
        for label in sorted(values, key=lambda v: (v.at, v.event_id)):
            try:
                proposal = self.state.observe(label, self.cfg)
                if proposal is not None:
                    out.append(_checked(proposal))
                    self._on_outcome("proposed")
            except (ValueError, msgspec.ValidationError) as exc:
                # One counterparty that cannot become an entry must not stop the flow.
                log.warning("no proposal for a %s: %s", label.party.split(":", 1)[0], exc)
                self._on_outcome("refused")
        self._active_at = self._clock()
        return out, StatefulBatchLogic.RETAIN

    def notify_at(self) -> datetime | None:
        if not self._live:
            return None
        return datetime.fromtimestamp(self._active_at + self.cfg.window_days * DAY, UTC)

    def on_notify(self) -> tuple[list[Proposal], bool]:
        return [], StatefulBatchLogic.DISCARD

    def snapshot(self) -> bytes:
        return _encode(self.state)


def proposer_logic(
    cfg: ProposerConfig, *, live: bool, on_outcome: Callable[[str], None] = _ignore
) -> Callable[[bytes | None], ProposerLogic]:
    def build(snapshot: bytes | None) -> ProposerLogic:
        state = PartyFrauds()
        if snapshot is not None:
            try:
                state = _decode(snapshot)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                log.error("proposer state unreadable, starting afresh: %s", exc)
        return ProposerLogic(cfg, state, live=live, on_outcome=on_outcome)

    return build
