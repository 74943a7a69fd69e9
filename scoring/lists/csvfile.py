"""Risk lists as CSV: the import/export format, and a file-backed list source.

Columns: `entity,value,list,reason,source,created_by,created_at,expires_at,
action,channels,min_amount,suppress` — only `entity` and `value` are
required; `list` defaults to `deny` so a plain deny list
(`entity,value,reason,source`) is valid. `channels` and `suppress` are
`;`-separated. A bad row is reported with its line number and skipped; the
good rows still load.
"""

from __future__ import annotations

import csv
import io
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from riskflow.contract.masking import mask_text
from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import Features
from riskflow.scoring.lists.entries import ListEntry
from riskflow.scoring.lists.index import ListIndex, Screening

__all__ = ["COLUMNS", "FileLists", "RowError", "entries_to_csv", "read_entries"]

log = logging.getLogger(__name__)

COLUMNS = (
    "entity",
    "value",
    "list",
    "reason",
    "source",
    "created_by",
    "created_at",
    "expires_at",
    "action",
    "channels",
    "min_amount",
    "suppress",
)


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    error: str


def _row_to_entry(row: dict[str, str], actor: str, now: str) -> ListEntry:
    data: dict[str, object] = {
        "entity": (row.get("entity") or "").strip(),
        "value": (row.get("value") or "").strip(),
        "list": (row.get("list") or "deny").strip(),
        "reason": (row.get("reason") or "").strip(),
        "source": (row.get("source") or "internal").strip(),
        "created_by": (row.get("created_by") or actor).strip(),
        "created_at": (row.get("created_at") or now).strip(),
    }
    if row.get("expires_at"):
        data["expires_at"] = row["expires_at"].strip()
    if row.get("action"):
        data["action"] = row["action"].strip()
    if row.get("channels"):
        data["channels"] = [c.strip() for c in row["channels"].split(";") if c.strip()]
    if row.get("min_amount"):
        data["min_amount"] = float(row["min_amount"])
    if row.get("suppress"):
        data["suppress"] = [s.strip() for s in row["suppress"].split(";") if s.strip()]
    return msgspec.convert(data, ListEntry).validate()


def read_entries(
    text: str, *, actor: str = "import", now: datetime | None = None
) -> tuple[list[ListEntry], list[RowError]]:
    """Parse CSV text; returns the good entries and the bad rows with line numbers."""
    stamp = (now or datetime.now(UTC)).isoformat()
    entries: list[ListEntry] = []
    errors: list[RowError] = []
    reader = csv.DictReader(io.StringIO(text))
    missing = {"entity", "value"} - set(reader.fieldnames or ())
    if missing:
        return [], [RowError(1, f"header lacks {sorted(missing)}")]
    for row in reader:
        try:
            entries.append(_row_to_entry(row, actor, stamp))
        except (msgspec.ValidationError, ValueError, TypeError) as exc:
            # The file's own line (where the row ends): blank lines and quoted line breaks
            # make it differ from the row count.
            errors.append(RowError(reader.line_num, str(exc)))
    return entries, errors


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def entries_to_csv(entries: list[ListEntry]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for entry in sorted(entries, key=lambda e: e.id):
        writer.writerow([_cell(getattr(entry, "kind" if c == "list" else c)) for c in COLUMNS])
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    yield out.getvalue()


class FileLists:
    """Lists from a CSV file, re-read when it changes: for the demo and backtests."""

    def __init__(self, path: str | Path | None, *, check_interval_s: float = 1.0) -> None:
        self.path = Path(path) if path else None
        self.check_interval_s = check_interval_s
        self._index = ListIndex()
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
            if stamp == self._stamp:
                return
            entries, errors = read_entries(self.path.read_text(encoding="utf-8-sig"))
        except OSError as exc:
            log.warning(
                "lists %s unreadable, keeping the previous copy: %s", self.path, mask_text(str(exc))
            )
            return
        for e in errors:
            log.warning("lists %s line %d skipped: %s", self.path, e.line, mask_text(e.error))
        self._index = ListIndex(entries)
        self._stamp = stamp
        self.reloads += 1

    def current(self, now: float) -> ListIndex:
        if self.path is not None and now >= self._next_check:
            self._next_check = now + self.check_interval_s
            self._reload()
        return self._index

    def screen(self, event: Payment | Login, features: Features, now: float) -> Screening:
        return self.current(now).screen(event, features, now)
