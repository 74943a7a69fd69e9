"""`riskflow models`: the published model snapshots, and promoting the challenger."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from riskflow.connectors.audit import RedisAudit
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


def _store(config: Path | None, actor: str | None = None) -> tuple[RedisModelStore, RedisAudit]:
    """The configured store, verifying and signing with the flow's keys (one line, exit 2,
    when the config or the key is unusable), and the audit stream next to it."""
    try:
        settings = load_settings(config)
        signer = snapshot_signer(settings.models)
    except ConfigError as exc:
        fail(str(exc))
    conf = settings.redis or RedisSettings()
    client = redis_or_fail(conf)
    audit = RedisAudit(client, conf.key_prefix, actor or settings.audit.actor)
    return RedisModelStore(client, conf.key_prefix, signer=signer), audit


@models_app.command()
def show(config: ConfigOpt = None) -> None:
    """The newest snapshots of the champion and the challenger that verify under the key."""
    store, _ = _store(config)
    table = Table(title="model snapshots")
    for col in ("role", "version", "learned up to", "bytes"):
        table.add_column(col)
    for role in ("champion", "challenger"):
        for snap in store.since(role, -1.0)[-3:]:
            at = datetime.fromtimestamp(snap.as_of, UTC).isoformat(timespec="seconds")
            table.add_row(role, snap.version, at, str(len(snap.blob or b"")))
    Console().print(table)


@models_app.command()
def promote(
    config: ConfigOpt = None,
    by: Annotated[
        str | None, typer.Option(help="Who promotes (default: audit.actor, $RISKFLOW_ACTOR, you).")
    ] = None,
    why: Annotated[str, typer.Option(help="Why (for the audit).")] = "",
) -> None:
    """Make the challenger the champion: every worker swaps to it within a second."""
    store, audit = _store(config, by)
    try:
        done = store.promote_newest("challenger", "champion")
    except (KeyError, SnapshotError):
        # Refused snapshots were already reported, one line each, by the store.
        print("riskflow: no challenger snapshot that verifies to promote", file=sys.stderr)
        raise typer.Exit(1) from None
    audit.record(
        "model_promoted",
        version=done.version,
        source=done.source,
        previous=done.previous,
        sha256=done.sha256,
        why=why,
    )
    console.print(f"champion is now {done.version}")


@models_app.command()
def audit(
    config: ConfigOpt = None,
    last: Annotated[int | None, typer.Option(help="Only the most recent N records.")] = None,
) -> None:
    """The audit trail of ruleset loads and refusals and model promotions, oldest first."""
    _, trail = _store(config)
    records = trail.records()
    if last is not None:
        records = records[-last:] if last > 0 else []
    table = Table(title="audit")
    for col in ("at", "op", "version", "previous", "actor", "process"):
        table.add_column(col)
    for r in records:
        table.add_row(
            *(r.get(k, "") for k in ("at", "op", "version", "previous", "actor", "process"))
        )
    Console(width=200).print(table)
