"""The per-account bytewax logic: one `AccountState` per account key.

An event whose `event_id` the account has already absorbed (a producer's retry, a replay)
is not absorbed again: it leaves as a `Duplicate`, so that the flow re-emits the decision
already made instead of deciding it twice.

In a live run an account idle for `FeatureConfig.idle_expiry_days` of wall-clock time is
discarded (bytewax's `notify_at`/`on_notify`). A replay has no wall clock worth trusting
and a keyed logic sees only its own key's events, so there the state is bounded by the
number of accounts instead.

An event the state cannot absorb (an exception from `on_payment`, `on_login` or
`on_feedback`) becomes a dead letter and leaves the state as if it never came:
one event must not stop the flow, nor poison its account.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import msgspec
from bytewax.operators import StatefulBatchLogic

from riskflow.contract.messages import DeadLetter, Login, Payment
from riskflow.contract.parse import Envelope, dead_letter_for, event_kind
from riskflow.features.account import AccountState, FeatureConfig
from riskflow.features.catalog import Features
from riskflow.features.expiry import expired, expires_at

__all__ = [
    "REBASE_AFTER",
    "AccountLogic",
    "Duplicate",
    "Featured",
    "account_logic",
    "internal_dead_letter",
]

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Featured:
    """A payment or login with the features its account's history gives it."""

    event: Payment | Login
    features: Features
    home_branch: str | None
    received_at: float
    topic: str = ""
    """Where the event came from, for a dead letter if deciding it fails."""
    partition: int | None = None
    offset: int | None = None
    history: str = ""
    """The account's history digest once this event was absorbed (`AccountState.record`)."""


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A payment or login whose `event_id` its account had already absorbed."""

    event: Payment | Login
    received_at: float
    topic: str = ""
    """Where the repeat came from, for a dead letter if its decision is no longer known."""
    partition: int | None = None
    offset: int | None = None


def _absorb(state: AccountState, envelope: Envelope) -> Featured | Duplicate | None:
    event = envelope.event
    ts = event.ts
    t = ts.timestamp()
    if isinstance(event, Payment | Login) and state.absorbed(event.event_id):
        return Duplicate(
            event, envelope.received_at, envelope.topic, envelope.partition, envelope.offset
        )
    if isinstance(event, Payment):
        f = state.on_payment(event, t, ts.hour)
    elif isinstance(event, Login):
        f = state.on_login(event, t, ts.hour)
    else:
        state.on_feedback(event, t)
        state.record(f"{event.label}:{event.event_id}")
        return None
    # Only once absorbed: an event that failed is not a duplicate when it comes again.
    state.remember(event.event_id, t)
    state.record(event.event_id)
    return Featured(
        event,
        f,
        state.home_branch,
        envelope.received_at,
        envelope.topic,
        envelope.partition,
        envelope.offset,
        state.history.hex(),
    )


def internal_dead_letter(
    event: object,
    exc: BaseException,
    step: str,
    topic: str,
    partition: int | None,
    offset: int | None,
) -> DeadLetter:
    """The dead letter of an event a step failed on: the exception's type, never its text
    (it may quote the event), and the event re-encoded as the payload."""
    try:
        body = msgspec.json.encode(event)
    except Exception:  # an event that will not even encode still gets its letter
        body = b""
    return dead_letter_for(
        body, "internal_error", f"{type(exc).__name__} in {step}", topic, partition, offset
    )


REBASE_AFTER: Final = 64
"""Events a step keeps to rebuild a state after a failure before it writes the state down
afresh: without snapshots there is no epoch to trim them."""


class AccountLogic(StatefulBatchLogic[Envelope, Featured | Duplicate | DeadLetter, bytes]):
    """Keeps, besides the state, the state's last snapshot and the events absorbed since.

    A failed event rebuilds the state from those: no copy on the normal path (a copy per
    event would cost about half of what absorbing one does), and a snapshot is taken at
    every epoch anyway, so the events kept are at most one epoch's worth for this account
    (and never more than `REBASE_AFTER`: past that the state is written down afresh).

    With `live`, the account expires after `idle_expiry_days` of `clock` time without events.
    Without `snapshots` (a flow with no recovery store) `snapshot` writes nothing: nobody
    would ever read it, and writing every account touched in the epoch at its close was
    the flow's longest pause.
    """

    def __init__(
        self,
        state: AccountState,
        base: bytes | None = None,
        *,
        live: bool = False,
        clock: Callable[[], float] = time.time,
        snapshots: bool = True,
    ) -> None:
        self.state = state
        self._base = base
        self._since: list[Envelope] = []
        self._snapshots = snapshots
        self._live = live
        self._clock = clock
        self._expiry_s = state.cfg.idle_expiry_days * 86400.0
        if live and state.active_at is None:
            # Restored from a snapshot without an idle clock: idle from now on.
            state.active_at = clock()

    def _restore(self) -> AccountState:
        cfg = self.state.cfg
        state = (
            AccountState(cfg) if self._base is None else AccountState.from_bytes(self._base, cfg)
        )
        for envelope in self._since:
            try:
                _absorb(state, envelope)
            except Exception as exc:  # absorbed once from this very state: not expected
                _log.error(
                    "account step: replayed %s failed: %s",
                    event_kind(envelope.event),
                    type(exc).__name__,
                )
        return state

    def on_batch(
        self, values: list[Envelope]
    ) -> tuple[list[Featured | Duplicate | DeadLetter], bool]:
        out: list[Featured | Duplicate | DeadLetter] = []
        for envelope in values:
            try:
                featured = _absorb(self.state, envelope)
            except Exception as exc:
                kind = event_kind(envelope.event)
                # No key, no payload: log lines leave the bank's data perimeter.
                _log.warning("account step failed on a %s: %s", kind, type(exc).__name__)
                out.append(
                    internal_dead_letter(
                        envelope.event,
                        exc,
                        "features",
                        envelope.topic,
                        envelope.partition,
                        envelope.offset,
                    )
                )
                active_at = self.state.active_at
                self.state = self._restore()
                self.state.active_at = active_at
                self._base, self._since = self.state.to_bytes(), []
                continue
            if isinstance(featured, Duplicate):
                out.append(featured)
                continue
            self._since.append(envelope)
            if featured is not None:
                out.append(featured)
        if len(self._since) >= REBASE_AFTER:
            self._base, self._since = self.state.to_bytes(), []
        if self._live:
            self.state.active_at = self._clock()
        return out, StatefulBatchLogic.RETAIN

    def notify_at(self) -> datetime | None:
        return expires_at(self.state.active_at if self._live else None, self._expiry_s)

    def on_notify(self) -> tuple[list[Featured | Duplicate | DeadLetter], bool]:
        if expired(self.state.active_at, self._expiry_s, self._clock):
            return [], StatefulBatchLogic.DISCARD
        return [], StatefulBatchLogic.RETAIN

    def snapshot(self) -> bytes:
        if not self._snapshots:
            return b""
        # Immutable bytes: cheaper than the deep copy bytewax would otherwise need.
        blob = self.state.to_bytes()
        self._base, self._since = blob, []
        return blob


def account_logic(
    cfg: FeatureConfig,
    *,
    live: bool = False,
    clock: Callable[[], float] = time.time,
    snapshots: bool = True,
) -> Callable[[bytes | None], AccountLogic]:
    """The account step's builder; `live` turns on the wall-clock idle expiry; without
    `snapshots` (no recovery store) nothing is written at an epoch's close."""

    def build(snapshot: bytes | None) -> AccountLogic:
        if not snapshot:
            return AccountLogic(AccountState(cfg), live=live, clock=clock, snapshots=snapshots)
        state = AccountState.from_bytes(snapshot, cfg)
        return AccountLogic(state, snapshot, live=live, clock=clock, snapshots=snapshots)

    return build
