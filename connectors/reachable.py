"""Waiting, bounded, for a service the flow needs at start."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["wait_until"]


def wait_until(
    probe: Callable[[float], str | None],
    *,
    what: str,
    timeout_s: float,
    unreachable: Callable[[str], Exception],
    waiting: Callable[[str], None] | None = None,
) -> None:
    """Call `probe(step_timeout)` until it returns None (reachable), backing off from 0.25 s
    to 5 s; after `timeout_s` raise `unreachable(message)` with the last reason it gave.

    `waiting` is told once, on the first failure, so an operator sees why the start pauses.
    """
    deadline = time.monotonic() + timeout_s
    backoff = 0.25
    while True:
        reason = probe(max(min(deadline - time.monotonic(), 5.0), 0.1))
        if reason is None:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise unreachable(f"cannot reach {what} after {timeout_s:g} s ({reason})")
        if waiting is not None:
            waiting(f"{what} is not answering; retrying for up to {timeout_s:g} s")
            waiting = None
        time.sleep(min(backoff, remaining))
        backoff = min(backoff * 2, 5.0)
