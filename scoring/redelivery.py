"""One verdict per event: a redelivered event gets the decision already made, byte for byte.

The account step recognises an `event_id` it already absorbed and hands it on as a
`Duplicate`, around `decide`. This step, keyed by account after `decide`, remembers each
account's recent decisions as the very bytes that were published, and answers a
`Duplicate` with them: same `ts`, same `latency_ms`, no new alert, notification or Redis
write. The memory is bounded by count and event time (`FeatureConfig.decisions_kept_cap`,
`decisions_kept_days`), tighter than the account's ids, since a decision weighs several
times an id in every snapshot; a duplicate whose decision it no longer holds is
dead-lettered with reason `duplicate` rather than decided again.

A duplicate can reach this step before its original's verdict (they take different paths
from the account step), so an unanswered one waits: until the verdict comes, the input ends,
or `_PENDING_S` of wall-clock time pass.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
from bytewax.operators import StatefulBatchLogic

from riskflow.connectors.metrics import DUPLICATES
from riskflow.contract.messages import DeadLetter
from riskflow.contract.parse import dead_letter_for
from riskflow.features.account import FeatureConfig
from riskflow.features.operator import Duplicate
from riskflow.scoring.decide import Verdict

__all__ = ["DecisionMemory", "SentDecision", "decision_memory"]

_VERSION = 1
_PENDING_S = 5.0
_DAY = 86400.0
_encode = msgspec.json.encode


@dataclass(frozen=True, slots=True)
class SentDecision:
    """A decision as published: `body` is the encoded Decision, the same bytes every time."""

    account_id: str
    event_id: str
    body: bytes
    repeat: bool = False


def _event_time(verdict: Verdict) -> float:
    return datetime.fromisoformat(verdict.decision.event_ts).timestamp()


class DecisionMemory(StatefulBatchLogic[Verdict | Duplicate, SentDecision | DeadLetter, bytes]):
    """One account's recent decisions (event_id -> encoded Decision), oldest first."""

    def __init__(
        self,
        cfg: FeatureConfig,
        snapshot: bytes | None = None,
        *,
        live: bool = False,
        clock: Callable[[], float] = time.time,
        snapshots: bool = True,
    ) -> None:
        self._snapshots = snapshots
        self._cap = cfg.decisions_kept_cap
        self._horizon_s = cfg.decisions_kept_days * _DAY
        self._live = live
        self._clock = clock
        self.sent: dict[str, tuple[float, bytes]] = {}
        self._newest = float("-inf")
        self.pending: list[Duplicate] = []
        self._pending_since: float | None = None
        self._active_at: float | None = None
        if snapshot:
            _, sent, self.pending, self._active_at = pickle.loads(snapshot)
            self.sent = {eid: (t, body) for eid, t, body in sent}
            self._newest = max((t for t, _ in self.sent.values()), default=float("-inf"))
            if self.pending:
                self._pending_since = clock()
        if live and self._active_at is None:
            self._active_at = clock()

    def _remember(self, verdict: Verdict) -> SentDecision:
        d = verdict.decision
        body = _encode(d)
        t = _event_time(verdict)
        sent = self.sent
        sent[d.event_id] = (t, body)
        self._newest = max(self._newest, t)
        return SentDecision(d.account_id, d.event_id, body)

    def _forget(self) -> None:
        sent = self.sent
        # Forgotten in the order absorbed, as the account step forgets its ids.
        while len(sent) > self._cap:
            del sent[next(iter(sent))]
        horizon = self._newest - self._horizon_s
        while sent:
            oldest = next(iter(sent))
            if sent[oldest][0] >= horizon:
                break
            del sent[oldest]

    def _answer(self, dup: Duplicate) -> SentDecision | None:
        known = self.sent.get(dup.event.event_id)
        if known is None:
            return None
        DUPLICATES.labels(dup.event.__class__.__name__.lower()).inc()
        return SentDecision(dup.event.account_id, dup.event.event_id, known[1], repeat=True)

    def _resolve_pending(self) -> list[SentDecision | DeadLetter]:
        out: list[SentDecision | DeadLetter] = []
        waiting: list[Duplicate] = []
        for dup in self.pending:
            answer = self._answer(dup)
            if answer is None:
                waiting.append(dup)
            else:
                out.append(answer)
        self.pending = waiting
        if not waiting:
            self._pending_since = None
        return out

    def on_batch(
        self, values: list[Verdict | Duplicate]
    ) -> tuple[list[SentDecision | DeadLetter], bool]:
        out: list[SentDecision | DeadLetter] = []
        for item in values:
            if isinstance(item, Verdict):
                out.append(self._remember(item))
            else:
                self.pending.append(item)
        if self.pending:
            out.extend(self._resolve_pending())
            if self.pending and self._pending_since is None:
                self._pending_since = self._clock()
        # Only now: a duplicate travels beside its original's batch, not behind it, so a
        # batch of many verdicts must not push out the one a duplicate in it is asking for.
        self._forget()
        if self._live:
            self._active_at = self._clock()
        return out, StatefulBatchLogic.RETAIN

    def _give_up(self) -> list[SentDecision | DeadLetter]:
        out: list[SentDecision | DeadLetter] = []
        for dup in self.pending:
            event = dup.event
            DUPLICATES.labels(event.__class__.__name__.lower()).inc()
            out.append(
                dead_letter_for(
                    _encode(event),
                    "duplicate",
                    "redelivered event whose decision is no longer remembered",
                    dup.topic,
                    dup.partition,
                    dup.offset,
                )
            )
        self.pending, self._pending_since = [], None
        return out

    def on_eof(self) -> tuple[list[SentDecision | DeadLetter], bool]:
        # No verdict can come any more in this execution.
        return self._give_up(), StatefulBatchLogic.RETAIN

    def notify_at(self) -> datetime | None:
        times = []
        if self._pending_since is not None:
            times.append(self._pending_since + _PENDING_S)
        if self._live and self._active_at is not None:
            times.append(self._active_at + self._horizon_s)
        return datetime.fromtimestamp(min(times), UTC) if times else None

    def on_notify(self) -> tuple[list[SentDecision | DeadLetter], bool]:
        now = self._clock()
        out: list[SentDecision | DeadLetter] = []
        if self._pending_since is not None and now - self._pending_since >= _PENDING_S:
            out = self._give_up()
        idle = self._active_at is not None and now - self._active_at >= self._horizon_s
        if self._live and idle and not self.pending:
            # Idle past the memory's bound: nothing it holds would still be answered.
            return out, StatefulBatchLogic.DISCARD
        return out, StatefulBatchLogic.RETAIN

    def snapshot(self) -> bytes:
        if not self._snapshots:  # no recovery store: nobody would read it
            return b""
        sent = [(eid, t, body) for eid, (t, body) in self.sent.items()]
        return pickle.dumps(
            (_VERSION, sent, self.pending, self._active_at), protocol=pickle.HIGHEST_PROTOCOL
        )


def decision_memory(
    cfg: FeatureConfig,
    *,
    live: bool = False,
    clock: Callable[[], float] = time.time,
    snapshots: bool = True,
) -> Callable[[bytes | None], DecisionMemory]:
    """The builder of the step that re-emits a redelivered event's decision."""

    def build(snapshot: bytes | None) -> DecisionMemory:
        return DecisionMemory(cfg, snapshot, live=live, clock=clock, snapshots=snapshots)

    return build
