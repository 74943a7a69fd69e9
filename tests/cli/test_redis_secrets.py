"""The commands against a secured Redis: a missing secret, a wrong password or a plain client
on a TLS port is one line on stderr with its exit code, never a traceback or the secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import yaml

from tests.infra.snapshot_keys import KEY, KEY_ENV

pytestmark = pytest.mark.integration

ENV = "RISKFLOW_TEST_REDIS_PASSWORD"


def riskflow(tmp_path, redis: dict, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "c.yaml"
    config = {
        "input": {"type": "files", "payments": str(tmp_path / "p.jsonl")},
        "output": {"type": "files", "directory": str(tmp_path / "out")},
        "kafka": {"connect_timeout_s": 1},
        "models": {"enabled": False, "signing_key_env": KEY_ENV},
        "metrics": {"enabled": False},
        "redis": redis,
    }
    path.write_text(yaml.safe_dump(config))
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL", ENV)
    }
    return subprocess.run(
        [sys.executable, "-m", "riskflow", *args, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean | {KEY_ENV: KEY} | env,
    )


def one_line(done: subprocess.CompletedProcess[str], code: int) -> str:
    assert done.returncode == code, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.strip().splitlines() if line.startswith("riskflow:")]
    return lines[-1]


def secured(redis_tls, **changes) -> dict:
    return {
        "url": redis_tls.url,
        "username": redis_tls.username,
        "password_env": ENV,
        "ssl_ca_file": redis_tls.ca_file,
    } | changes


@pytest.mark.parametrize("command", [["run"], ["models", "show"], ["lists", "show"]])
def test_an_unset_password_variable_is_one_line_and_exit_2(tmp_path, redis_tls, command):
    last = one_line(riskflow(tmp_path, secured(redis_tls), *command), 2)
    assert f"redis.password_env: environment variable {ENV} is not set" in last


def test_an_unreadable_password_file_is_one_line_and_exit_2(tmp_path, redis_tls):
    conf = secured(redis_tls, password_env=None, password_file=str(tmp_path / "nope"))
    last = one_line(riskflow(tmp_path, conf, "run"), 2)
    assert "redis.password_file: cannot read" in last and "nope" in last


@pytest.mark.parametrize("command", [["run"], ["models", "show"]])
def test_a_wrong_password_is_refused_in_one_line_and_exit_2(tmp_path, redis_tls, command):
    done = riskflow(tmp_path, secured(redis_tls), *command, **{ENV: "wrong-password"})
    last = one_line(done, 2)
    assert f"Redis at 127.0.0.1:{redis_tls.port}/0 refused user riskflow" in last
    assert "wrong-password" not in done.stderr


def test_a_plain_url_on_the_tls_port_is_one_line_naming_rediss(tmp_path, redis_tls):
    conf = secured(redis_tls, url=f"redis://127.0.0.1:{redis_tls.port}/0", ssl_ca_file=None)
    last = one_line(riskflow(tmp_path, conf, "run", **{ENV: redis_tls.password}), 3)
    assert f"cannot reach Redis at 127.0.0.1:{redis_tls.port}/0" in last
    assert "rediss://" in last


def test_the_right_password_from_the_environment_lets_the_lists_command_in(tmp_path, redis_tls):
    redis_tls.admin.flushall()
    done = riskflow(tmp_path, secured(redis_tls), "lists", "show", **{ENV: redis_tls.password})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "0 entries" in done.stdout


def test_an_unset_username_variable_is_one_line_and_exit_2(tmp_path, redis_tls):
    conf = secured(redis_tls, username=None, username_env="RISKFLOW_TEST_REDIS_USER")
    last = one_line(riskflow(tmp_path, conf, "run", **{ENV: redis_tls.password}), 2)
    assert "redis.username_env: environment variable RISKFLOW_TEST_REDIS_USER is not set" in last


def test_the_user_name_from_a_file_lets_the_lists_command_in(tmp_path, redis_tls):
    redis_tls.admin.flushall()
    user = tmp_path / "redis-user"
    user.write_text(f"{redis_tls.username}\n")
    conf = secured(redis_tls, username=None, username_file=str(user))
    done = riskflow(tmp_path, conf, "lists", "show", **{ENV: redis_tls.password})
    assert done.returncode == 0, done.stderr[-3000:]
    assert "0 entries" in done.stdout
    wrong = riskflow(tmp_path, conf, "lists", "show", **{ENV: "wrong-password"})
    assert f"refused user {redis_tls.username}" in one_line(wrong, 2)
