"""The ip stage in the whole flow: stuffing across accounts is stepped up, one decision each."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from bytewax.testing import run_main

from riskflow.features.account import FeatureConfig
from riskflow.flows.config import (
    FileInput,
    FileOutput,
    ListsSettings,
    MetricsSettings,
    Settings,
)
from riskflow.flows.risk import build_flow
from tests.flows.streams import login, payment, read_jsonl, write_jsonl

IP = "203.0.113.77"


def stuffing() -> tuple[list, list]:
    """Failed logins on ten accounts from one IP, then one works and pays out; a customer
    elsewhere logs in and pays as usual."""
    logins = [login(f"F{i}", f"V{i}", i * 0.2, False, ip=IP) for i in range(10)]
    logins += [
        login("S1", "V10", 3, True, ip=IP),
        login("H1", "HOME", 4, True, ip="10.0.0.9"),
    ]
    payments = [
        payment("P1", "V10", 15, 900.0, payee_account="X", ip=IP),
        payment("P2", "HOME", 16, 50.0, payee_account="SHOP", ip="10.0.0.9"),
        payment("P3", "HOME", 17, 20.0, payee_account="SHOP"),  # no IP: around the stage
    ]
    return logins, payments


def run(tmp: Path, ip_stage: bool) -> dict[str, dict]:
    logins, payments = stuffing()
    deny = write_jsonl(tmp / "deny.csv", ["entity,value,reason,source"])
    settings = Settings(
        input=FileInput(
            payments=str(write_jsonl(tmp / "payments.jsonl", payments)),
            logins=str(write_jsonl(tmp / "logins.jsonl", logins)),
            feedback=str(write_jsonl(tmp / "feedback.jsonl", [])),
        ),
        output=FileOutput(directory=str(tmp / "out")),
        lists=ListsSettings(path=str(deny)),
        metrics=MetricsSettings(enabled=False),
        features=dataclasses.replace(FeatureConfig(), ip_stage=ip_stage),
    )
    run_main(build_flow(settings))
    decisions = read_jsonl(tmp / "out" / "decisions.jsonl")
    assert len(decisions) == len(logins) + len(payments)  # one decision per event
    return {d["event_id"]: d for d in decisions}


def codes(d: dict) -> set[str]:
    return {r["code"] for r in d["reasons"]}


@pytest.mark.parametrize("ip_stage", [True, False], ids=["on", "off"])
def test_stuffing_is_stepped_up_by_the_ip_stage_and_the_rest_is_not(tmp_path, ip_stage):
    got = run(tmp_path, ip_stage)
    stuffed = {"F5", "S1"}  # a failure from the fourth account on, and the success
    if ip_stage:
        assert all("IP_FAILURES_ACROSS_ACCOUNTS" in codes(got[e]) for e in stuffed)
        assert got["S1"]["action"] != "allow"
        assert "IP_FAILURES_ELSEWHERE" in codes(got["P1"])
        assert got["P1"]["action"] in ("review", "block")
        assert "IP_FAILURES_ACROSS_ACCOUNTS" not in codes(got["F1"])  # too early to tell
    else:
        assert not any(
            {"IP_FAILURES_ACROSS_ACCOUNTS", "IP_FAILURES_ELSEWHERE"} & codes(d)
            for d in got.values()
        )
    for e in ("H1", "P2", "P3"):
        assert not {"IP_FAILURES_ACROSS_ACCOUNTS", "IP_FAILURES_ELSEWHERE"} & codes(got[e])
