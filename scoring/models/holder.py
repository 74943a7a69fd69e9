"""A worker's copy of the models: hot-swapped to newer snapshots, never to the future.

For each event the holder answers with the newest snapshot that learned only
from labels up to the event's own time. Live, that is simply the newest; in a
backtest that replays months in minutes it is what keeps a label from
improving a decision made before the label existed.
"""

from __future__ import annotations

import bisect
import logging
import time

from riskflow.connectors.metrics import observe_snapshot_refused
from riskflow.scoring.models.bundle import FrozenBundle, SnapshotError
from riskflow.scoring.models.store import ModelStore

__all__ = ["ModelHolder"]

log = logging.getLogger(__name__)


class ModelHolder:
    def __init__(
        self,
        store: ModelStore,
        name: str = "champion",
        *,
        check_interval_s: float = 1.0,
        keep: int = 8,
    ) -> None:
        self.store = store
        self.name = name
        self.check_interval_s = check_interval_s
        self.keep = keep
        self._bundles: list[FrozenBundle] = []
        self._as_of: list[float] = []
        self._newest: tuple[str, float] | None = None
        self._next_check = 0.0
        self.swaps = 0

    def _refresh(self) -> None:
        newest = self.store.newest(self.name)
        if newest is None or newest == self._newest:
            return
        since = self._as_of[-1] if self._as_of else -1.0
        for snap in self.store.since(self.name, since):
            try:
                bundle = snap.load().frozen()
            except SnapshotError as exc:
                # The bundles already held keep scoring.
                observe_snapshot_refused(exc.reason)
                log.error("refusing model snapshot: %s (%s)", exc, exc.reason)
                continue
            i = bisect.bisect_right(self._as_of, bundle.as_of)
            self._as_of.insert(i, bundle.as_of)
            self._bundles.insert(i, bundle)
            self.swaps += 1
        del self._bundles[: -self.keep], self._as_of[: -self.keep]
        self._newest = newest

    def for_event(self, event_ts: float, now: float | None = None) -> FrozenBundle | None:
        now = time.monotonic() if now is None else now
        if now >= self._next_check:
            self._next_check = now + self.check_interval_s
            self._refresh()
        i = bisect.bisect_right(self._as_of, event_ts)
        return self._bundles[i - 1] if i else None
