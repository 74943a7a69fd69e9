"""Two processes decide as one: the per-branch alert budget is keyed state, not a copy per
process (acceptance 2 of the cross-account issue, for the budget; docs/architecture.md).

The cross-account entity stages are off here: a stage keyed by IP, device, payee or terminal
receives one key's events from both processes' account steps, and bytewax runs the open
epoch's items as they come, so their interleaving (and a few features) can differ from one
run to the next (the simulator's bursts of cards tried at one terminal made that visible).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.flows.test_kafka_flow import free_port

pytestmark = pytest.mark.integration


def _config(tmp: Path, sim: Path, name: str) -> Path:
    path = tmp / f"{name}.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "input": {
                    "type": "files",
                    "payments": str(sim / "payments.jsonl"),
                    "logins": str(sim / "logins.jsonl"),
                    "feedback": str(sim / "feedback.jsonl"),
                },
                "output": {"type": "files", "directory": str(tmp / name)},
                # A tight budget, so that budgeting half a branch would show.
                "policy": {"review_budget_per_branch_day": 1},
                "models": {"enabled": False},
                "features": {
                    "ip_stage": False,
                    "device_stage": False,
                    "payee_stage": False,
                    "terminal_stage": False,
                },
                "metrics": {"port": 0},
            }
        )
    )
    return path


def _run(config: Path, *extra: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "riskflow", "run", "--config", str(config), *extra]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _finish(proc: subprocess.Popen[bytes]) -> None:
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err.decode()[-2000:]


def _decisions(directory: Path) -> dict[str, tuple[str, float]]:
    out = {}
    for line in (directory / "decisions.jsonl").read_text().splitlines():
        record = json.loads(line)
        out[record["event_id"]] = (record["action"], record["score"])
    return out


def test_two_processes_give_the_same_decisions_as_one_with_branch_budgets(tmp_path):
    sim = tmp_path / "sim"
    bank = ["--customers", "12000", "--days", "4", "--seed", "11"]
    done = subprocess.run(
        [sys.executable, "-m", "riskflow", "simulate", "--out", str(sim), *bank],
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    _finish(_run(_config(tmp_path, sim, "one")))
    addresses = f"127.0.0.1:{free_port()};127.0.0.1:{free_port()}"
    two = _config(tmp_path, sim, "two")
    procs = [_run(two, "-i", str(pid), "-a", addresses) for pid in (0, 1)]
    for proc in procs:
        _finish(proc)
    one, both = _decisions(tmp_path / "one"), _decisions(tmp_path / "two")
    assert len(one) > 30_000
    assert sum(action == "review" for action, _ in one.values()) > 0
    assert both == one
