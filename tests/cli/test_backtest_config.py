"""`riskflow backtest --config` keeps the config's rules and lists unless an option is given."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from riskflow.simulator.config import SimConfig
from riskflow.simulator.files import write_jsonl

ALWAYS = """\
version: "always-1"
description: one rule that fires on every payment
rules:
  - id: every_payment
    description: fires on every payment
    condition: amount >= 0
    action: review
    severity: low
    reason: EVERY_PAYMENT
    applies_to: [payment]
"""


def _backtest(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "riskflow", "backtest", *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def stream(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("stream")
    write_jsonl(SimConfig(seed=3, customers=100, max_events=600, malformed_rate=0.0), where)
    return where


def test_the_configs_own_rules_file_is_used(tmp_path, stream):
    rules = tmp_path / "always.yaml"
    rules.write_text(ALWAYS)
    config = tmp_path / "c.yaml"
    config.write_text(f"rules: {{path: {rules}}}\n")
    out = tmp_path / "out"
    done = _backtest(
        "--config",
        str(config),
        "--payments",
        str(stream / "payments.jsonl"),
        "--out",
        str(out),
        "--no-models",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    payments = [
        d
        for d in map(json.loads, (out / "decisions.jsonl").read_text().splitlines())
        if d.get("event_type") == "payment"
    ]
    assert payments
    assert all(d["rules_version"] == "always-1" for d in payments)
    assert all(any(r.get("code") == "EVERY_PAYMENT" for r in d["reasons"]) for d in payments)


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("lists: {backend: redis}\n", "lists.backend: redis"),
        ("models: {backend: redis}\n", "models.backend: redis"),
    ],
)
def test_what_a_file_backtest_cannot_use_is_refused_in_one_line(tmp_path, stream, text, named):
    config = tmp_path / "c.yaml"
    config.write_text(text)
    done = _backtest(
        "--config",
        str(config),
        "--payments",
        str(stream / "payments.jsonl"),
        "--out",
        str(tmp_path / "out"),
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0]
