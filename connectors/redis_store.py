"""The serving copy of each account's features and latest decision, in Redis.

The dataflow's own state is the source of truth; Redis is where other bank
systems read it. Every write is an absolute value built only from fields that
a replay reproduces exactly (no wall-clock times), so the replay of an epoch
after a restart rewrites identical bytes. One pipeline per batch, and while
Redis is unreachable the latest record per account waits in a bounded buffer.

The hash holds the account's latest event by event time, whatever the order decisions
arrive in (a late event, a replay, another process): a small script writes a record only
if its `event_time` is not older than the one Redis holds, in one atomic step.

Keys (`{prefix}` defaults to `riskflow`):
- `{prefix}:account:{account_id}` hash with fields `features` (JSON object),
  `decision` (JSON: event_id, event_ts, action, score, reasons, rules_version,
  model_version), `event_ts`, `event_time` (epoch seconds of `event_ts`) and
  `history` (hex digest of every message the account absorbed up to this event, in
  order: two records with equal digests saw the same history); expires after `ttl_s`
  without a write.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from datetime import datetime

import msgspec
import redis
from bytewax.outputs import DynamicSink, StatelessSinkPartition

from riskflow.connectors.metrics import REDIS_DROPPED, REDIS_WRITE_FAILURES, REDIS_WRITES
from riskflow.connectors.redis_client import RedisSettings, redis_client
from riskflow.contract.masking import mask_text
from riskflow.scoring.decide import Verdict

__all__ = ["RedisSettings", "RedisSink", "account_key", "account_record"]


log = logging.getLogger(__name__)
_encode = msgspec.json.encode

# KEYS[1] the account's hash; ARGV event_time, features, decision, event_ts, ttl, history.
# Absolute values only, and nothing at all for an event older than the one held.
_WRITE_LATEST = """
local held = redis.call('HGET', KEYS[1], 'event_time')
if held and tonumber(held) > tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'features', ARGV[2], 'decision', ARGV[3],
           'event_ts', ARGV[4], 'event_time', ARGV[1], 'history', ARGV[6])
redis.call('EXPIRE', KEYS[1], ARGV[5])
return 1
"""


def account_key(prefix: str, account_id: str) -> str:
    return f"{prefix}:account:{account_id}"


def account_record(verdict: Verdict) -> dict[str, bytes | str]:
    d = verdict.decision
    decision = {
        "event_id": d.event_id,
        "event_ts": d.event_ts,
        "action": d.action,
        "score": d.score,
        "reasons": d.reasons,
        "rules_version": d.rules_version,
        "model_version": d.model_version,
    }
    return {
        "features": _encode(verdict.features),
        "decision": _encode(decision),
        "event_ts": d.event_ts,
        "event_time": repr(datetime.fromisoformat(d.event_ts).timestamp()),
        "history": verdict.history,
    }


def _event_time(record: dict[str, bytes | str]) -> float:
    return float(record["event_time"])


class _RedisPartition(StatelessSinkPartition[Verdict]):
    def __init__(self, settings: RedisSettings) -> None:
        self._settings = settings
        self._client = redis_client(settings, timeout_s=0.5)
        self._write_latest = self._client.register_script(_WRITE_LATEST)
        self._pending: OrderedDict[str, dict[str, bytes | str]] = OrderedDict()
        self._retry_at = 0.0
        self._backoff = 0.1

    def write_batch(self, items: list[Verdict]) -> None:
        prefix = self._settings.key_prefix
        pending = self._pending
        for verdict in items:
            key = account_key(prefix, verdict.decision.account_id)
            record = account_record(verdict)
            held = pending.pop(key, None)
            # The buffer keeps the latest by event time too; Redis has the last word.
            if held is not None and _event_time(held) > _event_time(record):
                record = held
            pending[key] = record
        overflow = len(pending) - self._settings.max_pending
        for _ in range(max(0, overflow)):
            pending.popitem(last=False)
            REDIS_DROPPED.inc()
        if time.monotonic() >= self._retry_at:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        ttl = self._settings.ttl_s
        pipe = self._client.pipeline(transaction=False)
        for key, record in self._pending.items():
            args = [
                record["event_time"],
                record["features"],
                record["decision"],
                record["event_ts"],
                ttl,
                record["history"],
            ]
            self._write_latest(keys=[key], args=args, client=pipe)
        try:
            written = pipe.execute()
        except redis.RedisError as exc:
            REDIS_WRITE_FAILURES.inc()
            log.warning(
                "redis write failed, %d accounts pending: %s",
                len(self._pending),
                mask_text(str(exc)),
            )
            # Back off so a dead Redis costs one timeout per interval, not per batch.
            self._retry_at = time.monotonic() + self._backoff
            self._backoff = min(self._backoff * 2, 5.0)
            return
        # A record older than the one Redis holds was not written: not counted either.
        REDIS_WRITES.inc(sum(1 for w in written if w == 1))
        self._pending.clear()
        self._backoff = 0.1
        self._retry_at = 0.0

    def close(self) -> None:
        self._flush()
        self._client.close()


class RedisSink(DynamicSink[Verdict]):
    def __init__(self, settings: RedisSettings) -> None:
        self._settings = settings

    def build(self, step_id: str, worker_index: int, worker_count: int) -> _RedisPartition:
        return _RedisPartition(self._settings)
