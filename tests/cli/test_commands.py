"""The commands users run: demo, simulate and backtest, as processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections import Counter

from riskflow.simulator.config import SimConfig
from riskflow.simulator.stream import generate_with_truth


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def riskflow(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", "riskflow", *args], capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def lines(path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def test_demo_decides_every_event_once_with_all_actions_and_branch_alerts(tmp_path):
    out = tmp_path / "demo"
    result = riskflow(
        "demo", "--events", "30000", "--out", str(out), "--metrics-port", str(free_port())
    )
    expected = sum(
        1
        for record, truth in generate_with_truth(
            SimConfig(seed=7, customers=5000, max_events=30000, days=3650.0, malformed_rate=0.001)
        )
        if record.kind != "feedback" and not (truth and truth["kind"] == "malformed")
    )
    decisions = lines(out / "decisions.jsonl")
    ids = [d["event_id"] for d in decisions]
    assert len(ids) == len(set(ids)) == expected
    actions = Counter(d["action"] for d in decisions)
    assert set(actions) == {"allow", "challenge", "review", "block"}
    alerts = lines(out / "alerts.jsonl")
    assert len(alerts) == actions["review"] + actions["block"]
    assert all(a["branch_id"].startswith("BR") for a in alerts)
    dead = lines(out / "deadletter.jsonl")
    assert dead and all(d["reason"] and d["error"] for d in dead)
    summary = result.stderr
    assert "throughput" in summary and "events/s" in summary
    assert "p50" in summary and "p99" in summary


def test_simulate_then_backtest_scores_every_payment_and_login(tmp_path):
    sim = tmp_path / "sim"
    riskflow(
        "simulate",
        "--out",
        str(sim),
        "--customers",
        "1000",
        "--days",
        "3",
        "--malformed-rate",
        "0.01",
        "--fraud-rate",
        "0.05",
    )
    truth = lines(sim / "truth.jsonl")
    broken = sum(1 for t in truth if t["kind"] == "malformed")
    with open(sim / "payments.jsonl", "rb") as p, open(sim / "logins.jsonl", "rb") as lg:
        events = sum(1 for _ in p) + sum(1 for _ in lg)
    out = tmp_path / "bt"
    riskflow(
        "backtest",
        "--payments",
        str(sim / "payments.jsonl"),
        "--logins",
        str(sim / "logins.jsonl"),
        "--feedback",
        str(sim / "feedback.jsonl"),
        "--lists",
        str(sim / "denylist.csv"),
        "--truth",
        str(sim / "truth.jsonl"),
        "--out",
        str(out),
    )
    decisions = lines(out / "decisions.jsonl")
    assert len({d["event_id"] for d in decisions}) == len(decisions) == events - broken
    assert all(0.0 <= d["score"] <= 1.0 for d in decisions)
    assert len(lines(out / "deadletter.jsonl")) == broken
    # Every mule transfer the simulator flagged is blocked by the deny list.
    mule_ids = {t["event_id"] for t in truth if t["scenario"] == "mule_payee"}
    by_id = {d["event_id"]: d for d in decisions}
    assert mule_ids and all(by_id[e]["action"] == "block" for e in mule_ids)
    report = json.loads((out / "report.json").read_text())
    run = report["runs"]["rules + models"]
    payments = [d for d in decisions if d["event_type"] == "payment"]
    assert run["summary"]["payments"] == len(payments)
    frauds = {t["event_id"] for t in truth if t.get("is_fraud")}
    assert run["summary"]["frauds"] == sum(d["event_id"] in frauds for d in payments)
    assert len(run["precision_at_100_per_day"]) == 3
    assert sum(v["payments"] for v in run["by_model_version"]) <= len(payments)
    assert set(run["detection_latency"]) == {t["scenario"] for t in truth if t.get("is_fraud")}
    assert report["label_delay_hours"]["labels"] > 0
    # The report names its inputs with their hashes, and is one self-contained page.
    assert set(report["inputs"]) >= {"payments", "logins", "feedback", "truth", "lists"}
    assert all(len(i["sha256"]) == 64 for i in report["inputs"].values())
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(report["plots"]) == 6
    assert all((out / name).stat().st_size > 1000 for name in report["plots"].values())
    # The same inputs scored by the model alone once it is warm.
    alone = tmp_path / "model-only"
    riskflow(
        "backtest",
        *("--payments", str(sim / "payments.jsonl"), "--logins", str(sim / "logins.jsonl")),
        *("--feedback", str(sim / "feedback.jsonl"), "--lists", str(sim / "denylist.csv")),
        *("--truth", str(sim / "truth.jsonl"), "--out", str(alone), "--model-only"),
    )
    solo = json.loads((alone / "report.json").read_text())["runs"]["model only"]
    assert solo["summary"]["payments"] == run["summary"]["payments"]
    # (What the model alone decides is tested in tests/scoring/test_decide.py.)
