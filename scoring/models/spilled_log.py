"""A feature log that keeps its newest records in memory and the rest in a file on disk.

A replay logs every decision until its label arrives: a week of label delay on a card
stream is a million records, gigabytes as Python objects. This log holds the newest
`hot` records in a dict and moves older ones, in the order they were first logged, to
an SQLite table in a private temporary file, which is deleted when the log is closed
or collected. It answers exactly as `MemoryFeatureLog` with the same `cap` does: a
record logged again keeps its first position and takes the newer bytes, and the
oldest first-logged records are the ones evicted past `cap`.
"""

from __future__ import annotations

import logging
import sqlite3
import tempfile
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Final

__all__ = ["SpilledFeatureLog"]

_log = logging.getLogger(__name__)

_QUERY_CHUNK: Final = 500
"""Event ids per `IN (...)` query: well under SQLite's bound on parameters."""


class SpilledFeatureLog:
    def __init__(
        self, cap: int = 2_000_000, *, hot: int = 50_000, directory: str | Path | None = None
    ) -> None:
        self.cap = cap
        self.hot = max(1, min(hot, cap))
        self._hot: OrderedDict[str, bytes] = OrderedDict()
        self._cold = 0
        self._dir = tempfile.TemporaryDirectory(prefix="riskflow-featurelog-", dir=directory)
        # Made where the flow is built, used on the worker's thread: one caller at a time.
        db = sqlite3.connect(
            Path(self._dir.name) / "log.sqlite3", isolation_level=None, check_same_thread=False
        )
        # Losing the file loses only what a crashed replay would lose anyway: no fsync.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -8192")  # KiB: the page cache stays small
        db.execute(
            "CREATE TABLE log (seq INTEGER PRIMARY KEY, event_id TEXT UNIQUE, blob BLOB NOT NULL)"
        )
        self._db = db
        self.dropped = 0
        """Records lost because the file failed (disk full, I/O error): their labels will
        find no features and be dead-lettered as unmatched, as past the cap."""

    def _failed(self, exc: sqlite3.Error, what: str) -> None:
        if not self.dropped:
            _log.error("feature log on disk: %s failed (%s); such records are dropped", what, exc)

    def __len__(self) -> int:
        return len(self._hot) + self._cold

    def _cold_ids(self, event_ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(event_ids), _QUERY_CHUNK):
            chunk = event_ids[i : i + _QUERY_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = self._db.execute(f"SELECT event_id FROM log WHERE event_id IN ({marks})", chunk)
            found.update(r[0] for r in rows)
        return found

    def put_many(self, records: Iterable[tuple[str, bytes]]) -> None:
        hot = self._hot
        batch = list(records)
        if self._cold:
            try:
                again = self._cold_ids([e for e, _ in batch if e not in hot])
                if again:
                    # Logged before and already on disk: newer bytes, first position kept.
                    self._db.executemany(
                        "UPDATE log SET blob = ? WHERE event_id = ?",
                        [(blob, e) for e, blob in batch if e in again],
                    )
                    batch = [(e, blob) for e, blob in batch if e not in again]
            except sqlite3.Error as exc:
                self._failed(exc, "an update")
        for event_id, blob in batch:
            hot[event_id] = blob
        self._spill()
        self._evict()

    def _spill(self) -> None:
        over = len(self._hot) - self.hot
        if over <= 0:
            return
        hot = self._hot
        moved = [hot.popitem(last=False) for _ in range(over)]
        try:
            self._db.execute("BEGIN")
            self._db.executemany("INSERT INTO log (event_id, blob) VALUES (?, ?)", moved)
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._failed(exc, "a write")
            self.dropped += over
            try:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
            except sqlite3.Error:
                pass  # a broken connection: nothing to roll back on it
            return
        self._cold += over

    def _evict(self) -> None:
        over = len(self) - self.cap
        if over <= 0:
            return
        # Everything on disk was first logged before everything in memory.
        gone = min(over, self._cold)
        if gone:
            try:
                self._db.execute(
                    "DELETE FROM log WHERE seq IN (SELECT seq FROM log ORDER BY seq LIMIT ?)",
                    (gone,),
                )
            except sqlite3.Error as exc:
                self._failed(exc, "an eviction")
            self._cold -= gone
        for _ in range(over - gone):
            self._hot.popitem(last=False)

    def get_many(self, event_ids: Sequence[str]) -> list[bytes | None]:
        hot = self._hot
        out: list[bytes | None] = [hot.get(e) for e in event_ids]
        missing = [e for e, blob in zip(event_ids, out, strict=True) if blob is None]
        if missing and self._cold:
            found: dict[str, bytes] = {}
            try:
                for i in range(0, len(missing), _QUERY_CHUNK):
                    chunk = missing[i : i + _QUERY_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = self._db.execute(
                        f"SELECT event_id, blob FROM log WHERE event_id IN ({marks})", chunk
                    )
                    found.update(rows)
            except sqlite3.Error as exc:
                self._failed(exc, "a read")
            out = [
                found.get(e) if blob is None else blob
                for e, blob in zip(event_ids, out, strict=True)
            ]
        return out

    def close(self) -> None:
        self._db.close()
        self._dir.cleanup()
