"""Model snapshots and the feature log in Redis.

- `{prefix}:models:{name}:index` sorted set, version scored by its `as_of`;
- `{prefix}:models:{name}:snap:{version}` hash: `blob` (the bundle as data,
  `scoring.models.snapshot`), `sig` (its HMAC-SHA256, `scoring.models.signing`), `as_of`;
- `{prefix}:featurelog:{event_id}` the decision's logged features (msgpack),
  kept `ttl_s` (60 days by default) so late chargebacks still find them.

Anyone who can write this Redis can write a snapshot, so a snapshot is data, never code,
and is only handed on if its signature verifies under a key Redis never sees. One that
does not is logged once per process (one line, no payload), counted in
`riskflow_model_snapshots_refused_total{reason}` and skipped: the models already loaded
keep scoring. A bundle that cannot be written as data (a forest) is not published.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any, Final

import redis

from riskflow.connectors.metrics import observe_snapshot_refused
from riskflow.scoring.models.bundle import Snapshot
from riskflow.scoring.models.signing import SnapshotSigner
from riskflow.scoring.models.store import Promotion, promote_newest

__all__ = ["RedisFeatureLog", "RedisModelStore"]

log = logging.getLogger(__name__)

_REMEMBERED: Final = 1024
"""Most refused snapshots remembered, so each is reported once however often it is read."""


class RedisModelStore:
    def __init__(
        self,
        client: redis.Redis,
        prefix: str = "riskflow",
        keep: int = 50,
        *,
        signer: SnapshotSigner,
    ) -> None:
        self.client = client
        self.prefix = prefix
        self.keep = keep
        self.signer = signer
        self._refused: set[tuple[str, str, bytes]] = set()
        self._skipped: set[tuple[str, str]] = set()
        """Versions refused, passed over by `newest`: a planted entry with a far-future time
        would otherwise stay the newest, and workers would never look for a newer model."""

    def _refuse(self, name: str, version: str, reason: str, fields: dict[Any, Any]) -> None:
        # Keyed by what was stored, so a snapshot rewritten under the same version is
        # reported again.
        digest = hashlib.sha256(repr(sorted(fields.items())).encode()).digest()
        seen = (name, version, digest)
        if len(self._skipped) >= _REMEMBERED:
            self._skipped.clear()
        self._skipped.add((name, version))
        if seen in self._refused:
            return
        if len(self._refused) >= _REMEMBERED:
            self._refused.clear()
        self._refused.add(seen)
        observe_snapshot_refused(reason)
        # The version is whatever was written to the index: quoted, so it stays one line.
        log.error("refusing model snapshot %s %r: %s", name, version[:80], reason)

    def _index(self, name: str) -> str:
        return f"{self.prefix}:models:{name}:index"

    def _snap(self, name: str, version: str) -> str:
        return f"{self.prefix}:models:{name}:snap:{version}"

    def publish(self, name: str, snapshot: Snapshot) -> None:
        if snapshot.blob is None:
            # Never a pickle instead: every worker would run whatever the store held.
            self._refuse(name, snapshot.version, "not_shareable", {})
            return
        self._skipped.discard((name, snapshot.version))
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(
            self._snap(name, snapshot.version),
            mapping={
                "blob": snapshot.blob,
                "sig": self.signer.sign(snapshot.blob),
                "as_of": repr(snapshot.as_of),
            },
        )
        pipe.zadd(self._index(name), {snapshot.version: snapshot.as_of})
        pipe.execute()
        stale: Any = self.client.zrange(self._index(name), 0, -self.keep - 1)
        if stale:
            pipe = self.client.pipeline(transaction=True)
            pipe.zrem(self._index(name), *stale)
            pipe.delete(*(self._snap(name, v.decode()) for v in stale))
            pipe.execute()

    def newest(self, name: str) -> tuple[str, float] | None:
        """The newest entry not already refused (one not yet read is returned unverified:
        `since` verifies it)."""
        start = 0
        while True:
            top: Any = self.client.zrevrange(self._index(name), start, start + 7, withscores=True)
            if not top:
                return None
            for raw, score in top:
                version = raw.decode()
                if (name, version) not in self._skipped:
                    return (version, float(score))
            start += len(top)

    def since(self, name: str, as_of: float) -> list[Snapshot]:
        versions: Any = self.client.zrangebyscore(self._index(name), f"({as_of}", "+inf")
        out = []
        for raw in versions:
            version = raw.decode()
            fields: Any = self.client.hgetall(self._snap(name, version))
            if not fields:
                continue
            blob, sig = fields.get(b"blob"), fields.get(b"sig")
            if blob is None or sig is None:
                self._refuse(name, version, "unsigned", fields)
                continue
            if not self.signer.verify(blob, sig.decode("ascii", "replace")):
                self._refuse(name, version, "bad_signature", fields)
                continue
            try:
                as_of_ = float(fields[b"as_of"])
            except (KeyError, ValueError):
                self._refuse(name, version, "malformed", fields)
                continue
            out.append(Snapshot(version, as_of_, blob))
        return out

    def promote(self, challenger: str, champion: str) -> str:
        return self.promote_newest(challenger, champion).version

    def promote_newest(self, challenger: str, champion: str) -> Promotion:
        return promote_newest(self, challenger, champion)


class RedisFeatureLog:
    def __init__(self, client: redis.Redis, prefix: str = "riskflow", ttl_s: int = 60 * 86400):
        self.client = client
        self.prefix = prefix
        self.ttl_s = ttl_s

    def put_many(self, records: Iterable[tuple[str, bytes]]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for event_id, blob in records:
            # SET with the same bytes again on a replay: idempotent.
            pipe.set(f"{self.prefix}:featurelog:{event_id}", blob, ex=self.ttl_s)
        pipe.execute()

    def get_many(self, event_ids: Sequence[str]) -> list[bytes | None]:
        if not event_ids:
            return []
        values: Any = self.client.mget([f"{self.prefix}:featurelog:{e}" for e in event_ids])
        return list(values)
