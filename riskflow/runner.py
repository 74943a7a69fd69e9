"""Run a flow in this process: metrics endpoint, recovery and cluster arguments."""

from __future__ import annotations

import os
import tempfile
from datetime import timedelta
from pathlib import Path

from bytewax._bytewax import cli_main
from bytewax.dataflow import Dataflow
from bytewax.recovery import RecoveryConfig, init_db_dir

from flows.config import Settings

__all__ = ["recovery_config", "run_flow"]


def recovery_config(settings: Settings) -> RecoveryConfig | None:
    rec = settings.recovery
    if rec.directory is None:
        return None
    directory = Path(rec.directory)
    directory.mkdir(parents=True, exist_ok=True)
    # A fresh directory gets its partitions; an existing one is resumed from.
    if not any(directory.glob("part-*.sqlite3")):
        init_db_dir(directory, rec.partitions)
    return RecoveryConfig(directory, backup_interval=timedelta(seconds=rec.backup_interval_s))


def run_flow(
    flow: Dataflow,
    settings: Settings,
    *,
    process_id: int | None = None,
    addresses: list[str] | None = None,
    workers_per_process: int = 1,
) -> None:
    """Block until the flow ends (its inputs are exhausted) or is interrupted."""
    if settings.metrics.enabled:
        # bytewax's own HTTP endpoint serves its operator metrics and the Python
        # registry together, so one port per process carries everything.
        os.environ["BYTEWAX_DATAFLOW_API_ENABLED"] = "1"
        os.environ["BYTEWAX_DATAFLOW_API_PORT"] = str(settings.metrics.port + (process_id or 0))
        # The API server also writes the dataflow's shape to a file; keep it out of the cwd.
        os.environ.setdefault("BYTEWAX_DATAFLOW_API_CACHE_PATH", tempfile.gettempdir())
    cli_main(
        flow,
        workers_per_process=workers_per_process,
        process_id=process_id,
        addresses=addresses,
        epoch_interval=timedelta(seconds=settings.recovery.snapshot_interval_s),
        recovery_config=recovery_config(settings),
    )
