"""The device stage in the whole flow: one device failing across accounts behind rotating IPs
is stepped up with the stage on; off, its features are neutral and the rule stays quiet."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from bytewax.testing import run_main

from riskflow.features.account import FeatureConfig
from riskflow.flows.config import FileInput, FileOutput, ListsSettings, MetricsSettings, Settings
from riskflow.flows.risk import build_flow
from tests.flows.streams import login, read_jsonl, write_jsonl


def run(tmp: Path, device_stage: bool) -> dict[str, dict]:
    # Each attempt from a fresh IP, so only the device ties them together.
    logins = [
        login(f"F{i}", f"V{i}", i * 0.2, False, device_id="EMU", ip=f"203.0.113.{i}")
        for i in range(6)
    ]
    logins += [
        login("S1", "V6", 2, True, device_id="EMU", ip="203.0.113.50"),
        login("H1", "HOME", 3, True, device_id="PHONE", ip="10.0.0.9"),
    ]
    deny = write_jsonl(tmp / "deny.csv", ["entity,value,reason,source"])
    settings = Settings(
        input=FileInput(
            payments=str(write_jsonl(tmp / "payments.jsonl", [])),
            logins=str(write_jsonl(tmp / "logins.jsonl", logins)),
            feedback=str(write_jsonl(tmp / "feedback.jsonl", [])),
        ),
        output=FileOutput(directory=str(tmp / "out")),
        lists=ListsSettings(path=str(deny)),
        metrics=MetricsSettings(enabled=False),
        features=dataclasses.replace(FeatureConfig(), device_stage=device_stage),
    )
    run_main(build_flow(settings))
    decisions = read_jsonl(tmp / "out" / "decisions.jsonl")
    assert len(decisions) == len(logins)
    return {d["event_id"]: d for d in decisions}


def codes(d: dict) -> set[str]:
    return {r["code"] for r in d["reasons"]}


@pytest.mark.parametrize("device_stage", [True, False], ids=["on", "off"])
def test_a_device_failing_across_accounts_is_stepped_up_only_with_the_stage(tmp_path, device_stage):
    got = run(tmp_path, device_stage)
    if device_stage:
        assert "DEVICE_FAILURES_ACROSS_ACCOUNTS" in codes(got["S1"])
        assert got["S1"]["action"] != "allow"
    else:
        assert not any("DEVICE_FAILURES_ACROSS_ACCOUNTS" in codes(d) for d in got.values())
    assert "DEVICE_FAILURES_ACROSS_ACCOUNTS" not in codes(got["H1"])
    assert got["H1"]["action"] == "allow"
