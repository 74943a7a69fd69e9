"""The whole flow on JSONL files: one decision per valid event, dead letters, alerts, reload."""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

from bytewax.testing import run_main

from riskflow.contract.masking import mask_id
from riskflow.flows.config import (
    FileInput,
    FileOutput,
    ListsSettings,
    MetricsSettings,
    RulesSettings,
    Settings,
)
from riskflow.flows.risk import build_flow
from riskflow.scoring.rules.ruleset import DEFAULT_RULESET_PATH
from tests.flows.streams import (
    at,
    bank_day,
    login,
    payment,
    read_jsonl,
    ruleset_text,
    write_jsonl,
)


def settings_for(tmp: Path, files: dict[str, Path], rules: Path, rate: float | None = None):
    deny = tmp / "deny.csv"
    deny.write_text("entity,value,reason,source\npayee,MULE9,mule account,police\n")
    return Settings(
        input=FileInput(
            payments=str(files["payments"]),
            logins=str(files["logins"]),
            feedback=str(files["feedback"]),
            rate=rate,
        ),
        output=FileOutput(directory=str(tmp / "out")),
        rules=RulesSettings(path=str(rules), check_interval_s=0.05),
        lists=ListsSettings(path=str(deny)),
        metrics=MetricsSettings(enabled=False),
    )


def write_day(tmp: Path, day: dict) -> dict[str, Path]:
    return {name: write_jsonl(tmp / f"{name}.jsonl", rows) for name, rows in day.items()}


