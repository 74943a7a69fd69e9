"""`riskflow models`: the published model snapshots, and promoting the challenger."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from riskflow.connectors.models_redis import RedisModelStore
from riskflow.connectors.redis_client import RedisSettings
from riskflow.failing import fail, redis_or_fail
from riskflow.flows.config import ConfigError, load_settings
from riskflow.flows.models import snapshot_signer
from riskflow.scoring.models.bundle import SnapshotError

__all__ = ["models_app"]

models_app = typer.Typer(
    no_args_is_help=True, help="Learned models: published snapshots, champion and challenger."
)
console = Console(stderr=True)

ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Flow config naming Redis (or set REDIS_URL).")
]


def _store(config: Path | None) -> RedisModelStore:
    """The configured store, verifying and signing with the flow's keys (one line, exit 2,
    when the config or the key is unusable)."""
    try:
        settings = load_settings(config)
        signer = snapshot_signer(settings.models)
    except ConfigError as exc:
        fail(str(exc))
    conf = settings.redis or RedisSettings()
    return RedisModelStore(redis_or_fail(conf), conf.key_prefix, signer=signer)


@models_app.command()
def show(config: ConfigOpt = None) -> None:
    """The newest snapshots of the champion and the challenger that verify under the key."""
    store = _store(config)
    table = Table(title="model snapshots")
    for col in ("role", "version", "learned up to", "bytes"):
        table.add_column(col)
    for role in ("champion", "challenger"):
        for snap in store.since(role, -1.0)[-3:]:
            at = datetime.fromtimestamp(snap.as_of, UTC).isoformat(timespec="seconds")
            table.add_row(role, snap.version, at, str(len(snap.blob or b"")))
    Console().print(table)


@models_app.command()
def promote(config: ConfigOpt = None) -> None:
    """Make the challenger the champion: every worker swaps to it within a second."""
    try:
        version = _store(config).promote("challenger", "champion")
    except (KeyError, SnapshotError):
        # Refused snapshots were already reported, one line each, by the store.
        print("riskflow: no challenger snapshot that verifies to promote", file=sys.stderr)
        raise typer.Exit(1) from None
    console.print(f"champion is now {version}")
