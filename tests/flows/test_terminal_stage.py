"""The terminal stage in the whole flow: many stolen cards tried once each for a few cents at
one shop are reviewed with the stage on; off, its features are neutral and the rule is quiet."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from bytewax.testing import run_main

from riskflow.features.account import FeatureConfig
from riskflow.flows.config import FileInput, FileOutput, ListsSettings, MetricsSettings, Settings
from riskflow.flows.risk import build_flow
from tests.flows.streams import payment, read_jsonl, write_jsonl

CODE = "CARD_TESTING_ACROSS_CARDS"


def run(tmp: Path, terminal_stage: bool) -> dict[str, dict]:
    # One try per card, so no card's own history shows anything.
    payments = [
        payment(f"T{i}", f"CARD{i}", i * 0.5, 1.5, txn_type="card", terminal_id="TX1")
        for i in range(8)
    ]
    # A shopper at another, quiet shop a minute later.
    payments.append(payment("Q1", "SHOPPER", 2.0, 1.5, txn_type="card", terminal_id="TX2"))
    deny = write_jsonl(tmp / "deny.csv", ["entity,value,reason,source"])
    settings = Settings(
        input=FileInput(
            payments=str(write_jsonl(tmp / "payments.jsonl", payments)),
            logins=str(write_jsonl(tmp / "logins.jsonl", [])),
            feedback=str(write_jsonl(tmp / "feedback.jsonl", [])),
        ),
        output=FileOutput(directory=str(tmp / "out")),
        lists=ListsSettings(path=str(deny)),
        metrics=MetricsSettings(enabled=False),
        features=dataclasses.replace(FeatureConfig(), terminal_stage=terminal_stage),
    )
    run_main(build_flow(settings))
    decisions = read_jsonl(tmp / "out" / "decisions.jsonl")
    assert len(decisions) == len(payments)
    return {d["event_id"]: d for d in decisions}


def codes(d: dict) -> set[str]:
    return {r["code"] for r in d["reasons"]}


@pytest.mark.parametrize("terminal_stage", [True, False], ids=["on", "off"])
def test_cards_tried_across_one_shop_are_reviewed_only_with_the_stage(tmp_path, terminal_stage):
    got = run(tmp_path, terminal_stage)
    flagged = {eid for eid, d in got.items() if CODE in codes(d)}
    if terminal_stage:
        # From the fifth card on: four other cards paid small amounts there before it.
        assert flagged == {f"T{i}" for i in range(4, 8)}
        assert all(got[eid]["action"] in ("review", "block") for eid in flagged)
    else:
        assert flagged == set()
    assert got["Q1"]["action"] == "allow"
