"""The audit trail of what decides: ruleset loads and refusals, model promotions.

One record per change with who, when and what, written where the lists' audit already is
when the flow has Redis, and otherwise to a JSONL file:

- `{prefix}:audit` stream in Redis, next to `{prefix}:lists:audit`, never trimmed;
- or `audit.path`, one JSON object a line, appended (the run's output directory's
  `audit.jsonl` for file outputs when no path is set).

Every record has `op`, `actor` (who: `audit.actor`, else `RISKFLOW_ACTOR`, else the
process's user), `process` (host and pid: which process saw the change) and `at` (UTC);
then what changed. A record that cannot be written is logged in full instead, in one line:
an audit outage must not stop the flow, and the change is not lost.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import socket
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import redis

__all__ = [
    "ACTOR_ENV",
    "AuditTrail",
    "FileAudit",
    "LogAudit",
    "RedisAudit",
    "audit_actor",
    "audit_key",
    "process_identity",
]

log = logging.getLogger(__name__)

ACTOR_ENV = "RISKFLOW_ACTOR"
"""Who the audit records of this process name, when `audit.actor` does not."""


def audit_actor(configured: str | None = None) -> str:
    if configured:
        return configured
    if named := os.environ.get(ACTOR_ENV):
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def process_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def audit_key(prefix: str) -> str:
    return f"{prefix}:audit"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class AuditTrail(Protocol):
    def record(self, op: str, **what: str) -> None:
        """Write one record; never raises."""
        ...


class _Trail:
    def __init__(self, actor: str | None = None) -> None:
        self.actor = audit_actor(actor)
        self.process = process_identity()

    def _fields(self, op: str, what: dict[str, str]) -> dict[str, str]:
        return {"op": op, "actor": self.actor, "process": self.process, "at": _now_iso(), **what}

    def record(self, op: str, **what: str) -> None:
        fields = self._fields(op, what)
        try:
            self._write(fields)
        except Exception as exc:  # an audit outage must not stop the flow, nor lose the record
            log.error("audit record not written (%s): %s", type(exc).__name__, json.dumps(fields))

    def _write(self, fields: dict[str, str]) -> None:
        raise NotImplementedError


class RedisAudit(_Trail):
    """Records in the `{prefix}:audit` stream, read with XRANGE like the lists' audit."""

    def __init__(self, client: redis.Redis, prefix: str, actor: str | None = None) -> None:
        super().__init__(actor)
        self.client = client
        self.key = audit_key(prefix)

    def _write(self, fields: dict[str, str]) -> None:
        entry: dict[Any, Any] = dict(fields)
        self.client.xadd(self.key, entry)

    def records(self) -> list[dict[str, str]]:
        """Every record, oldest first."""
        entries: Any = self.client.xrange(self.key)
        return [
            {"id": rid.decode()} | {k.decode(): v.decode() for k, v in fields.items()}
            for rid, fields in entries
        ]


class FileAudit(_Trail):
    """Records appended to a JSONL file, one line each, flushed at once."""

    def __init__(self, path: str | Path, actor: str | None = None) -> None:
        super().__init__(actor)
        self.path = Path(path)
        self._lock = threading.Lock()

    def _write(self, fields: dict[str, str]) -> None:
        line = json.dumps(fields, ensure_ascii=False) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One write of one line in append mode: processes sharing the file do not
            # interleave their records.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)

    def records(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]


class LogAudit(_Trail):
    """Neither Redis nor a file: the records are log lines."""

    def _write(self, fields: dict[str, str]) -> None:
        log.warning("audit: %s", json.dumps(fields))
