"""Hot reload: new versions swap in, broken files are rejected and the old version stays."""

from __future__ import annotations

import os

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
