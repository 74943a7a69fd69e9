"""`riskflow run` against a closed port: one line naming the address, exit 3, no traceback;
and the lines it says before it tries."""

from __future__ import annotations

import ctypes.util
import os
import socket
import subprocess
import sys

import pytest

from riskflow.allocator import allocator_env


def _closed_port() -> int:
    # A port just bound and released: nothing listens there for the test's short life.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(tmp_path, config: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "c.yaml"
    path.write_text(config)
    clean = {
        k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")
    }
    return subprocess.run(
        [sys.executable, "-m", "riskflow", "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean | env,
    )


def test_an_unreachable_broker_is_one_line_and_exit_3(tmp_path):
    port = _closed_port()
    done = _run(
        tmp_path,
        "kafka: {connect_timeout_s: 2}\nmodels: {enabled: false}\nmetrics: {enabled: false}\n",
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}",
    )
    assert done.returncode == 3, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert f"cannot reach Kafka at 127.0.0.1:{port} after 2 s" in last


def test_an_unreachable_redis_is_one_line_and_exit_3(tmp_path):
    port = _closed_port()
    done = _run(
        tmp_path,
        "input: {type: files, payments: p.jsonl}\noutput: {type: files, directory: out}\n"
        "kafka: {connect_timeout_s: 2}\nmodels: {enabled: false}\nmetrics: {enabled: false}\n",
        REDIS_URL=f"redis://:secret@127.0.0.1:{port}/0",
    )
    assert done.returncode == 3, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert f"cannot reach Redis at 127.0.0.1:{port}/0 after 2 s" in last
    assert "secret" not in done.stderr


@pytest.mark.parametrize("enabled", [True, False])
def test_run_warns_loudly_when_models_live_only_in_memory(tmp_path, enabled):
    port = _closed_port()
    done = _run(
        tmp_path,
        f"kafka: {{connect_timeout_s: 0.5}}\nmodels: {{enabled: {str(enabled).lower()}}}\n"
        "metrics: {enabled: false}\n",
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}",
    )
    assert done.returncode == 3
    assert ("models.backend is memory" in done.stderr) is enabled


@pytest.mark.skipif(
    ctypes.util.find_library("jemalloc") is None, reason="libjemalloc2 is not installed"
)
@pytest.mark.parametrize("on_jemalloc", [True, False])
def test_run_notes_when_it_runs_on_the_system_allocator(tmp_path, on_jemalloc):
    port = _closed_port()
    extra = allocator_env("jemalloc") if on_jemalloc else {"LD_PRELOAD": ""}
    done = _run(
        tmp_path,
        "kafka: {connect_timeout_s: 0.5}\nmodels: {enabled: false}\nmetrics: {enabled: false}\n",
        KAFKA_BOOTSTRAP_SERVERS=f"127.0.0.1:{port}",
        **extra,
    )
    assert done.returncode == 3
    assert ("system allocator" in done.stderr) is not on_jemalloc
