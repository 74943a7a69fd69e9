"""Risk-list proposals held in Redis for the risk team, and the flow's sink that writes them.

- `{prefix}:lists:proposals` hash, proposal id -> proposal JSON (`scoring.lists.proposals`),
  `pending` until accepted or rejected; never screened on.
- Every proposal, acceptance and rejection is a record in the lists' audit stream
  (`{prefix}:lists:audit`: `op` propose / accept / reject, with `proposal`), and an
  acceptance writes its entry and that entry's `add` record in the same atomic step, so
  an accepted proposal is an entry like any other, and its announcement on the control
  topic (by whoever accepted it) reaches every flow process as any change does.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any, Final

import msgspec
import redis
from bytewax.outputs import DynamicSink, StatelessSinkPartition

from riskflow.connectors.kafka_client import ClientValue
from riskflow.connectors.lists_redis import ListsControl
from riskflow.connectors.metrics import LIST_PROPOSALS
from riskflow.connectors.redis_client import RedisSettings, redis_client
from riskflow.scoring.lists.entries import ListChange, ListEntry, ListKind
from riskflow.scoring.lists.proposals import Proposal

__all__ = ["AUTO_ACTOR", "Decided", "ProposalsSink", "RedisProposals"]

log = logging.getLogger(__name__)

AUTO_ACTOR: Final = "riskflow"
"""Who proposes, and who accepts with `auto_accept_watch`."""

_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(Proposal).decode

# KEYS proposals, audit; ARGV id, proposal, would-be entry id, actor, at.
# Kept once: a proposal replayed after a restart, or already decided, is left as it is.
_PROPOSE = """
if redis.call('HGET', KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'op', 'propose', 'entry_id', ARGV[3], 'entry', ARGV[2],
           'actor', ARGV[4], 'why', 'proposed from confirmed fraud labels', 'at', ARGV[5],
           'proposal', ARGV[1])
return 1
"""

# KEYS proposals, audit, entries; ARGV id, decided proposal, op, actor, why, at, the
# entry id, then for an acceptance the entry. Only a pending proposal is decided.
_DECIDE = """
local held = redis.call('HGET', KEYS[1], ARGV[1])
if not held then return 'unknown' end
local status = cjson.decode(held)['status']
if status ~= 'pending' then return status end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('XADD', KEYS[2], '*', 'op', ARGV[3], 'entry_id', ARGV[7], 'entry', ARGV[2],
           'actor', ARGV[4], 'why', ARGV[5], 'at', ARGV[6], 'proposal', ARGV[1])
if ARGV[8] then
  redis.call('HSET', KEYS[3], ARGV[7], ARGV[8])
  redis.call('XADD', KEYS[2], '*', 'op', 'add', 'entry_id', ARGV[7], 'entry', ARGV[8],
             'actor', ARGV[4], 'why', ARGV[5], 'at', ARGV[6], 'proposal', ARGV[1])
