"""The ruleset in force, swapped for a new version when its file changes."""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from riskflow.scoring.rules.ruleset import (
    Ruleset,
    RulesetError,
    load_ruleset,
    one_line,
    parse_ruleset,
    read_ruleset_file,
)

__all__ = ["Auditor", "RulesetHolder"]

log = logging.getLogger(__name__)


class Auditor(Protocol):
    """Where a ruleset change is recorded (`connectors.audit`); `record` never raises."""

    def record(self, op: str, **what: str) -> None: ...


def _owner(path: Path) -> str:
    """Who owns the file: riskflow cannot know who edited it, its owner is the nearest."""
    try:
        uid = path.stat().st_uid
    except OSError:
        return ""
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


class RulesetHolder:
    """Serves the current ruleset; checks the file's stamp at most once per interval.

    A changed file is loaded and swapped in whole, between two events. A file
    that fails to load, for whatever reason (invalid, too large, too deep, or an
    exception no check foresaw), is logged in one line and counted in
    `rejected`; the previous ruleset stays in force, and the same broken
    content is not retried until it changes again. Only the first load, at
    start-up, raises RulesetError, since there is no previous ruleset to keep.

    With an `audit`, every load (the first included) and every refusal is recorded: the
    version, the previous one, the sha256 of the text, where it came from and its owner.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        check_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        audit: Auditor | None = None,
    ) -> None:
        self.path = Path(path)
        self.check_interval_s = check_interval_s
        self._clock = clock
        self._stamp: tuple[int, int, float] | None = None
        self._rejected_digest: str | None = None
        self._next_check = 0.0
        self.reloads = 0
        self.rejected = 0
        self.last_error: str | None = None
        self._retired_errors = 0
        self._audit = audit
        self._ruleset = load_ruleset(self.path)
        self._stamp = self._read_stamp()
        self._next_check = clock() + check_interval_s
        if audit is not None:
            audit.record(
                "ruleset_loaded",
                version=self._ruleset.version,
                previous="",
                sha256=_file_digest(self.path),
                source=str(self.path),
                owner=_owner(self.path),
                rules=str(len(self._ruleset.rules)),
            )

    @property
    def version(self) -> str:
        return self._ruleset.version

    @property
    def evaluation_errors(self) -> int:
        """Rule evaluations that raised (and were skipped), over every version served."""
        return self._retired_errors + self._ruleset.evaluation_errors

    def _read_stamp(self) -> tuple[int, int, float] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime)

    def current(self) -> Ruleset:
        now = self._clock()
        if now >= self._next_check:
            self._next_check = now + self.check_interval_s
            stamp = self._read_stamp()
            if stamp is not None and stamp != self._stamp:
                self._stamp = stamp
                self._reload_file()
        return self._ruleset

    def _reload_file(self) -> None:
        try:
            text = read_ruleset_file(self.path)
        except RulesetError as exc:
            self._reject(str(exc), None)
            return
        self.replace_text(text, source=str(self.path))

    def replace_text(self, text: str, *, source: str = "<control>") -> bool:
        """Load a ruleset from text (a file or a control message); False if rejected.

        Never raises: whatever goes wrong is a rejection.
        """
        if not isinstance(text, str):
            self._reject(f"{source}: a ruleset is text, not {type(text).__name__}", None, source)
            return False
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if digest == self._rejected_digest:
            return False
        try:
            ruleset = parse_ruleset(text, source=source)
        except RulesetError as exc:
            self._reject(str(exc), digest, source)
            return False
        except Exception as exc:  # pragma: no cover - parse_ruleset converts everything
            self._reject(f"{source}: cannot load: {type(exc).__name__}: {exc}", digest, source)
            return False
        self._rejected_digest = None
        self._retired_errors += self._ruleset.evaluation_errors
        previous, self._ruleset = self._ruleset, ruleset
        self.reloads += 1
        self.last_error = None
        log.info(
            "%s",
            one_line(
                f"ruleset {ruleset.version} loaded from {source} ({len(ruleset.rules)} rules)"
            ),
        )
        if self._audit is not None:
            self._audit.record(
                "ruleset_loaded",
                version=ruleset.version,
                previous=previous.version,
                sha256=digest,
                source=source,
                owner=self._source_owner(source),
                rules=str(len(ruleset.rules)),
            )
        return True

    def _source_owner(self, source: str) -> str:
        return _owner(self.path) if source == str(self.path) else ""

    def _reject(self, error: str, digest: str | None, source: str | None = None) -> None:
        self.rejected += 1
        self.last_error = one_line(error)
        self._rejected_digest = digest
        log.warning(
            "%s", one_line(f"ruleset rejected, keeping {self._ruleset.version}: {self.last_error}")
        )
        if self._audit is not None:
            where = source if source is not None else str(self.path)
            self._audit.record(
                "ruleset_refused",
                version="",
                previous=self._ruleset.version,
                sha256=digest or "",
                source=where,
                owner=self._source_owner(where),
                error=self.last_error,
            )


def _file_digest(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return ""