def test_bank_day_end_to_end(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(ruleset_text())
    run_main(build_flow(settings_for(tmp_path, write_day(tmp_path, bank_day()), rules)))
    out = tmp_path / "out"
    decisions = {d["event_id"]: d for d in read_jsonl(out / "decisions.jsonl")}
    alerts = {a["event_id"]: a for a in read_jsonl(out / "alerts.jsonl")}
    dead = read_jsonl(out / "deadletter.jsonl")

    valid = {f"P{i}" for i in range(1, 8)} | {f"L{i}" for i in range(1, 7)}
    assert len(read_jsonl(out / "decisions.jsonl")) == len(valid)
    assert set(decisions) == valid
    assert all(d["rules_version"] == "test-1" for d in decisions.values())

    assert decisions["P1"]["action"] == "allow" and decisions["P1"]["reasons"] == []
    takeover = decisions["P4"]
    assert takeover["action"] == "block"
    assert takeover["reasons"][0]["code"] == "ATO_CHAIN"
    assert decisions["P3"]["action"] == "review"
    assert decisions["L4"]["action"] == "challenge"  # third failure within 15 minutes

    listed = decisions["P5"]
    assert listed["action"] == "block"
    assert listed["reasons"][0]["code"] == "DENY_PAYEE"
    assert "police" in listed["reasons"][0]["detail"]

    # The customer hears of every payment that was not simply allowed, once, in plain words.
    notes = {n["notification_id"]: n for n in read_jsonl(out / "notifications.jsonl")}
    wording = {
        "block": "transfer_intercepted",
        "challenge": "transfer_challenged",
        "review": "transfer_under_review",
    }
    expected = {
        f"{wording[d['action']]}:{e}"
        for e, d in decisions.items()
        if e.startswith("P") and d["action"] in wording
    }
    assert expected and expected <= set(notes)
    assert "reported for fraud" in notes["transfer_intercepted:P5"]["text"]
    # Decisions name the account for the payment pipeline; the customer's message masks it.
    assert listed["account_id"] == "A3"
    assert notes["transfer_intercepted:P5"]["account_id"] == mask_id(listed["account_id"])

    # Alerts: one per review/block, routed to the event's branch, the last seen, or unassigned.
    flagged = {e for e, d in decisions.items() if d["action"] in ("review", "block")}
    assert set(alerts) == flagged
    assert alerts["P5"]["branch_id"] == "BR003"
    assert alerts["P4"]["branch_id"] == "BR002"  # from the account's earlier login
    assert alerts["P7"]["branch_id"] == "BR005"
    assert alerts["P6"]["branch_id"] == "unassigned"
    assert alerts["P3"]["alert_id"] == "alert-P3"
    assert alerts["P5"]["account_id"] == "****" and "MULE9" not in alerts["P5"]["summary"]

    assert Counter(d["reason"] for d in dead) == Counter(
        {"not_json": 1, "invalid_amount": 1, "missing_field": 1, "invalid_timestamp": 1}
    )
    origins = {(d["source_topic"], d["source_offset"]) for d in dead}
    assert origins == {
        ("payments.jsonl", 8),
        ("payments.jsonl", 9),
        ("payments.jsonl", 10),
        ("feedback.jsonl", 2),
    }


def test_decisions_follow_event_time_not_file_order(tmp_path):
    day = bank_day()
    day["logins"] = list(reversed(day["logins"]))
    day["payments"] = [p for p in day["payments"] if isinstance(p, dict)]
    rules = tmp_path / "rules.yaml"
    rules.write_text(ruleset_text())
    run_main(build_flow(settings_for(tmp_path, write_day(tmp_path, day), rules)))
    decisions = {d["event_id"]: d for d in read_jsonl(tmp_path / "out" / "decisions.jsonl")}
    assert decisions["P4"]["action"] == "block"


def test_ruleset_hot_reload_while_running_and_broken_ruleset_rejected(tmp_path):
    rules = tmp_path / "rules.yaml"
    rules.write_text(ruleset_text("v1"))
    logins = [login(f"L{i}", f"A{i % 7}", i * 0.01, True) for i in range(600)]
    files = write_day(tmp_path, {"payments": [], "logins": logins, "feedback": []})
    settings = settings_for(tmp_path, files, rules, rate=200.0)

    def edit_rules() -> None:
        time.sleep(0.8)
        rules.write_text("version: broken\nrules: [ {id: x, condition: 'amount >' } ]\n")
        time.sleep(0.8)
        rules.write_text(ruleset_text("v2"))

    editor = threading.Thread(target=edit_rules)
    editor.start()
    run_main(build_flow(settings))
    editor.join()
    versions = [d["rules_version"] for d in read_jsonl(tmp_path / "out" / "decisions.jsonl")]
    assert len(versions) == 600
    assert "broken" not in versions
    switch = versions.index("v2")
    assert switch > 100  # v1 kept deciding through the broken file
    assert set(versions[:switch]) == {"v1"} and set(versions[switch:]) == {"v2"}
    # Each load and the refusal are audited, with the version they left in force.
    audit = read_jsonl(tmp_path / "out" / "audit.jsonl")
    assert [(r["op"], r["version"], r["previous"]) for r in audit] == [
        ("ruleset_loaded", "v1", ""),
        ("ruleset_refused", "", "v1"),
        ("ruleset_loaded", "v2", "v1"),
    ]
    refused = audit[1]
    assert "rules[0]" in refused["error"] and refused["source"] == str(rules)
    assert len(refused["sha256"]) == 64 and refused["actor"] and refused["process"]


def test_labels_count_only_from_their_own_time_in_a_backtest(tmp_path):
    # Files deliberately out of order: the replay must still deliver by event time.
    payments = [
        payment("P3", "A1", 120, 50.0, payee_account="NEW-PAYEE"),
        payment("P1", "A1", 0, 50.0, payee_account="SHOP"),
        payment("P2", "A1", 30, 50.0, payee_account="OTHER"),
    ]
    feedback = [{"event_id": "P1", "account_id": "A1", "label": "fraud", "ts": at(60)}]
    files = write_day(tmp_path, {"payments": payments, "logins": [], "feedback": feedback})
    settings = settings_for(tmp_path, files, Path(DEFAULT_RULESET_PATH))
    run_main(build_flow(settings))
    decisions = {d["event_id"]: d for d in read_jsonl(tmp_path / "out" / "decisions.jsonl")}
    codes = {e: [r["code"] for r in d["reasons"]] for e, d in decisions.items()}
    # P2 (30 min) precedes the label (60 min): the future label must not touch it.
    assert "PRIOR_CONFIRMED_FRAUD" not in codes["P2"]
    assert "PRIOR_CONFIRMED_FRAUD" in codes["P3"]
