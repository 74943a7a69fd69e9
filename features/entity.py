"""Entity stages: keyed state across accounts (an IP, a device, a payee...) whose features
join the account's on each event.

An entity is a declaration (`Entity`): how to take its key from an event, how to make,
load and snapshot its state, and its neutral features. `entity_stage` is the operator
that runs one, between the account step and decide:

    featured -> key by entity -> per-key state -> features added -> merged back
             \\-> (no key: neutral features) ------------------------/
             \\-> (notice key) -> the same per-key state absorbs it, nothing out

- An entity may also take *notices*: an event absorbed by another key's state without
  features coming back (the payee stage keys a payment by its payee, and notices the
  payer's state that it paid money out — what "money in, then out" needs).

- Inside a batch a key's events are taken in (event time, event_id) order, so the state
  sees the same sequence however the input was cut into batches, and a replay repeats.
- The state is snapshotted as bytes (bytewax would otherwise deep-copy it every epoch);
  without `snapshots` (no recovery store) nothing is written at an epoch's close.
- A live run discards a key after `idle_expiry_s` of wall-clock time without events
  (bytewax's `notify_at`/`on_notify`, as the account step does). A replay has no wall
  clock worth trusting: there each state bounds itself by event time (its windows drop
  what is older than the longest of them).
- An exception on one event does not stop the flow: the event goes on with the entity's
  neutral features, the failure is logged (its type, never the event) and counted, and
  the state is rebuilt as if the event never came.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Protocol, TypeGuard, TypeVar

import bytewax.operators as op
from bytewax.dataflow import Stream, operator
from bytewax.operators import StatefulBatchLogic

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import Features
from riskflow.features.expiry import expired, expires_at
from riskflow.features.operator import REBASE_AFTER, Featured

__all__ = [
    "Entity",
    "EntityLogic",
    "EntityState",
    "Notice",
    "entity_logic",
    "entity_stage",
    "home",
]

_log = logging.getLogger(__name__)

DAY = 86400.0


class EntityState(Protocol):
    def observe(self, event: Payment | Login) -> Features:
        """The entity's features for `event` (from its history), then the event absorbed."""
        ...

    def to_bytes(self) -> bytes: ...


S = TypeVar("S", bound=EntityState)


@dataclass(frozen=True, slots=True)
class Entity(Generic[S]):
    """What an entity stage needs to know about its entity."""

    name: str
    """As the feature catalogue names it (`ENTITY_OF`), in logs and metrics."""
    key: Callable[[Payment | Login], str | None]
    """The event's key for this entity; None: the event has none and goes around."""
    new: Callable[[], S]
    load: Callable[[bytes], S]
    """A state from its `to_bytes`, of this version or an older one."""
    neutral: Callable[[], Features]
    """The entity's features for an event without a key, or one the stage failed on."""
    notice_key: Callable[[Payment | Login], str | None] | None = None
    """The key whose state is also told of the event (`on_notice`); None: no notices."""
    on_notice: Callable[[S, Payment | Login], None] | None = None


@dataclass(frozen=True, slots=True)
class Notice:
    """An event told to a key's state for its history only: nothing comes out for it."""

    event: Payment | Login


def _order(item: Featured | Notice) -> tuple[float, str, int]:
    # A key's own event before a notice at the same instant, in every replay alike.
    return item.event.ts.timestamp(), item.event.event_id, isinstance(item, Notice)


def _with(item: Featured, extra: Features) -> Featured:
    # In place: from the account step on, an event's features dict is its own, and a copy
    # (of some 80 features) per stage per event was a good part of the stages' cost.
    item.features.update(extra)
    return item


def _ignore(_entity: str, _error: str) -> None:
    pass


