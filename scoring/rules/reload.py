"""The ruleset in force, swapped for a new version when its file changes."""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

from riskflow.scoring.rules.ruleset import (
    Ruleset,
    RulesetError,
    load_ruleset,
    one_line,
    parse_ruleset,
    read_ruleset_file,
)

__all__ = ["RulesetHolder"]

log = logging.getLogger(__name__)


class RulesetHolder:
    """Serves the current ruleset; checks the file's stamp at most once per interval.

    A changed file is loaded and swapped in whole, between two events. A file
    that fails to load, for whatever reason (invalid, too large, too deep, or an
    exception no check foresaw), is logged in one line and counted in
    `rejected`; the previous ruleset stays in force, and the same broken
    content is not retried until it changes again. Only the first load, at
    start-up, raises RulesetError, since there is no previous ruleset to keep.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        check_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
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
        self._ruleset = load_ruleset(self.path)
        self._stamp = self._read_stamp()
        self._next_check = clock() + check_interval_s

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
            self._reject(f"{source}: a ruleset is text, not {type(text).__name__}", None)
            return False
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        if digest == self._rejected_digest:
            return False
        try:
            ruleset = parse_ruleset(text, source=source)
        except RulesetError as exc:
            self._reject(str(exc), digest)
            return False
        except Exception as exc:  # pragma: no cover - parse_ruleset converts everything
            self._reject(f"{source}: cannot load: {type(exc).__name__}: {exc}", digest)
            return False
        self._rejected_digest = None
        self._retired_errors += self._ruleset.evaluation_errors
        self._ruleset = ruleset
        self.reloads += 1
        self.last_error = None
        log.info(
            "%s",
            one_line(
                f"ruleset {ruleset.version} loaded from {source} ({len(ruleset.rules)} rules)"
            ),
        )
        return True

    def _reject(self, error: str, digest: str | None) -> None:
        self.rejected += 1
        self.last_error = one_line(error)
        self._rejected_digest = digest
        log.warning(
            "%s", one_line(f"ruleset rejected, keeping {self._ruleset.version}: {self.last_error}")
        )
