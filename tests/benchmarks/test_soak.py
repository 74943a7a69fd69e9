"""The soak harness: its load, its arithmetic, and one short soak of the live flow on Kafka."""

from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

import msgspec
from typer.testing import CliRunner

from riskflow.benchmarks.soak import read_rss_mib, slope_per_hour
from riskflow.benchmarks.soak_load import SteadyLoad
from riskflow.cli import app
from riskflow.contract.messages import Feedback, Login, Payment

_KINDS = {"payment": Payment, "login": Login, "feedback": Feedback}


def test_the_load_visits_every_account_in_turn_with_valid_messages() -> None:
    load = SteadyLoad(300, tag="t", seed=3, open_visits=8, label_delay_s=5.0)
    accounts: set[str] = set()
    payments: dict[str, float] = {}
    labels: list[tuple[str, float]] = []
    for k in range(3000):
        now = 1_700_000_000.0 + k * 0.01
        kind, key, payload = load.next_message(now)
        message = msgspec.json.decode(payload, type=_KINDS[kind])
        assert message.account_id == key
        if kind == "feedback":
            labels.append((message.event_id, now))
        else:
            accounts.add(key)
            if kind == "payment":
                payments.setdefault(message.event_id, now)
    assert accounts == {f"A{i:07d}" for i in range(300)}
    assert load.accounts_seen == 300
    assert labels, "a share of payments gets a label"
    for event_id, at in labels:
        # Every label is about a payment sent, and comes at least the delay after it.
        assert at - payments[event_id] >= 5.0


def test_accounts_within_counts_only_the_recent_visits() -> None:
    load = SteadyLoad(10_000, tag="t", open_visits=1)
    for k in range(400):
        load.next_message(float(k))
    # Asked as the soak asks: one span, time going forward (older visits are let go).
    assert load.accounts_within(1000.0, 399.0) == load.accounts_seen
    recent = load.accounts_within(50.0, 399.0)
    assert 0 < recent < load.accounts_seen


def test_slope_per_hour_is_least_squares() -> None:
    line = [(t, 100.0 + 3.0 * t / 3600.0) for t in range(0, 7200, 60)]
    assert math.isclose(slope_per_hour(line), 3.0)
    # Symmetric noise around a flat line leaves it flat.
    noisy = [(60.0 * k, 50.0 + (1.0 if k % 2 else -1.0)) for k in range(120)]
    assert abs(slope_per_hour(noisy)) < 0.2
    assert slope_per_hour([(0.0, 1.0)]) == 0.0


def test_rss_is_read_from_proc() -> None:
    rss = read_rss_mib(os.getpid())
    assert 1.0 < rss < 1 << 20


def test_soak_without_a_broker_is_one_line() -> None:
    # None unsets the variable for the invocation.
    env: dict[str, str | None] = {"KAFKA_BOOTSTRAP_SERVERS": None}
    result = CliRunner().invoke(app, ["bench", "soak", "--minutes", "0.1"], env=env)
    assert result.exit_code == 2
    assert "KAFKA_BOOTSTRAP_SERVERS" in result.output
    assert "Traceback" not in result.output


def test_soak_with_an_unknown_allocator_is_one_line() -> None:
    result = CliRunner().invoke(
        app, ["bench", "soak", "--allocator", "tcmalloc", "--bootstrap", "127.0.0.1:1"]
    )
    assert result.exit_code == 2
    assert "unknown allocator 'tcmalloc'" in result.output
    assert "Traceback" not in result.output


def test_a_short_soak_samples_the_flow_and_stops_it_cleanly(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    out = tmp_path / "soak"
    summary_path = tmp_path / "soak.json"
    # What an earlier soak in the same directory leaves: its recovery, for other topics.
    (out / "recovery").mkdir(parents=True)
    (out / "recovery" / "part-0.sqlite3").write_bytes(b"an earlier soak's partition")
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "soak",
            "--minutes",
            "0.5",
            "--accounts",
            "1000",
            "--rate",
            "200",
            "--idle-minutes",
            "0.1",
            "--sample-s",
            "1",
            "--bootstrap",
            kafka_bootstrap,
            "--out",
            str(out),
            "--json-out",
            str(summary_path),
        ],
    )
    assert result.exit_code == 0, result.output
    (summary,) = json.loads(summary_path.read_text())
    assert summary["flow_exit"] == 0
    assert summary["allocator"] == "jemalloc"

    with open(out / "soak.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == summary["samples"] >= 10
    times = [float(r["t_s"]) for r in rows]
    assert times == sorted(times)
    assert all(float(r["rss_mib"]) > 0 for r in rows)
    assert summary["rss_end_mib"] == float(rows[-1]["rss_mib"])
    assert summary["rss_at_horizon_mib"] is not None
    assert math.isfinite(summary["slope_after_horizon_mib_per_h"])

    # 200 messages/s for 30 s: enough visits to go round the whole pool of 1,000.
    assert summary["accounts_seen"] == 1000
    assert 0 < summary["decisions"] <= summary["messages_offered"]
    assert summary["messages_offered"] == int(rows[-1]["offered"])
    assert summary["deadletters"] == 0
    assert (out / "soak-rss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
