"""The deny list: accounts, payees, devices and IPs that must not transact.

A CSV file (`entity,value,reason,source`) re-read when it changes. A later
release replaces it with a shared list service; screening keeps this interface.
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from contract.messages import Login, Payment, Reason
from features.catalog import Features

__all__ = ["ENTITIES", "DenyList", "DenyListFile", "ListEntry"]

log = logging.getLogger(__name__)

ENTITIES: Final = ("account", "payee", "device", "ip")


@dataclass(frozen=True, slots=True)
class ListEntry:
    entity: str
    value: str
    reason: str
    source: str

    def as_reason(self) -> Reason:
        return Reason(
            f"LISTED_{self.entity.upper()}",
            f"{self.entity} {self.value} is on the deny list ({self.source}): {self.reason}",
        )


@dataclass(frozen=True)
class DenyList:
    by_entity: dict[str, dict[str, ListEntry]] = field(
        default_factory=lambda: {e: {} for e in ENTITIES}
    )

    @classmethod
    def from_rows(cls, rows: list[dict[str, str]]) -> DenyList:
        lists: dict[str, dict[str, ListEntry]] = {e: {} for e in ENTITIES}
        for row in rows:
            entry = ListEntry(
                row["entity"].strip(),
                row["value"].strip(),
                row.get("reason", "") or "",
                row.get("source", "") or "internal",
            )
            lists[entry.entity][entry.value] = entry
        return cls(lists)

    @classmethod
    def load(cls, path: str | Path) -> DenyList:
        rows: list[dict[str, str]] = []
        with open(path, newline="", encoding="utf-8") as fh:
            for line_no, row in enumerate(csv.DictReader(fh), start=2):
                if row.get("entity", "").strip() not in ENTITIES or not row.get("value"):
                    log.warning("deny list %s line %d skipped: %r", path, line_no, row)
                    continue
                rows.append(row)
        return cls.from_rows(rows)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_entity.values())

    def screen(self, event: Payment | Login, features: Features) -> list[ListEntry]:
        """Set the `*_listed` features for the event and return the entries hit."""
        lists = self.by_entity
        hits: list[ListEntry] = []
        candidates = (
            ("account", event.account_id),
            ("payee", event.payee_account if isinstance(event, Payment) else None),
            ("device", event.device_id),
            ("ip", event.ip),
        )
        for entity, value in candidates:
            entry = lists[entity].get(value) if value is not None else None
            features[f"{entity}_listed"] = entry is not None
            if entry is not None:
                hits.append(entry)
        return hits


class DenyListFile:
    """The deny list from a file, re-read when the file changes (checked at most every second)."""

    def __init__(self, path: str | Path | None, *, check_interval_s: float = 1.0) -> None:
        self.path = Path(path) if path else None
        self.check_interval_s = check_interval_s
        self._list = DenyList()
        self._stamp: tuple[float, int] | None = None
        self._next_check = 0.0
        self.reloads = 0
        if self.path is not None:
            self._reload()

    def _reload(self) -> None:
        assert self.path is not None
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime, st.st_size)
            if stamp != self._stamp:
                self._list = DenyList.load(self.path)
                self._stamp = stamp
                self.reloads += 1
        except OSError as exc:
            log.warning("deny list %s unreadable, keeping the previous one: %s", self.path, exc)

    def current(self, now: float) -> DenyList:
        if self.path is not None and now >= self._next_check:
            self._next_check = now + self.check_interval_s
            self._reload()
        return self._list