class EntityLogic(StatefulBatchLogic[Featured | Notice, Featured, bytes], Generic[S]):
    """One key's state, its last snapshot and the events absorbed since (to rebuild the
    state without a failed event, as `AccountLogic` does)."""

    def __init__(
        self,
        entity: Entity[S],
        state: S,
        base: bytes | None = None,
        *,
        live: bool = False,
        idle_expiry_s: float = DAY,
        clock: Callable[[], float] = time.time,
        on_error: Callable[[str, str], None] = _ignore,
        snapshots: bool = True,
    ) -> None:
        self.entity = entity
        self.state = state
        self._base = base
        self._since: list[Featured | Notice] = []
        self._snapshots = snapshots
        self._live = live
        self._expiry_s = idle_expiry_s
        self._clock = clock
        self._on_error = on_error
        self.active_at: float | None = clock() if live else None

    def _restore(self) -> S:
        entity = self.entity
        state = entity.new() if self._base is None else entity.load(self._base)
        for item in self._since:
            try:
                self._absorb(state, item)
            except Exception as exc:  # absorbed once from this very state: not expected
                _log.error("%s step: replayed event failed: %s", entity.name, type(exc).__name__)
        return state

    def _absorb(self, state: S, item: Featured | Notice) -> Features | None:
        if isinstance(item, Notice):
            if self.entity.on_notice is not None:
                self.entity.on_notice(state, item.event)
            return None
        return state.observe(item.event)

    def on_batch(self, values: list[Featured | Notice]) -> tuple[list[Featured], bool]:
        out: list[Featured] = []
        for item in sorted(values, key=_order):
            try:
                extra = self._absorb(self.state, item)
            except Exception as exc:
                name = self.entity.name
                error = type(exc).__name__
                # No key, no payload: log lines leave the bank's data perimeter.
                _log.warning("%s step failed on an event: %s", name, error)
                self._on_error(name, error)
                if isinstance(item, Featured):
                    out.append(_with(item, self.entity.neutral()))
                self.state = self._restore()
                self._base, self._since = self.state.to_bytes(), []
                continue
            self._since.append(item)
            if extra is not None and isinstance(item, Featured):
                out.append(_with(item, extra))
        if len(self._since) >= REBASE_AFTER:
            self._base, self._since = self.state.to_bytes(), []
        if self._live:
            self.active_at = self._clock()
        return out, StatefulBatchLogic.RETAIN

    def notify_at(self) -> datetime | None:
        return expires_at(self.active_at, self._expiry_s)

    def on_notify(self) -> tuple[list[Featured], bool]:
        if expired(self.active_at, self._expiry_s, self._clock):
            return [], StatefulBatchLogic.DISCARD
        return [], StatefulBatchLogic.RETAIN

    def snapshot(self) -> bytes:
        if not self._snapshots:
            return b""
        blob = self.state.to_bytes()
        self._base, self._since = blob, []
        return blob


def entity_logic(
    entity: Entity[S],
    *,
    live: bool = False,
    idle_expiry_s: float = DAY,
    clock: Callable[[], float] = time.time,
    on_error: Callable[[str, str], None] = _ignore,
    snapshots: bool = True,
) -> Callable[[bytes | None], EntityLogic[S]]:
    """The stateful step's builder; `live` turns on the wall-clock idle expiry."""

    def build(snapshot: bytes | None) -> EntityLogic[S]:
        state = entity.load(snapshot) if snapshot else entity.new()
        return EntityLogic(
            entity,
            state,
            snapshot or None,
            live=live,
            idle_expiry_s=idle_expiry_s,
            clock=clock,
            on_error=on_error,
            snapshots=snapshots,
        )

    return build


def _has_key(pair: tuple[str | None, Featured]) -> TypeGuard[tuple[str, Featured]]:
    return pair[0] is not None


def _notices(
    notice_key: Callable[[Payment | Login], str | None],
) -> Callable[[Featured], list[tuple[str, Featured | Notice]]]:
    def tell(item: Featured) -> list[tuple[str, Featured | Notice]]:
        key = notice_key(item.event)
        return [] if key is None else [(key, Notice(item.event))]

    return tell


@operator
def entity_stage(
    step_id: str,
    up: Stream[Featured],
    entity: Entity,
    *,
    live: bool = False,
    idle_expiry_s: float = DAY,
    clock: Callable[[], float] = time.time,
    on_error: Callable[[str, str], None] = _ignore,
    snapshots: bool = True,
) -> Stream[Featured]:
    """Each item with the entity's features added: from the state of its key, or neutral
    when its event has none."""
    key, neutral = entity.key, entity.neutral
    split = op.branch("has_key", op.map("key", up, lambda item: (key(item.event), item)), _has_key)
    keyed: Stream[tuple[str, Featured | Notice]] = split.trues
    if entity.notice_key is not None:
        told = op.flat_map("notices", up, _notices(entity.notice_key))
        keyed = op.merge("with_notices", keyed, told)
    state = op.stateful_batch(
        "state",
        keyed,
        entity_logic(
            entity,
            live=live,
            idle_expiry_s=idle_expiry_s,
            clock=clock,
            on_error=on_error,
            snapshots=snapshots,
        ),
    )
    around = op.map("neutral", split.falses, lambda pair: _with(pair[1], neutral()))
    return op.merge("merge", op.key_rm("unkey", state), around)


class _PassThrough(StatefulBatchLogic[Featured, Featured, None]):
    def on_batch(self, values: list[Featured]) -> tuple[list[Featured], bool]:
        return values, StatefulBatchLogic.DISCARD

    def snapshot(self) -> None:  # discarded after every batch: nothing to keep
        return None


def _account_key(item: Featured) -> str:
    return item.event.account_id


@operator
def home(step_id: str, up: Stream[Featured]) -> Stream[Featured]:
    """The events back on their account's worker, after stages keyed by something else.

    Each process then decides for its own share of accounts, however a hot payee or IP
    concentrated the entity stages, and an account's decisions are always made in the same
    process. No state is kept.
    """
    keyed = op.key_on("by_account", up, _account_key)
    return op.key_rm("unkey", op.stateful_batch("route", keyed, lambda _: _PassThrough()))
