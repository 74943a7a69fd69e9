"""Decisions as first published, kept in Redis for a while: a restart re-emits them byte for byte.

After a crash bytewax restores each account's state as of the last closed epoch and replays
the events read since. Their decisions were already published to Kafka, whose output is not
rolled back, and deciding them again gives the same features, action and reasons but a new
`ts` and `latency_ms` (and possibly a newer model). So `decide` looks every verdict up here
first: a decision already published is emitted again as it was, and a new one is stored
before it moves on to any output, so nothing reaches Kafka that is not stored here.

Key: `{prefix}:published:{event_id}`, the encoded Decision, expiring after `ttl_s`; it only
has to outlive the epoch it was decided in plus the time a restart takes. While Redis is
unreachable verdicts pass unchanged (counted in `riskflow_redis_write_failures_total`).
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

import msgspec
import redis

from riskflow.connectors.metrics import REDIS_WRITE_FAILURES
from riskflow.contract.masking import mask_text
from riskflow.contract.messages import Decision
from riskflow.scoring.decide import Verdict

__all__ = ["PublishedDecisions", "published_key"]

log = logging.getLogger(__name__)
_encode = msgspec.json.encode
_decode = msgspec.json.Decoder(Decision).decode


def published_key(prefix: str, event_id: str) -> str:
    return f"{prefix}:published:{event_id}"


class PublishedDecisions:
    def __init__(self, client: redis.Redis, prefix: str, ttl_s: int) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl_s = ttl_s

    def settle(self, verdicts: list[Verdict]) -> list[Verdict]:
        """The verdicts with each decision as it was first published; new ones stored first."""
        if not verdicts:
            return verdicts
        keys = [published_key(self._prefix, v.decision.event_id) for v in verdicts]
        try:
            held: Any = self._client.mget(keys)
            pipe = self._client.pipeline(transaction=False)
            fresh = False
            for key, verdict, body in zip(keys, verdicts, held, strict=True):
                if body is None:
                    pipe.set(key, _encode(verdict.decision), ex=self._ttl_s, nx=True)
                    fresh = True
            if fresh:
                pipe.execute()
        except redis.RedisError as exc:
            REDIS_WRITE_FAILURES.inc()
            log.warning(
                "published decisions unavailable, %d passed as decided: %s",
                len(keys),
                mask_text(str(exc)),
            )
            return verdicts
        return [
            v if body is None else dataclasses.replace(v, decision=_decode(body))
            for v, body in zip(verdicts, held, strict=True)
        ]
