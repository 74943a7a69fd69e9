"""The whole flow on files mixing valid events with every hostile message: nothing stops it."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

from bytewax.testing import run_main

from riskflow.connectors.metrics import STATS
from riskflow.flows.config import FileInput, FileOutput, ListsSettings, MetricsSettings, Settings
from riskflow.flows.risk import build_flow
from riskflow.simulator.hostile import CATEGORIES, LATE, hostile_messages, kind_of
from tests.flows.streams import at, login, payment, read_jsonl

FILES = {"payment": "payments.jsonl", "login": "logins.jsonl", "feedback": "feedback.jsonl"}


def test_every_valid_event_is_decided_and_every_hostile_line_dead_lettered(tmp_path: Path):
    rng = random.Random(5)
    valid: dict[str, list[bytes]] = {kind: [] for kind in FILES}
    for i in range(60):
        account = f"A{i % 6}"
        valid["payment"].append(
            json.dumps(payment(f"VP{i}", account, i * 3, rng.uniform(5, 900))).encode()
        )
        valid["login"].append(json.dumps(login(f"VL{i}", account, i * 3 - 1, i % 4 != 0)).encode())
    # A label well after every unknown-event label, so those wait out their hold and go.
    late_label = {"event_id": "VP1", "account_id": "A1", "label": "legit", "ts": at(3 * 24 * 60)}
    valid["feedback"].append(json.dumps(late_label).encode())

    lines: dict[str, list[tuple[str | None, bytes]]] = {
        kind: [(None, line) for line in rows] for kind, rows in valid.items()
    }
    hostile = list(hostile_messages(len(CATEGORIES) * 2, seed=3))
    for category, payload in hostile:
        lines[kind_of(category)].append((category, payload))
    paths: dict[str, Path] = {}
    expected_dead: Counter[tuple[str, int]] = Counter()
    late = 0
    for kind, rows in lines.items():
        rng.shuffle(rows)
        path = paths[kind] = tmp_path / FILES[kind]
        with open(path, "wb") as fh:
            for number, (category, payload) in enumerate(rows, start=1):
                assert b"\n" not in payload
                fh.write(payload + b"\n")
                if category in LATE:
                    late += 1
                elif category is not None:
                    expected_dead[(FILES[kind], number)] += 1

    settings = Settings(
        input=FileInput(
            payments=str(paths["payment"]),
            logins=str(paths["login"]),
            feedback=str(paths["feedback"]),
        ),
        output=FileOutput(directory=str(tmp_path / "out")),
        lists=ListsSettings(path=None),
        metrics=MetricsSettings(enabled=False),
    )
    STATS.reset()
    run_main(build_flow(settings))

    out = tmp_path / "out"
    decided = Counter(d["event_id"] for d in read_jsonl(out / "decisions.jsonl"))
    assert decided == Counter({f"VP{i}": 1 for i in range(60)} | {f"VL{i}": 1 for i in range(60)})

    dead = read_jsonl(out / "deadletter.jsonl")
    from_lines = Counter(
        (d["source_topic"], d["source_offset"]) for d in dead if d["source_offset"] is not None
    )
    assert from_lines == expected_dead
    unmatched = [d for d in dead if d["source_offset"] is None]
    assert late > 0 and len(unmatched) == late
    assert {d["reason"] for d in unmatched} == {"feedback_unmatched"}
    # Named after where the labels came from, like every other dead letter of that file.
    assert {d["source_topic"] for d in unmatched} == {"feedback.jsonl"}
    assert all(len(json.dumps(d)) < 16 * 1024 for d in dead)
    # What the summary shows is what was written, feedback dead letters included.
    assert sum(STATS.deadletters.values()) == len(dead)
