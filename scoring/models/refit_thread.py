"""Where model refits run: in line (replays and tests, so they repeat exactly) or, in a
live process, on a thread of their own so the flow never waits for one.

Kept apart from the models themselves so that turning it on loads no model library.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

__all__ = ["fit_in_background", "refit_executor"]

_BACKGROUND: list[ThreadPoolExecutor] = []


def fit_in_background(on: bool = True) -> None:
    """Refits in a thread from now on (a live flow), or in line again."""
    if on and not _BACKGROUND:
        _BACKGROUND.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="refit"))
    elif not on:
        while _BACKGROUND:
            _BACKGROUND.pop().shutdown(wait=True)


def refit_executor() -> ThreadPoolExecutor | None:
    """The refit thread, or None: refit in line."""
    return _BACKGROUND[0] if _BACKGROUND else None
