"""The recovery directory holds every account's state: created owner-only, warned about if not."""

from __future__ import annotations

import os
import stat

import pytest

from riskflow.flows.config import RecoverySettings, Settings
from riskflow.runner import recovery_config


def settings(directory) -> Settings:
    return Settings(recovery=RecoverySettings(directory=str(directory)))


@pytest.fixture
def open_umask():
    # The most permissive umask an operator could have: 0700 must not depend on it.
    previous = os.umask(0)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_recovery_directory_is_owner_only(tmp_path, open_umask, capsys):
    directory = tmp_path / "state" / "recovery"
    assert recovery_config(settings(directory)) is not None
    assert mode(directory) == 0o700
    assert any(directory.glob("part-*.sqlite3"))
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("loose", [0o750, 0o755, 0o707])
def test_an_existing_directory_open_to_others_is_warned_about_in_one_line(tmp_path, capsys, loose):
    directory = tmp_path / "recovery"
    directory.mkdir()
    directory.chmod(loose)
    assert recovery_config(settings(directory)) is not None
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"recovery directory {directory} is open to group or others" in err
    assert f"mode {loose:o}" in err and "chmod 700" in err


def test_an_existing_owner_only_directory_is_resumed_quietly(tmp_path, capsys):
    directory = tmp_path / "recovery"
    recovery_config(settings(directory))
    parts = sorted(directory.glob("part-*.sqlite3"))
    assert recovery_config(settings(directory)) is not None
    assert sorted(directory.glob("part-*.sqlite3")) == parts
    assert capsys.readouterr().err == ""
