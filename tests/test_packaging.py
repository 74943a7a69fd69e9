"""What `pip install .` puts on the import path: `riskflow` and nothing else."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_install_has_one_top_level_name_and_the_folders_under_it(tmp_path):
    target = tmp_path / "site"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--target",
            str(target),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    importable = {
        p.name.removesuffix(".py")
        for p in target.iterdir()
        if (p.is_dir() and not p.name.endswith(".dist-info") and p.name != "bin")
        or p.suffix == ".py"
    }
    assert importable == {"riskflow"}
    folders = ("contract", "features", "scoring", "connectors", "flows", "simulator", "backtest")
    for folder in folders:
        assert (target / "riskflow" / folder / "__init__.py").is_file(), folder
    assert (target / "riskflow" / "scoring" / "rules" / "default.yaml").is_file()
    assert any((target / "riskflow" / "contract" / "schemas").glob("*.json"))
