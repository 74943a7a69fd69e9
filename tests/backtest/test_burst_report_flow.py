"""Card-testing bursts across cards, simulated, through the flow and into the report: the
terminal stage's rule stops each burst within its first ten tests; without the stage no
burst is stopped in time."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import random
from collections import defaultdict
from pathlib import Path

import msgspec
import pytest
from bytewax.testing import run_main

from riskflow.backtest.latency import EARLY_SHARE
from riskflow.backtest.report import build_report
from riskflow.features.account import FeatureConfig
from riskflow.flows.config import FileInput, FileOutput, ListsSettings, MetricsSettings, Settings
from riskflow.flows.risk import build_flow
from riskflow.simulator.bank import Bank
from riskflow.simulator.config import SimConfig
from riskflow.simulator.emitter import Emitter
from riskflow.simulator.files import write_denylist
from riskflow.simulator.scenarios.cards import card_testing_across_cards
from riskflow.simulator.sessions import HOUR, normal_session

SCENARIO = "card_testing_across_cards"
BURSTS = 3
KINDS = ("payment", "login")


def simulate(where: Path) -> None:
    """Three bursts among honest sessions: payments, logins, truth and the deny list."""
    config = SimConfig(seed=8, customers=600)
    bank = Bank(config)
    em = Emitter(random.Random(8))
    t0 = config.start.timestamp() + 10 * HOUR
    for k in range(BURSTS):
        card_testing_across_cards(em, bank, bank.customer(k * 7), t0 + k * 2 * HOUR)
    for i in range(80):
        normal_session(em, bank, bank.customer(300 + i), t0 + i * 300.0, 0.0, False)
    with contextlib.ExitStack() as stack:
        files = {k: stack.enter_context(open(where / f"{k}s.jsonl", "wb")) for k in KINDS}
        truth = stack.enter_context(open(where / "truth.jsonl", "wb"))
        while em.heap:
            t, pending = em.pop()
            # Chargebacks come weeks later: the flow needs none to decide on the tests.
            if pending.kind == "feedback":
                continue
            files[pending.kind].write(em.record(t, pending).payload + b"\n")
            if pending.truth is not None:
                truth.write(msgspec.json.encode(pending.truth | {"ts": t}) + b"\n")
    write_denylist(bank, where / "denylist.csv")


def backtest(where: Path, terminal_stage: bool) -> Path:
    out = where / f"run-{terminal_stage}"
    settings = Settings(
        input=FileInput(
            payments=str(where / "payments.jsonl"),
            logins=str(where / "logins.jsonl"),
            feedback=None,
        ),
        output=FileOutput(directory=str(out)),
        lists=ListsSettings(path=str(where / "denylist.csv")),
        metrics=MetricsSettings(enabled=False),
        features=dataclasses.replace(FeatureConfig(), terminal_stage=terminal_stage),
    )
    run_main(build_flow(settings))
    return out


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    where = tmp_path_factory.mktemp("bursts")
    simulate(where)
    runs = {"stage on": backtest(where, True), "stage off": backtest(where, False)}
    report = build_report(runs, where / "truth.jsonl", where / "report")
    return report, (where / "report" / "report.html").read_text(), runs, where


def test_each_burst_is_one_incident_stopped_within_ten_tests_by_the_terminal_rule(report):
    built, _, runs, where = report
    on = built["runs"]["stage on"]["detection_latency"][SCENARIO]
    assert on["incidents"] == BURSTS
    assert on["detected_share"] == 1.0 and on[EARLY_SHARE] == 1.0
    text = (runs["stage on"] / "decisions.jsonl").read_text()
    decided = {d["event_id"]: d for d in map(json.loads, text.splitlines())}
    tests: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for line in (where / "truth.jsonl").read_text().splitlines():
        t = json.loads(line)
        tests[t["details"]["burst"]].append((t["ts"], t["event_id"]))
    assert len(tests) == BURSTS
    for burst in tests.values():
        stopped = [decided[e] for _, e in sorted(burst) if decided[e]["action"] != "allow"]
        # The first stop is the terminal's, from the fifth card on.
        assert "CARD_TESTING_ACROSS_CARDS" in {r["code"] for r in stopped[0]["reasons"]}


def test_without_the_terminal_stage_no_burst_is_stopped_in_time(report):
    built, html, _, _ = report
    off = built["runs"]["stage off"]["detection_latency"][SCENARIO]
    assert off["incidents"] == BURSTS and off[EARLY_SHARE] == 0.0
    assert EARLY_SHARE in html