end
return 'ok'
"""


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds")


class Decided(Exception):
    """The proposal is unknown, already decided or past its expiry: nothing was changed."""


class RedisProposals:
    def __init__(self, client: redis.Redis, prefix: str = "riskflow") -> None:
        self.client = client
        self.key = f"{prefix}:lists:proposals"
        self.audit_key = f"{prefix}:lists:audit"
        self.entries_key = f"{prefix}:lists:entries"
        self._propose = client.register_script(_PROPOSE)
        self._decide = client.register_script(_DECIDE)

    def propose(self, proposal: Proposal, *, now: datetime | None = None) -> bool:
        """Hold a proposal; False when that id is held already (a replay)."""
        at = _iso(now or datetime.now(UTC))
        args: list[str | bytes] = [
            proposal.id,
            _encode(proposal),
            proposal.entry_id,
            AUTO_ACTOR,
            at,
        ]
        return bool(self._propose(keys=[self.key, self.audit_key], args=args))

    def all(self) -> list[Proposal]:
        """Every proposal held; one unreadable is skipped, not fatal."""
        values: Any = self.client.hvals(self.key)
        found = []
        for blob in values:
            try:
                found.append(_decode(blob))
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                log.warning("skipping an unreadable proposal: %s", exc)
        return found

    def get(self, proposal_id: str) -> Proposal | None:
        blob: Any = self.client.hget(self.key, proposal_id)
        if blob is None:
            return None
        try:
            return _decode(blob)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise Decided(f"proposal {proposal_id} is unreadable: {exc}") from None

    def _pending(self, proposal_id: str, now: datetime) -> Proposal:
        proposal = self.get(proposal_id)
        if proposal is None:
            raise Decided(f"no proposal {proposal_id}")
        if proposal.status != "pending":
            raise Decided(f"proposal {proposal_id} is already {proposal.status}")
        if proposal.expires_at <= now:
            raise Decided(f"proposal {proposal_id} expired at {proposal.expires_at.isoformat()}")
        return proposal

    def _run(
        self, proposal_id: str, decided: Proposal, op: str, why: str, subject: str, *entry: str
    ) -> None:
        assert decided.decided_by is not None and decided.decided_at is not None
        outcome: Any = self._decide(
            keys=[self.key, self.audit_key, self.entries_key],
            args=[
                proposal_id,
                _encode(decided),
                op,
                decided.decided_by,
                why,
                _iso(decided.decided_at),
                subject,
                *entry,
            ],
        )
        outcome = outcome.decode() if isinstance(outcome, bytes) else str(outcome)
        if outcome == "unknown":
            raise Decided(f"no proposal {proposal_id}")
        if outcome != "ok":
            raise Decided(f"proposal {proposal_id} is already {outcome}")

    def accept(
        self,
        proposal_id: str,
        *,
        actor: str,
        kind: ListKind | None = None,
        why: str | None = None,
        expires_at: datetime | None = None,
        now: datetime | None = None,
    ) -> ListEntry:
        """Make the proposal an entry (as proposed, or as `kind`); the caller announces it."""
        now = now or datetime.now(UTC)
        proposal = self._pending(proposal_id, now)
        entry = proposal.entry(kind=kind, actor=actor, now=now, expires_at=expires_at)
        why = why or f"accepted proposal {proposal_id}"
        decided = msgspec.structs.replace(
            proposal,
            status="accepted",
            decided_by=actor,
            decided_at=now,
            why=why,
            accepted_as=entry.kind,
        )
        self._run(proposal_id, decided, "accept", why, entry.id, _encode(entry).decode())
        return entry

    def reject(
        self, proposal_id: str, *, actor: str, why: str, now: datetime | None = None
    ) -> Proposal:
        now = now or datetime.now(UTC)
        proposal = self._pending(proposal_id, now)
        decided = msgspec.structs.replace(
            proposal, status="rejected", decided_by=actor, decided_at=now, why=why
        )
        self._run(proposal_id, decided, "reject", why, proposal.entry_id)
        return decided


_RETRY_CAP: Final = 1000
"""Most proposals a sink holds while Redis is unreachable; older ones are dropped, counted."""


class _ProposalsPartition(StatelessSinkPartition[Proposal]):
    def __init__(
        self,
        settings: RedisSettings,
        *,
        auto_accept_watch: bool,
        bootstrap: str | None,
        topic: str,
        client: dict[str, ClientValue],
    ) -> None:
        self._store = RedisProposals(redis_client(settings, timeout_s=0.5), settings.key_prefix)
        self._auto = auto_accept_watch
        self._bootstrap, self._topic, self._client = bootstrap, topic, client
        self._control: ListsControl | None = None
        self._waiting: OrderedDict[str, Proposal] = OrderedDict()
        self._retry_at = 0.0

    def _announce(self, entry: ListEntry) -> None:
        if self._bootstrap is None:
            return
        if self._control is None:
            self._control = ListsControl(self._bootstrap, self._topic, client=self._client)
        self._control.publish(ListChange(op="add", entry=entry))

    def _write(self, proposal: Proposal) -> None:
        held = self._store.propose(proposal)
        if not self._auto or proposal.kind != "watch":
            return
        # Also when held already: a retry after Redis failed between the two steps.
        try:
            entry = self._store.accept(proposal.id, actor=AUTO_ACTOR, why="auto_accept_watch")
        except Decided:
            if held:
                log.info("proposal %s not auto-accepted: past its expiry", proposal.id)
            return  # decided already (a replay), or expired (a replay of old labels)
        LIST_PROPOSALS.labels("auto_accepted").inc()
        self._announce(entry)

    def write_batch(self, items: list[Proposal]) -> None:
        for proposal in items:
            self._waiting[proposal.id] = proposal
        while len(self._waiting) > _RETRY_CAP:
            self._waiting.popitem(last=False)
            LIST_PROPOSALS.labels("dropped").inc()
        if time.monotonic() < self._retry_at:
            return
        while self._waiting:
            proposal_id, proposal = next(iter(self._waiting.items()))
            try:
                self._write(proposal)
            except (redis.RedisError, RuntimeError) as exc:
                # Kept for the next batch; a proposal is never worth stopping the flow.
                LIST_PROPOSALS.labels("write_failed").inc()
                log.warning("proposal not written yet, %d waiting: %s", len(self._waiting), exc)
                self._retry_at = time.monotonic() + 1.0
                return
            del self._waiting[proposal_id]

    def close(self) -> None:
        self._store.client.close()


class ProposalsSink(DynamicSink[Proposal]):
    def __init__(
        self,
        settings: RedisSettings,
        *,
        auto_accept_watch: bool,
        bootstrap: str | None,
        topic: str,
        client: dict[str, ClientValue] | None = None,
    ) -> None:
        self._settings = settings
        self._auto = auto_accept_watch
        self._bootstrap, self._topic, self._client = bootstrap, topic, dict(client or {})

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _ProposalsPartition:
        return _ProposalsPartition(
            self._settings,
            auto_accept_watch=self._auto,
            bootstrap=self._bootstrap,
            topic=self._topic,
            client=self._client,
        )
