"""`riskflow bench hostile`: a corpus of hostile messages mixed into a bank's stream, replayed.

Valid events come from the simulated bank; hostile ones from `simulator.hostile`, every
category in turn, each written at a random line of its contract's file. The replay runs
the production flow over the files and the books are balanced line by line: every valid
payment and login exactly one decision, every hostile line exactly one dead letter with
a reason, nothing else.
"""

from __future__ import annotations

import random
import resource
import time
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
from bytewax.testing import run_main

from flows.config import FileInput, FileOutput, ListsSettings, MetricsSettings, Settings
from flows.risk import build_flow
from simulator.config import SimConfig
from simulator.files import write_jsonl
from simulator.hostile import LATE, hostile_messages, kind_of

__all__ = ["bench_hostile"]

_FILES = {"payment": "payments.jsonl", "login": "logins.jsonl", "feedback": "feedback.jsonl"}


class _Id(msgspec.Struct):
    event_id: str


class _Dead(msgspec.Struct):
    reason: str
    source_topic: str | None = None
    source_offset: int | None = None


def _mix(work: Path, hostile: int, customers: int, days: float, seed: int) -> dict[str, Any]:
    sim = work / "sim"
    write_jsonl(SimConfig(seed=seed, customers=customers, days=days, malformed_rate=0.0), sim)
    rng = random.Random(seed)
    lines: dict[str, list[tuple[str | None, bytes]]] = {}
    for kind, name in _FILES.items():
        with open(sim / name, "rb") as fh:
            lines[kind] = [(None, line.rstrip(b"\n")) for line in fh]
    valid_ids = Counter(
        msgspec.json.decode(line, type=_Id).event_id
        for kind in ("payment", "login")
        for _, line in lines[kind]
    )
    categories: Counter[str] = Counter()
    for category, payload in hostile_messages(hostile, seed):
        lines[kind_of(category)].append((category, payload))
        categories[category] += 1
    expected: Counter[tuple[str, int]] = Counter()
    for kind, rows in lines.items():
        # Valid events keep their order (a replay is in event time); hostile lines go anywhere.
        valid = [row for row in rows if row[0] is None]
        keyed = [(float(i), row) for i, row in enumerate(valid)]
        keyed += [(rng.uniform(0, len(valid)), row) for row in rows if row[0] is not None]
        keyed.sort(key=lambda kr: kr[0])
        with open(work / _FILES[kind], "wb") as fh:
            for number, (_, (cat, payload)) in enumerate(keyed, start=1):
                fh.write(payload + b"\n")
                if cat is not None and cat not in LATE:
                    expected[(_FILES[kind], number)] += 1
    late = sum(n for c, n in categories.items() if c in LATE)
    return {"valid": valid_ids, "expected": expected, "late": late, "categories": categories}


def bench_hostile(
    work: Path, *, hostile: int = 100_000, customers: int = 3000, days: float = 10.0, seed: int = 9
) -> dict[str, Any]:
    corpus = _mix(work, hostile, customers, days, seed)
    settings = Settings(
        input=FileInput(
            payments=str(work / "payments.jsonl"),
            logins=str(work / "logins.jsonl"),
            feedback=str(work / "feedback.jsonl"),
        ),
        output=FileOutput(directory=str(work / "out")),
        lists=ListsSettings(path=None),
        metrics=MetricsSettings(enabled=False),
    )
    started = time.perf_counter()
    run_main(build_flow(settings))
    seconds = time.perf_counter() - started
    out = work / "out"
    decided: Counter[str] = Counter()
    with open(out / "decisions.jsonl", "rb") as fh:
        for line in fh:
            decided[msgspec.json.decode(line, type=_Id).event_id] += 1
    from_lines: Counter[tuple[str, int]] = Counter()
    unmatched = 0
    reasons: Counter[str] = Counter()
    with open(out / "deadletter.jsonl", "rb") as fh:
        for line in fh:
            d = msgspec.json.decode(line, type=_Dead)
            reasons[d.reason] += 1
            if d.source_offset is None:
                unmatched += d.reason == "feedback_unmatched"
            elif d.source_topic is not None:
                from_lines[(d.source_topic, d.source_offset)] += 1
    valid: Counter[str] = corpus["valid"]
    expected: Counter[tuple[str, int]] = corpus["expected"]
    return {
        "benchmark": "hostile",
        "hostile_messages": hostile,
        "categories": len(corpus["categories"]),
        "valid_events": len(valid),
        "valid_decided_once": sum(1 for e in valid if decided.get(e) == 1),
        "valid_not_decided": sum(1 for e in valid if e not in decided),
        "decided_more_than_once": sum(1 for n in decided.values() if n > 1),
        "decisions_for_no_valid_event": sum(n for e, n in decided.items() if e not in valid),
        "hostile_lines_dead_lettered_once": sum(1 for k in expected if from_lines.get(k) == 1),
        "hostile_lines_expected": len(expected),
        "dead_letters_for_valid_lines": sum(n for k, n in from_lines.items() if k not in expected),
        "late_labels_dead_lettered": f"{unmatched} of {corpus['late']}",
        "reasons": dict(reasons.most_common()),
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
