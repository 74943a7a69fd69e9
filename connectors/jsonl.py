"""JSONL files in and out.

In: payments, logins and feedback files merged into one stream in event-time
order, so a backtest delivers each label at its own time and nothing learns
from the future. Out: one JSONL file per output stream.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import msgspec
from bytewax.connectors.files import FileSink

from riskflow.connectors.iterated import IteratedSource, RawIterator
from riskflow.contract.parse import EARLIEST, LATEST, MAX_DEPTH, MAX_MESSAGE_BYTES, nesting_depth

__all__ = ["OUTPUT_FILES", "file_sinks", "merged_lines", "replay_source"]

OUTPUT_FILES = {
    "decisions": "decisions.jsonl",
    "alerts": "alerts.jsonl",
    "notifications": "notifications.jsonl",
    "deadletter": "deadletter.jsonl",
}

# At equal event time a login precedes the payment it enables, and a label
# comes after the event it is about.
_KIND_ORDER = {"login": 0, "payment": 1, "feedback": 2}


class _Stamp(msgspec.Struct):
    ts: datetime | None = None


_stamp = msgspec.json.Decoder(_Stamp)


def _event_time(line: bytes) -> float | None:
    """The line's usable event time, or None; never raises, whatever the line holds."""
    # Lines parse would reject unread are not decoded here either (msgspec recurses once
    # per level of nesting, even through fields it skips).
    if len(line) > MAX_MESSAGE_BYTES:
        return None
    brackets = line.count(b"{") + line.count(b"[")
    if brackets > MAX_DEPTH and nesting_depth(line) > MAX_DEPTH:
        return None
    try:
        stamp = _stamp.decode(line).ts
        if stamp is None or stamp.tzinfo is None:
            return None
        t = stamp.timestamp()
    except Exception:  # any line: this pass only orders, parse says what is wrong
        return None
    # Out of range it would only carry its neighbours off to a far end of the replay.
    return t if EARLIEST <= t < LATEST else None


def _keyed_lines(kind: str, path: Path) -> list[tuple[float, int, int, bytes]]:
    keyed: list[tuple[float, int, int, bytes]] = []
    last = float("-inf")
    order = _KIND_ORDER[kind]
    with open(path, "rb") as fh:
        for i, line in enumerate(fh):
            line = line.rstrip(b"\r\n")
            # Unreadable, untimed and blank lines keep their place so they are
            # dead-lettered in context (a blank line as `empty`: nothing vanishes).
            t = _event_time(line) if line.strip() else None
            if t is not None:
                last = t
            keyed.append((last, order, i, line))
    keyed.sort()
    return keyed


def _tagged(kind: str, path: Path) -> Iterator[tuple[float, int, int, bytes, str, str]]:
    for key, order, index, line in _keyed_lines(kind, path):
        yield key, order, index, line, kind, path.name


def merged_lines(paths: dict[str, Path]) -> Iterator[tuple[str, bytes, str, int | None]]:
    """(kind, line, file name, line number) for all files, in event-time order."""
    streams = [_tagged(kind, path) for kind, path in paths.items()]
    for _key, _order, index, line, kind, name in heapq.merge(*streams):
        yield kind, line, name, index + 1


def replay_source(
    paths: dict[str, Path], *, rate: float | None = None, batch_size: int = 1000
) -> IteratedSource:
    def factory() -> RawIterator:
        return merged_lines(paths)

    return IteratedSource("replay", factory, batch_size=batch_size, rate=rate)


def file_sinks(directory: Path) -> dict[str, FileSink]:
    directory.mkdir(parents=True, exist_ok=True)
    return {name: FileSink(directory / fname) for name, fname in OUTPUT_FILES.items()}
