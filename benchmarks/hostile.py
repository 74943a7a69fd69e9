"""`riskflow bench hostile`: a corpus of hostile messages mixed into a bank's stream, replayed.

Valid events come from the simulated bank; hostile ones from `simulator.hostile`, every
category in turn, each put at a random place among its contract's valid messages. The
corpus (`build_corpus`) and the books (`Books`) are shared by both ways of sending it: as
files through the production flow in this process (`bench_hostile`, here), or through
Kafka to `riskflow run` (`benchmarks.hostile_kafka`). The books balance message by message:
every valid payment and login exactly one decision, every hostile message exactly one dead
letter with a reason, nothing else.
"""

from __future__ import annotations

import hashlib
import random
import re
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from bytewax.testing import run_main

from riskflow.flows.config import FileInput, FileOutput, ListsSettings, MetricsSettings, Settings
from riskflow.flows.risk import build_flow
from riskflow.simulator.config import SimConfig
from riskflow.simulator.files import write_jsonl
from riskflow.simulator.hostile import LATE, hostile_messages, kind_of

__all__ = ["FILES", "Books", "Corpus", "SourceKey", "bench_hostile", "build_corpus"]

FILES = {"payment": "payments.jsonl", "login": "logins.jsonl", "feedback": "feedback.jsonl"}

SourceKey = tuple[str, int | None, int]
"""Where a message was read: (topic or file name, partition or None, offset or line)."""


class _Id(msgspec.Struct):
    event_id: str


class _Dead(msgspec.Struct):
    reason: str
    source_topic: str | None = None
    source_partition: int | None = None
    source_offset: int | None = None
    payload: str = ""


_decode_id = msgspec.json.Decoder(_Id).decode
_decode_dead = msgspec.json.Decoder(_Dead).decode
# What in a dead letter is the clock when it was written, not the message: its `ts`, and
# the live window a timestamp was judged against.
_DEAD_CLOCK = re.compile(rb',"ts":"[^"]*"|window \[[^)\]]*\)')


def _digest(value: bytes) -> bytes:
    return hashlib.blake2b(value, digest_size=16).digest()


@dataclass
class Corpus:
    """The mixed stream: for each contract its messages in order, hostile ones by category."""

    rows: dict[str, list[tuple[str | None, bytes]]]
    """kind -> (category, or None for a valid message; the raw bytes), in sending order."""
    valid_ids: set[str]
    """event_ids of the valid payments and logins: each must be decided exactly once."""
    categories: Counter[str]
    late_ids: set[str]
    """event_ids of the `LATE` labels: valid at parse, dead-lettered by the learner."""


def build_corpus(work: Path, hostile: int, customers: int, days: float, seed: int) -> Corpus:
    """The simulated bank (written under `work/sim`) with `hostile` messages mixed in."""
    sim = work / "sim"
    write_jsonl(SimConfig(seed=seed, customers=customers, days=days, malformed_rate=0.0), sim)
    rng = random.Random(seed)
    lines: dict[str, list[tuple[str | None, bytes]]] = {}
    for kind, name in FILES.items():
        with open(sim / name, "rb") as fh:
            lines[kind] = [(None, line.rstrip(b"\n")) for line in fh]
    valid_ids = {
        _decode_id(line).event_id for kind in ("payment", "login") for _, line in lines[kind]
    }
    categories: Counter[str] = Counter()
    late_ids: set[str] = set()
    for category, payload in hostile_messages(hostile, seed):
        lines[kind_of(category)].append((category, payload))
        categories[category] += 1
        if category in LATE:
            late_ids.add(_decode_id(payload).event_id)
    rows: dict[str, list[tuple[str | None, bytes]]] = {}
    for kind, kind_rows in lines.items():
        # Valid events keep their order (a replay is in event time); hostile ones go anywhere.
        valid = [row for row in kind_rows if row[0] is None]
        keyed = [(float(i), row) for i, row in enumerate(valid)]
        keyed += [(rng.uniform(0, len(valid)), row) for row in kind_rows if row[0] is not None]
        keyed.sort(key=lambda kr: kr[0])
        rows[kind] = [row for _, row in keyed]
    return Corpus(rows, valid_ids, categories, late_ids)


