"""The allocator a process runs on, and the environment that puts a child on jemalloc."""

from __future__ import annotations

import ctypes.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from riskflow import allocator
from riskflow.allocator import AllocatorUnavailable, allocator_env, running_allocator

_HAS_JEMALLOC = ctypes.util.find_library("jemalloc") is not None
_PROBE = "from riskflow.allocator import running_allocator; print(running_allocator())"


def _child_allocator(extra: dict[str, str]) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "PYTHONMALLOC")}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        env=env | extra,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout.strip()


def test_the_system_allocator_needs_no_environment() -> None:
    assert allocator_env("system") == {}


def test_an_unknown_allocator_is_refused_by_name() -> None:
    with pytest.raises(AllocatorUnavailable, match=r"'tcmalloc'.*jemalloc, system"):
        allocator_env("tcmalloc")


def test_jemalloc_missing_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator, "_jemalloc_library", lambda: None)
    with pytest.raises(AllocatorUnavailable, match="libjemalloc2") as caught:
        allocator_env("jemalloc")
    assert "\n" not in str(caught.value)


@pytest.mark.skipif(not _HAS_JEMALLOC, reason="libjemalloc2 is not installed")
def test_a_child_given_the_jemalloc_environment_runs_on_jemalloc() -> None:
    env = allocator_env("jemalloc")
    assert env["PYTHONMALLOC"] == "malloc"
    assert "dirty_decay_ms" in env["MALLOC_CONF"]
    assert _child_allocator(env) == "jemalloc"
    assert _child_allocator({}) == "system"


def test_a_process_without_readable_maps_counts_as_the_system_allocator(tmp_path: Path) -> None:
    assert running_allocator(tmp_path / "absent") == "system"
    maps = tmp_path / "maps"
    maps.write_text("7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libjemalloc.so.2\n")
    assert running_allocator(maps) == "jemalloc"


def test_the_container_image_runs_the_flow_as_the_soak_does() -> None:
    dockerfile = (Path(__file__).parents[1] / "docker" / "Dockerfile").read_text()
    assert "libjemalloc2" in dockerfile
    assert "LD_PRELOAD=libjemalloc.so.2" in dockerfile
    assert "PYTHONMALLOC=malloc" in dockerfile
    assert f"MALLOC_CONF={allocator.JEMALLOC_CONF}" in dockerfile
