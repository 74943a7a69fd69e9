"""The recovery directory holds pickled state: only the flow's user may read or write it."""

from __future__ import annotations

import stat

from riskflow.flows.config import RecoverySettings, Settings
from riskflow.runner import recovery_config


def test_a_fresh_recovery_directory_is_private_to_the_flow_user(tmp_path):
    directory = tmp_path / "state" / "recovery"
    assert recovery_config(Settings(recovery=RecoverySettings(directory=str(directory))))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    parts = list(directory.glob("part-*.sqlite3"))
    assert parts and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in parts)