@dataclass
class Books:
    """Every decision and dead letter that came out, held against the corpus that went in.

    `expected` maps where each hostile message was read (`SourceKey`) to its category; the
    `LATE` labels are not in it (their dead letter names no source offset) and are matched by
    their event_id instead. A repeat (after a restart replays an epoch) is counted apart, and
    whether it is the same bytes as the first: decisions must be; dead letters may differ
    only in the clock when each was written (`ts`, and the live window in a timestamp's error).
    """

    corpus: Corpus
    expected: dict[SourceKey, str]
    decided: Counter[str] = field(default_factory=Counter)
    decision_repeats_differing: int = 0
    dead: Counter[SourceKey] = field(default_factory=Counter)
    dead_repeats_differing: int = 0
    dead_clock_only: int = 0
    late: Counter[str] = field(default_factory=Counter)
    unmatched_valid_labels: int = 0
    no_source: int = 0
    no_reason: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    outputs: int = 0
    _decision_digest: dict[str, bytes] = field(default_factory=dict)
    _dead_digest: dict[SourceKey, tuple[bytes, bytes]] = field(default_factory=dict)

    def decision(self, value: bytes) -> None:
        self.outputs += 1
        event_id = _decode_id(value).event_id
        self.decided[event_id] += 1
        digest = _digest(value)
        first = self._decision_digest.setdefault(event_id, digest)
        self.decision_repeats_differing += first != digest

    def dead_letter(self, value: bytes) -> None:
        self.outputs += 1
        d = _decode_dead(value)
        self.reasons[d.reason] += 1
        self.no_reason += not d.reason
        if d.source_offset is None or d.source_topic is None:
            if d.reason == "feedback_unmatched":
                event_id = _decode_id(d.payload.encode()).event_id
                if event_id in self.corpus.late_ids:
                    self.late[event_id] += 1
                else:
                    self.unmatched_valid_labels += 1
            else:
                self.no_source += 1
            return
        key = (d.source_topic, d.source_partition, d.source_offset)
        self.dead[key] += 1
        digests = (_digest(value), _digest(_DEAD_CLOCK.sub(b"", value)))
        first = self._dead_digest.setdefault(key, digests)
        if first[0] != digests[0]:
            if first[1] == digests[1]:
                self.dead_clock_only += 1
            else:
                self.dead_repeats_differing += 1

    def valid_decided(self) -> int:
        return sum(1 for e in self.corpus.valid_ids if e in self.decided)

    def hostile_dead_lettered(self, kinds: set[str] | None = None) -> int:
        """Hostile messages (of `kinds`, default all) with at least one dead letter."""
        return sum(
            1
            for key, category in self.expected.items()
            if key in self.dead and (kinds is None or kind_of(category) in kinds)
        )

    def expected_of(self, kinds: set[str]) -> int:
        return sum(1 for category in self.expected.values() if kind_of(category) in kinds)

    def figures(self) -> dict[str, Any]:
        valid = self.corpus.valid_ids
        decided = self.decided
        once = [k for k in self.expected if self.dead.get(k) == 1]
        return {
            "hostile_messages": sum(self.corpus.categories.values()),
            "categories": len(self.corpus.categories),
            "valid_events": len(valid),
            "valid_decided_once": sum(1 for e in valid if decided.get(e) == 1),
            "valid_not_decided": sum(1 for e in valid if e not in decided),
            "decided_more_than_once": sum(1 for n in decided.values() if n > 1),
            "decision_repeats_not_byte_identical": self.decision_repeats_differing,
            "decisions_for_no_valid_event": sum(n for e, n in decided.items() if e not in valid),
            "hostile_dead_lettered_once": len(once),
            "hostile_expected": len(self.expected),
            "hostile_not_dead_lettered": sum(1 for k in self.expected if k not in self.dead),
            "hostile_dead_lettered_more_than_once": sum(
                1 for k in self.expected if self.dead.get(k, 0) > 1
            ),
            "dead_letter_repeats_differing_in_clock_only": self.dead_clock_only,
            "dead_letter_repeats_otherwise_different": self.dead_repeats_differing,
            "dead_letters_for_valid_messages": sum(
                n for k, n in self.dead.items() if k not in self.expected
            ),
            "dead_letters_without_reason": self.no_reason,
            "dead_letters_without_source": self.no_source,
            "late_labels": len(self.corpus.late_ids),
            "late_labels_dead_lettered": len(self.late),
            "late_labels_dead_lettered_more_than_once": sum(1 for n in self.late.values() if n > 1),
            "valid_labels_dead_lettered_unmatched": self.unmatched_valid_labels,
            "reasons": dict(self.reasons.most_common()),
        }


def _write_files(work: Path, corpus: Corpus) -> dict[SourceKey, str]:
    """The corpus as one JSONL file per contract; where each hostile line landed."""
    expected: dict[SourceKey, str] = {}
    for kind, rows in corpus.rows.items():
        with open(work / FILES[kind], "wb") as fh:
            for number, (category, payload) in enumerate(rows, start=1):
                fh.write(payload + b"\n")
                if category is not None and category not in LATE:
                    expected[(FILES[kind], None, number)] = category
    return expected


def bench_hostile(
    work: Path, *, hostile: int = 100_000, customers: int = 3000, days: float = 10.0, seed: int = 9
) -> dict[str, Any]:
    corpus = build_corpus(work, hostile, customers, days, seed)
    books = Books(corpus, _write_files(work, corpus))
    # The payloads are on disk now; kept, they would only weigh on the replay's peak RSS.
    corpus.rows.clear()
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
    with open(out / "decisions.jsonl", "rb") as fh:
        for line in fh:
            books.decision(line.rstrip(b"\n"))
    with open(out / "deadletter.jsonl", "rb") as fh:
        for line in fh:
            books.dead_letter(line.rstrip(b"\n"))
    return {
        "benchmark": "hostile (files)",
        **books.figures(),
        "seconds": round(seconds, 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
