"""`riskflow lists`: change, inspect, import and export the shared risk lists, and work
the proposals riskflow makes from confirmed fraud labels.

Every change goes to Redis (entry and audit record) and is then announced on
the control topic, so running flow processes apply it within a second.
"""

from __future__ import annotations

import getpass
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import msgspec
import typer
from confluent_kafka import KafkaError, KafkaException
from rich.console import Console
from rich.table import Table

from riskflow.connectors.kafka import KafkaRefused, KafkaUnreachable, wait_for_kafka
from riskflow.connectors.lists_redis import ListsControl, RedisListStore, import_csv
from riskflow.connectors.proposals_redis import Decided, RedisProposals
from riskflow.connectors.redis_client import RedisSettings
from riskflow.failing import EXIT_UNREACHABLE, fail, redis_or_fail
from riskflow.flows.config import ConfigError, Settings, load_settings
from riskflow.scoring.lists.csvfile import entries_to_csv
from riskflow.scoring.lists.entries import ENTITIES, LIST_KINDS, ListChange, ListEntry, entry_id

__all__ = ["lists_app"]

lists_app = typer.Typer(
    no_args_is_help=True,
    help="The shared risk lists: deny, watch and allow entries in Redis, with an audit trail.",
)
console = Console(stderr=True)
out = Console()

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="Flow config naming Redis, Kafka and the control topic."),
]
ActorOpt = Annotated[
    str | None, typer.Option("--by", help="Who makes the change (default: your user name).")
]
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def _actor(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _settings(config: Path | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        fail(str(exc))


_SAVED = "; the change is saved in Redis and running flows apply it at their next reload"
"""Said when the announce fails after Redis took the change: only the flows lag behind."""


def _control(settings: Settings, *, saved: bool = False) -> ListsControl:
    """The control topic's publisher, or one line and exit 2 (refused login) or 3."""
    kafka = settings.kafka
    then = _SAVED if saved else ""
    try:
        # Checked first: librdkafka would retry a refused login until each call timed out.
        wait_for_kafka(kafka.bootstrap_servers, kafka.connect_timeout_s, client=kafka.client)
        return ListsControl(kafka.bootstrap_servers, settings.lists.topic, client=kafka.client)
    except KafkaRefused as exc:
        fail(f"{exc}{then}")
    except KafkaUnreachable as exc:
        fail(f"{exc}{then}", EXIT_UNREACHABLE)
    except (KafkaException, TimeoutError) as exc:
        error = exc.args[0] if exc.args else None
        reason = error.str() if isinstance(error, KafkaError) else str(exc) or "timed out"
        where = f"{settings.lists.topic} on Kafka at {kafka.bootstrap_servers}"
        fail(f"cannot use {where}: {reason}{then}", EXIT_UNREACHABLE)


def _store(settings: Settings) -> RedisListStore:
    conf = settings.redis or RedisSettings()
    return RedisListStore(redis_or_fail(conf), prefix=conf.key_prefix)


def _proposals(settings: Settings) -> RedisProposals:
    conf = settings.redis or RedisSettings()
    return RedisProposals(redis_or_fail(conf), prefix=conf.key_prefix)


def _announce(settings: Settings, change: ListChange) -> None:
    try:
        _control(settings, saved=True).publish(change)
    except RuntimeError as exc:
        fail(f"{exc}{_SAVED}", EXIT_UNREACHABLE)


def _check(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise typer.BadParameter(f"{what} must be one of {', '.join(allowed)}")
    return value


def parse_expiry(text: str | None, now: datetime | None = None) -> datetime | None:
    """`30d`, `12h`, `90m`, `45s` from now, or an ISO time with its zone."""
    if not text:
        return None
    now = now or datetime.now(UTC)
    if match := _DURATION.match(text):
        return now + timedelta(**{_UNITS[match[2]]: float(match[1])})
    try:
        when = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"expiry {text!r} is neither 30d/12h/90m nor ISO 8601") from exc
    if when.tzinfo is None:
        raise typer.BadParameter("an ISO expiry needs its time zone, e.g. 2026-12-31T00:00:00Z")
    return when


def _split(text: str | None) -> list[str] | None:
    return [x.strip() for x in text.split(",") if x.strip()] if text else None


@lists_app.command()
def add(
    kind: Annotated[str, typer.Argument(metavar="LIST", help="deny | watch | allow")],
    entity: Annotated[str, typer.Argument(help=" | ".join(ENTITIES))],
    value: Annotated[str, typer.Argument(help="The id, or an IP / CIDR range.")],
    reason: Annotated[str, typer.Option(help="Why it is listed.")] = "added by hand",
    source: Annotated[
        str, typer.Option(help="police | partner_bank | internal | branch | model")
    ] = ("internal"),
    by: ActorOpt = None,
    expires: Annotated[
        str | None, typer.Option(help="30d / 12h / 90m from now, or ISO time; required for allow.")
    ] = None,
    action: Annotated[str, typer.Option(help="watch: challenge | review")] = "review",
    channels: Annotated[str | None, typer.Option(help="watch: comma-separated channels")] = None,
    min_amount: Annotated[float | None, typer.Option(help="watch: from this amount")] = None,
    suppress: Annotated[
        str | None, typer.Option(help="allow: comma-separated rule ids, or 'watch'")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Add (or replace) an entry and tell the running flow."""
    by = _actor(by)
    _check(kind, LIST_KINDS, "LIST")
    _check(entity, ENTITIES, "ENTITY")
    try:
        entry = msgspec.convert(
            {
                "entity": entity,
                "value": value,
                "list": kind,
                "reason": reason,
                "source": source,
                "created_by": by,
                "created_at": datetime.now(UTC),
                "expires_at": parse_expiry(expires),
                "action": action,
                "channels": _split(channels),
                "min_amount": min_amount,
                "suppress": _split(suppress) or [],
            },
            ListEntry,
        ).validate()
    except (msgspec.ValidationError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from exc
    settings = _settings(config)
    _store(settings).add(entry, actor=by, why=reason)
    _announce(settings, ListChange(op="add", entry=entry))
    console.print(f"added {entry.id}")


@lists_app.command()
def remove(
    kind: Annotated[str, typer.Argument(metavar="LIST")],
    entity: Annotated[str, typer.Argument()],
    value: Annotated[str, typer.Argument()],
    why: Annotated[str, typer.Option(help="Why (for the audit).")] = "removed by hand",
    by: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Remove an entry and tell the running flow."""
    by = _actor(by)
    settings = _settings(config)
    target = entry_id(kind, entity, value)
    if not _store(settings).remove(target, actor=by, why=why):
        console.print(f"[yellow]{target} is not listed[/]")
        raise typer.Exit(1)
    _announce(settings, ListChange(op="remove", entry_id=target))
    console.print(f"removed {target}")


@lists_app.command()
def show(
    kind: Annotated[str | None, typer.Option("--list", help="Only this list.")] = None,
    entity: Annotated[str | None, typer.Option(help="Only this entity type.")] = None,
    value: Annotated[str | None, typer.Option(help="Only entries whose value contains this.")] = (
        None
    ),
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    config: ConfigOpt = None,
) -> None:
    """Show entries, newest first."""
    entries = [
        e
        for e in _store(_settings(config)).all()
        if (kind is None or e.kind == kind)
        and (entity is None or e.entity == entity)
        and (value is None or value in e.value)
    ]
    entries.sort(key=lambda e: e.created_at, reverse=True)
    table = Table(title=f"{len(entries):,} entries")
    for col in ("list", "entity", "value", "source", "reason", "by", "created", "expires"):
        table.add_column(col)
    for e in entries[:limit]:
        table.add_row(
            e.kind,
            e.entity,
            e.value,
            e.source,
            e.reason,
            e.created_by,
            e.created_at.isoformat(timespec="seconds"),
            e.expires_at.isoformat(timespec="seconds") if e.expires_at else "",
        )
    out.print(table)


@lists_app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Lists CSV.")],
    by: ActorOpt = None,
    why: Annotated[str, typer.Option(help="Why (for the audit).")] = "bulk import",
    config: ConfigOpt = None,
) -> None:
    """Load a CSV; bad rows are reported by line number and the good rows still load."""
    by = _actor(by)
    settings = _settings(config)
    control = _control(settings)
    text = file.read_text(encoding="utf-8-sig")
    loaded, errors = import_csv(_store(settings), control, text, actor=by, why=why)
    for err in errors:
        console.print(f"[red]{file}:{err.line}[/]: {err.error}")
    console.print(f"imported {loaded:,} entries, {len(errors):,} bad rows skipped")
    if errors:
        raise typer.Exit(1)


@lists_app.command()
def export(
    file: Annotated[Path | None, typer.Option("--out", help="Write here (default stdout).")] = None,
    config: ConfigOpt = None,
) -> None:
    """Write every entry as CSV, the format `import` reads."""
    entries = _store(_settings(config)).all()
    if file is None:
        sys.stdout.writelines(entries_to_csv(entries))
        return
    with open(file, "w", newline="", encoding="utf-8") as sink:
        sink.writelines(entries_to_csv(entries))
    console.print(f"exported {len(entries):,} entries to {file}")


@lists_app.command()
def audit(
    last: Annotated[int, typer.Option(help="The most recent N records.")] = 20,
    config: ConfigOpt = None,
) -> None:
    """The audit trail: every add, remove, expiry and proposal, oldest first."""
    records = _store(_settings(config)).audit(last=last)
    table = Table(title="audit")
    # The proposal column only when there is one: the table stays readable in 80 columns.
    proposed = any("proposal" in r for r in records)
    cols = ("at", "op", "entry", "by", "why", *(("proposal",) if proposed else ()))
    for col in cols:
        table.add_column(col)
    for r in records:
        row = (r["at"], r["op"], r["entry_id"], r["actor"], r["why"])
        table.add_row(*row, *((r.get("proposal", ""),) if proposed else ()))
    out.print(table)


@lists_app.command()
def proposals(
    status: Annotated[str, typer.Option(help="pending | accepted | rejected | all")] = "pending",
    limit: Annotated[int, typer.Option(help="At most this many rows.")] = 50,
    config: ConfigOpt = None,
) -> None:
    """Entries riskflow proposes from confirmed fraud labels, newest first."""
    _check(status, ("pending", "accepted", "rejected", "all"), "--status")
    found = [
        p for p in _proposals(_settings(config)).all() if status == "all" or p.status == status
    ]
    found.sort(key=lambda p: p.proposed_at, reverse=True)
    # One plain line each, never folded: the id is what the next command is given.
    typer.echo(f"{len(found):,} {'' if status == 'all' else status + ' '}proposals")
    for p in found[:limit]:
        ev = p.evidence
        state = p.status if p.accepted_as is None else f"{p.status} as {p.accepted_as}"
        decided = f", by {p.decided_by}: {p.why}" if p.decided_by else ""
        typer.echo(
            f"{p.id}  {state}  {p.entry_id}  {ev.frauds} frauds from {ev.victims} accounts "
            f"{ev.first_at.isoformat(timespec='minutes')} .. "
            f"{ev.last_at.isoformat(timespec='minutes')}, "
            f"expires {p.expires_at.isoformat(timespec='minutes')}{decided}"
        )


@lists_app.command()
def accept(
    proposal_id: Annotated[str, typer.Argument(metavar="ID", help="As `lists proposals` shows.")],
    as_: Annotated[
        str | None,
        typer.Option("--as", help="deny | watch (default: as proposed, watch)."),
    ] = None,
    expires: Annotated[
        str | None, typer.Option(help="30d / 12h from now, or ISO time (default: as proposed).")
    ] = None,
    why: Annotated[str | None, typer.Option(help="Why (for the audit).")] = None,
    by: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Make a proposal a list entry (source `model`) and tell the running flow."""
    by = _actor(by)
    if as_ is not None:
        _check(as_, ("deny", "watch"), "--as")
    until = parse_expiry(expires)
    settings = _settings(config)
    try:
        entry = _proposals(settings).accept(
            proposal_id,
            actor=by,
            kind="deny" if as_ == "deny" else "watch" if as_ else None,
            why=why,
            expires_at=until,
        )
    except Decided as exc:
        fail(str(exc), 1)
    _announce(settings, ListChange(op="add", entry=entry))
    console.print(f"accepted {proposal_id}: added {entry.id}")


@lists_app.command()
def reject(
    proposal_id: Annotated[str, typer.Argument(metavar="ID", help="As `lists proposals` shows.")],
    why: Annotated[str, typer.Option("--reason", "--why", help="Why (for the audit).")] = (
        "rejected by hand"
    ),
    by: ActorOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Turn a proposal down; it stays, rejected, in Redis and the audit trail."""
    by = _actor(by)
    try:
        _proposals(_settings(config)).reject(proposal_id, actor=by, why=why)
    except Decided as exc:
        fail(str(exc), 1)
    console.print(f"rejected {proposal_id}")
