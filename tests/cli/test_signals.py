"""Ctrl-C and SIGTERM end a run like a finished one: a summary, exit 0, no traceback or panic."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


def _wait_for_decisions(out: Path, proc: subprocess.Popen[str]) -> None:
    decisions = out / "decisions.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if decisions.exists() and decisions.stat().st_size > 0:
            return
        time.sleep(0.2)
    raise AssertionError("the demo wrote no decisions")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_stops_the_demo_with_a_summary_and_exit_0(tmp_path, signum):
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "riskflow",
            "demo",
            "--events",
            "10000000",
            "--out",
            str(out),
            "--metrics-port",
            str(19600 + signum),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A shell's background job may ignore SIGINT; riskflow must still honour it.
        start_new_session=True,
    )
    try:
        _wait_for_decisions(out, proc)
        proc.send_signal(signum)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr and "panicked" not in stderr, stderr[-3000:]
    assert "stopped by signal" in stderr
    assert "events in" in stderr and "decisions" in stderr
    # Interrupted between steps: every decision line written is whole.
    lines = (out / "decisions.jsonl").read_text().splitlines()
    assert lines and lines[-1].startswith("{") and lines[-1].endswith("}")
