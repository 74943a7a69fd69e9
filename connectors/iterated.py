"""A bytewax source over a deterministic iterator, resumable by position.

Replayed files and the simulator are both deterministic, so the recovery
state of a partition is just how many messages it has emitted: on resume the
iterator is rebuilt and fast-forwarded.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from riskflow.contract.parse import Raw

__all__ = ["IteratedSource"]

RawIterator = Iterator[tuple[str, bytes, str, int | None]]
"""(contract kind, payload, origin, offset in the origin) in emission order."""


class _Partition(StatefulSourcePartition[Raw, int]):
    def __init__(
        self, items: RawIterator, position: int, batch_size: int, rate: float | None
    ) -> None:
        self._items = itertools.islice(items, position, None)
        self._position = position
        self._batch_size = batch_size
        self._rate = rate
        self._started = time.monotonic()
        self._emitted = 0

    def next_batch(self) -> list[Raw]:
        size = self._batch_size
        if self._rate is not None:
            # Emit only what the target rate allows so far, in small batches for latency.
            due = int((time.monotonic() - self._started) * self._rate) - self._emitted
            size = max(0, min(size, due))
            if size == 0:
                return []
        now = time.time()
        batch = [
            Raw(kind, payload, origin, None, self._position + i if offset is None else offset, now)
            for i, (kind, payload, origin, offset) in enumerate(itertools.islice(self._items, size))
        ]
        if not batch:
            raise StopIteration()
        self._position += len(batch)
        self._emitted += len(batch)
        return batch

    def next_awake(self) -> datetime | None:
        if self._rate is None:
            return None
        # Sleep until the next message is due instead of polling in a busy loop.
        due_in = (self._emitted + 1) / self._rate - (time.monotonic() - self._started)
        return datetime.now(UTC) + timedelta(seconds=min(max(due_in, 0.0), 0.05))

    def snapshot(self) -> int:
        return self._position


class IteratedSource(FixedPartitionedSource[Raw, int]):
    """One partition whose messages come from `factory()`, optionally paced to `rate`/s."""

    def __init__(
        self,
        name: str,
        factory: Callable[[], RawIterator],
        *,
        batch_size: int = 1000,
        rate: float | None = None,
    ) -> None:
        self._name = name
        self._factory = factory
        self._batch_size = batch_size if rate is None else min(batch_size, 64)
        self._rate = rate

    def list_parts(self) -> list[str]:
        return [self._name]

    def build_part(self, step_id: str, for_part: str, resume_state: int | None) -> _Partition:
        return _Partition(self._factory(), resume_state or 0, self._batch_size, self._rate)
