"""Hot reload: new versions swap in, broken files are rejected and the old version stays."""

from __future__ import annotations

import getpass
import hashlib
import os

from riskflow.connectors.audit import ACTOR_ENV, FileAudit
from riskflow.scoring.rules.reload import RulesetHolder

GOOD = """
version: "{v}"
rules:
  - id: big
    description: big payment
    condition: amount > {limit}
    action: review
    severity: high
    reason: BIG
"""


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write(path, text: str, stamp: float) -> None:
    path.write_text(text)
    os.utime(path, (stamp, stamp))


def test_changes_are_picked_up_after_the_interval_and_broken_files_rejected(tmp_path):
    path = tmp_path / "rules.yaml"
    write(path, GOOD.format(v="v1", limit=100), 1000)
    clock = Clock()
    holder = RulesetHolder(path, check_interval_s=1.0, clock=clock)
    assert holder.version == "v1"

    write(path, GOOD.format(v="v2", limit=200), 1001)
    clock.now = 0.5
    assert holder.current().version == "v1"  # not checked before the interval
    clock.now = 1.1
    assert holder.current().version == "v2"
    assert holder.reloads == 1

    write(path, "version: v3\nrules: [{id: x}]\n", 1002)
    clock.now = 2.2
    assert holder.current().version == "v2"
    assert holder.rejected == 1 and "missing required field" in (holder.last_error or "")
    clock.now = 3.3
    holder.current()
    assert holder.rejected == 1  # the same broken file is not retried

    write(path, GOOD.format(v="v4", limit=400), 1003)
    clock.now = 4.4
    assert holder.current().version == "v4"
    assert holder.last_error is None


def test_control_message_replaces_the_ruleset_with_the_same_validation(tmp_path):
    path = tmp_path / "rules.yaml"
    write(path, GOOD.format(v="v1", limit=100), 1000)
    holder = RulesetHolder(path, clock=Clock())
    assert holder.replace_text(GOOD.format(v="pushed", limit=5)) is True
    assert holder.version == "pushed"
    assert holder.replace_text("not: [a ruleset") is False
    assert holder.version == "pushed"


def test_deleted_file_keeps_the_current_ruleset(tmp_path):
    path = tmp_path / "rules.yaml"
    write(path, GOOD.format(v="v1", limit=100), 1000)
    clock = Clock()
    holder = RulesetHolder(path, clock=clock)
    path.unlink()
    clock.now = 5.0
    assert holder.current().version == "v1"


def test_a_refused_ruleset_is_audited_as_refused_and_the_old_one_keeps_deciding(
    tmp_path, monkeypatch
):
    monkeypatch.setenv(ACTOR_ENV, "risk-ops")
    audit = FileAudit(tmp_path / "audit.jsonl")
    path = tmp_path / "rules.yaml"
    write(path, GOOD.format(v="v1", limit=100), 1000)
    clock = Clock()
    holder = RulesetHolder(path, clock=clock, audit=audit)
    big = {"amount": 150.0}
    assert [h.rule_id for h in holder.current().evaluate(big, "payment")] == ["big"]

    broken = GOOD.format(v="v2", limit="amount >> 1")  # not an expression
    write(path, broken, 1001)
    clock.now = 1.5
    assert holder.current().version == "v1" and holder.rejected == 1
    assert [h.rule_id for h in holder.current().evaluate(big, "payment")] == ["big"]

    write(path, GOOD.format(v="v3", limit=200), 1002)
    clock.now = 3.0
    assert holder.current().version == "v3"
    assert holder.replace_text("rules: [", source="<control>") is False

    start, refused, loaded, pushed = audit.records()
    assert (start["op"], start["version"], start["rules"]) == ("ruleset_loaded", "v1", "1")
    assert start["sha256"] == hashlib.sha256(GOOD.format(v="v1", limit=100).encode()).hexdigest()
    assert refused["op"] == "ruleset_refused" and refused["previous"] == "v1"
    assert refused["sha256"] == hashlib.sha256(broken.encode()).hexdigest()
    assert "operator RShift is not allowed" in refused["error"]
    assert refused["source"] == str(path)
    # Who: the process's actor; the file's owner is the nearest riskflow sees of its editor.
    assert refused["actor"] == "risk-ops" and refused["owner"] == getpass.getuser()
    assert refused["process"].endswith(f":{os.getpid()}") and refused["at"].endswith("+00:00")
    assert (loaded["op"], loaded["version"], loaded["previous"]) == ("ruleset_loaded", "v3", "v1")
    assert (pushed["op"], pushed["source"], pushed["owner"]) == ("ruleset_refused", "<control>", "")
