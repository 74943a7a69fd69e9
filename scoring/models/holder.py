"""A worker's copy of the models: hot-swapped to newer snapshots, never to the future.

For each event the holder answers with the newest snapshot that learned only
from labels up to the event's own time. Live, that is simply the newest; in a
backtest that replays months in minutes it is what keeps a label from
improving a decision made before the label existed.

Live, new snapshots are loaded by a thread of the holder's own (`background`), so a
snapshot's decoding (tens of milliseconds for a blend with its counterparty table) never
holds up the decision that happens to check for it; a replay loads them in line, before
the event that may use them, so it repeats exactly.
"""

from __future__ import annotations

import bisect
import logging
import threading
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
        background: bool = False,
    ) -> None:
        self.store = store
        self.name = name
        self.check_interval_s = check_interval_s
        self.keep = keep
        self.background = background
        # (as_of, bundles) in ascending as_of, swapped whole: the loading thread never
        # changes a list a decision is reading.
        self._held: tuple[list[float], list[FrozenBundle]] = ([], [])
        self._newest: tuple[str, float] | None = None
        self._next_check = 0.0
        self._loader: threading.Thread | None = None
        self.swaps = 0

    def _refresh(self) -> None:
        newest = self.store.newest(self.name)
        if newest is None or newest == self._newest:
            return
        as_of, bundles = list(self._held[0]), list(self._held[1])
        since = as_of[-1] if as_of else -1.0
        for snap in self.store.since(self.name, since):
            try:
                bundle = snap.load().frozen()
            except SnapshotError as exc:
                # The bundles already held keep scoring.
                observe_snapshot_refused(exc.reason)
                log.error("refusing model snapshot: %s (%s)", exc, exc.reason)
                continue
            i = bisect.bisect_right(as_of, bundle.as_of)
            as_of.insert(i, bundle.as_of)
            bundles.insert(i, bundle)
            self.swaps += 1
        self._held = (as_of[-self.keep :], bundles[-self.keep :])
        self._newest = newest

    def _load_forever(self) -> None:
        while True:
            try:
                self._refresh()
            except Exception as exc:  # the store unreachable a while: the bundles held score on
                log.warning("model snapshots not refreshed: %s", type(exc).__name__)
            time.sleep(self.check_interval_s)

    def _start_loader(self) -> None:
        self._refresh()  # the first load in line, so the first event already has what exists
        self._loader = threading.Thread(
            target=self._load_forever, name=f"models-{self.name}", daemon=True
        )
        self._loader.start()

    def for_event(self, event_ts: float, now: float | None = None) -> FrozenBundle | None:
        if self.background:
            if self._loader is None:
                self._start_loader()
        else:
            now = time.monotonic() if now is None else now
            if now >= self._next_check:
                self._next_check = now + self.check_interval_s
                self._refresh()
        as_of, bundles = self._held
        i = bisect.bisect_right(as_of, event_ts)
        return bundles[i - 1] if i else None
