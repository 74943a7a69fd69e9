"""Model snapshots and the feature log in Redis.

- `{prefix}:models:{name}:index` sorted set, version scored by its `as_of`;
- `{prefix}:models:{name}:snap:{version}` hash: `blob`, `checksum`, `as_of`;
- `{prefix}:featurelog:{event_id}` the decision's logged features (msgpack),
  kept `ttl_s` (60 days by default) so late chargebacks still find them.

Snapshots are only ever loaded from the Redis the flow is configured with,
and their checksum is verified before they are unpickled.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import redis

from riskflow.scoring.models.bundle import Snapshot
from riskflow.scoring.models.store import promote

__all__ = ["RedisFeatureLog", "RedisModelStore"]


class RedisModelStore:
    def __init__(self, client: redis.Redis, prefix: str = "riskflow", keep: int = 50) -> None:
        self.client = client
        self.prefix = prefix
        self.keep = keep

    def _index(self, name: str) -> str:
        return f"{self.prefix}:models:{name}:index"

    def _snap(self, name: str, version: str) -> str:
        return f"{self.prefix}:models:{name}:snap:{version}"

    def publish(self, name: str, snapshot: Snapshot) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.hset(
            self._snap(name, snapshot.version),
            mapping={"blob": snapshot.blob, "checksum": snapshot.checksum, "as_of": snapshot.as_of},
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
        top: Any = self.client.zrange(self._index(name), -1, -1, withscores=True)
        return (top[0][0].decode(), float(top[0][1])) if top else None

    def since(self, name: str, as_of: float) -> list[Snapshot]:
        versions: Any = self.client.zrangebyscore(self._index(name), f"({as_of}", "+inf")
        out = []
        for raw in versions:
            version = raw.decode()
            fields: Any = self.client.hgetall(self._snap(name, version))
            if fields:
                out.append(
                    Snapshot(
                        version,
                        float(fields[b"as_of"]),
                        fields[b"checksum"].decode(),
                        fields[b"blob"],
                    )
                )
        return out

    def promote(self, challenger: str, champion: str) -> str:
        return promote(self, challenger, champion)


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
