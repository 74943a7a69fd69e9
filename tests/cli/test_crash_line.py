"""A flow that crashes ends in one line naming the step: the account key only masked, of the
cause its type only (its text may quote the event)."""

from __future__ import annotations

import bytewax.operators as op
import pytest
import typer
from bytewax.dataflow import Dataflow
from bytewax.testing import TestingSource

from riskflow.cli import _run_with_summary
from riskflow.flows.config import MetricsSettings, Settings
from riskflow.runner import FlowCrashed, run_flow


def _boom(_state: object, value: str) -> tuple[object, str]:
    raise ValueError(f"cannot absorb {value} of A0001234")


def test_a_crash_in_a_keyed_step_names_the_step_and_masks_the_key():
    flow = Dataflow("crashing")
    events = op.input("in", flow, TestingSource([("A0001234", "P000000001")]))
    op.inspect("out", op.stateful_map("features", events, _boom))
    settings = Settings(metrics=MetricsSettings(enabled=False))
    with pytest.raises(FlowCrashed) as caught:
        run_flow(flow, settings)
    line = str(caught.value)
    assert "\n" not in line and line.startswith("the flow stopped: error calling")
    assert "features" in line and 'for key "A****1234"' in line
    assert line.endswith(": ValueError")
    assert "A0001234" not in line and "P000000001" not in line and ".rs:" not in line


def test_the_command_prints_its_summary_then_the_one_line_and_exits_1(capsys):
    flow = Dataflow("crashing_cli")
    events = op.input("in", flow, TestingSource([("A0001234", "P000000001")]))
    op.inspect("out", op.stateful_map("features", events, _boom))
    with pytest.raises(typer.Exit) as caught:
        _run_with_summary(flow, Settings(metrics=MetricsSettings(enabled=False)), "t", live=False)
    assert caught.value.exit_code == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "A0001234" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith("riskflow: the flow stopped: ") and last.endswith(": ValueError")
