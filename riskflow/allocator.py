"""Which memory allocator the process runs on, and the environment that picks jemalloc.

A long-running flow frees and reallocates the same few hundred megabytes all day in
blocks of every size, from Python, bytewax's Rust and librdkafka alike. glibc's
allocator keeps the holes this leaves and grows its heap around them (measured in the
soak, docs/performance.md: RSS rising for as long as the run, with the memory in use
flat); jemalloc, with every Python allocation routed to it and freed pages returned
after a second, stays flat. An allocator is chosen before a process starts, so this is
an environment for `riskflow run` (the container image sets it), not a setting.
"""

from __future__ import annotations

import ctypes.util
from pathlib import Path

__all__ = ["JEMALLOC_CONF", "AllocatorUnavailable", "allocator_env", "running_allocator"]

JEMALLOC_CONF = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"
"""Return freed pages to the system after a second, from jemalloc's own thread."""

_ALLOCATORS = ("jemalloc", "system")


class AllocatorUnavailable(RuntimeError):
    """The allocator asked for is not installed; the message is one line."""


def _jemalloc_library() -> str | None:
    name = ctypes.util.find_library("jemalloc")
    if name is None:
        return None
    # The soname (`libjemalloc.so.2`) is what the dynamic loader looks up in LD_PRELOAD.
    return name


def allocator_env(allocator: str) -> dict[str, str]:
    """Variables to add to a child process's environment so it runs on `allocator`."""
    if allocator not in _ALLOCATORS:
        raise AllocatorUnavailable(
            f"unknown allocator {allocator!r}: choose one of {', '.join(_ALLOCATORS)}"
        )
    if allocator == "system":
        return {}
    library = _jemalloc_library()
    if library is None:
        raise AllocatorUnavailable(
            "jemalloc is not installed (Debian: libjemalloc2); install it or use the "
            "system allocator"
        )
    # PYTHONMALLOC=malloc: Python's own small-object arenas would otherwise sit beside
    # jemalloc's and keep their pages.
    return {"LD_PRELOAD": library, "PYTHONMALLOC": "malloc", "MALLOC_CONF": JEMALLOC_CONF}


def running_allocator(maps: Path = Path("/proc/self/maps")) -> str:
    """`jemalloc` when this process has it loaded, else `system`."""
    try:
        text = maps.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "system"
    return "jemalloc" if "libjemalloc" in text else "system"
