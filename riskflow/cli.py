"""The `riskflow` command line."""

from __future__ import annotations

import dataclasses
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, NoReturn

import msgspec
import typer
from rich.console import Console
from rich.live import Live

from riskflow.allocator import running_allocator
from riskflow.connectors.kafka_client import ClientValue, redacted
from riskflow.connectors.metrics import STATS
from riskflow.connectors.redis_client import RedisSecretError, redis_password, redis_username
from riskflow.flows.config import (
    ConfigError,
    FileInput,
    FileOutput,
    MetricsSettings,
    Settings,
    SimulatorInput,
    load_settings,
)
from riskflow.flows.models import snapshot_signer
from riskflow.flows.risk import build_flow
from riskflow.lists_cli import lists_app
from riskflow.models_cli import models_app
from riskflow.runner import (
    FlowCrashed,
    KafkaRefused,
    KafkaUnreachable,
    MissingTopics,
    RedisRefused,
    RedisUnreachable,
    run_flow,
    wait_for_services,
)
from riskflow.simulator.config import SimConfig
from riskflow.simulator.files import write_denylist
from riskflow.simulator.stream import Bank
from riskflow.summary import summary_table

__all__ = ["app"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Streaming risk monitoring: payments and logins in, decisions and branch alerts out.",
)
console = Console(stderr=True)


EXIT_CONFIG = 2
"""A config or option the run cannot use (click's own code for usage errors)."""
EXIT_UNREACHABLE = 3
"""Kafka or Redis did not answer within `kafka.connect_timeout_s` at start."""
EXIT_CRASHED = 1
"""A step of the flow raised where nothing caught it: a bug, reported in one line."""


def _fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    # Plain write, not rich: one line however narrow the terminal, no markup in paths.
    print(f"riskflow: {message}", file=sys.stderr, flush=True)
    raise typer.Exit(code)


def _say(message: str) -> None:
    print(f"riskflow: {message}", file=sys.stderr, flush=True)


def _load(config: Path | None, *, env: dict[str, str] | None = None) -> Settings:
    """The config, or one line on stderr and exit 2: an operator never sees a traceback."""
    try:
        return load_settings(config, env=env)
    except ConfigError as exc:
        _fail(str(exc))


def _kafka_client(config: Path | None) -> dict[str, ClientValue]:
    """The `kafka.client` section of `--config` for commands given a bootstrap; none: plaintext."""
    return dict(_load(config).kafka.client) if config is not None else {}


KafkaConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", help="A flow config whose kafka.client (TLS, SASL) the clients use."),
]


def _reportable(settings: Settings) -> Settings:
    """The settings a report may show: a password written in kafka.client is masked."""
    kafka = msgspec.structs.replace(settings.kafka, client=redacted(settings.kafka.client))
    return settings.replace(kafka=kafka)


def _free_port(preferred: int) -> int:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", preferred))
            return preferred
        except OSError:
            s.bind(("127.0.0.1", 0))
            return int(s.getsockname()[1])


def _count_lines(*paths: Path | None) -> int:
    total = 0
    for path in paths:
        if path is not None:
            with open(path, "rb") as fh:
                while chunk := fh.read(1 << 20):
                    total += chunk.count(b"\n")
    return total


def _run_with_summary(
    flow, settings, title: str, live: bool, *, process_id=None, addresses=None, total=None
) -> None:
    STATS.reset()
    started = time.monotonic()
    stop = threading.Event()

    def refresh(display: Live) -> None:
        while not stop.wait(0.5):
            display.update(summary_table(STATS, started, title=title, total=total))

    try:
        if live and console.is_terminal:
            first = summary_table(STATS, started, title=title, total=total)
            with Live(first, console=console) as display:
                t = threading.Thread(target=refresh, args=(display,), daemon=True)
                t.start()
                try:
                    run_flow(flow, settings, process_id=process_id, addresses=addresses)
                finally:
                    stop.set()
                    t.join()
        else:
            run_flow(flow, settings, process_id=process_id, addresses=addresses)
    except KeyboardInterrupt:
        # Ctrl-C or SIGTERM (riskflow.runner turns it into the same interrupt): what was
        # decided so far is the run's result, so it ends like a finished run, exit 0.
        console.print(summary_table(STATS, started, title=title))
        _say("stopped by signal")
        return
    except FlowCrashed as exc:
        console.print(summary_table(STATS, started, title=title))
        _fail(str(exc), EXIT_CRASHED)
    console.print(summary_table(STATS, started, title=title))


@app.command()
def demo(
    events: Annotated[
        int, typer.Option(help="Stop after this many simulated events (0 = run until Ctrl-C).")
    ] = 200_000,
    out: Annotated[Path, typer.Option(help="Where the JSONL outputs go.")] = Path("demo-out"),
    customers: Annotated[int, typer.Option(help="Customers in the simulated bank.")] = 5000,
    seed: Annotated[int, typer.Option(help="Simulation seed.")] = 7,
    malformed_rate: Annotated[float, typer.Option(help="Share of broken messages.")] = 0.001,
    metrics_port: Annotated[int, typer.Option(help="Prometheus endpoint port.")] = 9100,
    config: Annotated[
        Path | None, typer.Option(help="Base config (features, policy, rules, models, ...).")
    ] = None,
) -> None:
    """Run the whole flow on the built-in simulated bank, nothing external needed."""
    base = _load(config, env={})
    if base.lists.backend != "file" or base.models.backend != "memory":
        _fail(
            "the demo runs in one process on files: use lists.backend: file, models.backend: memory"
        )
    out.mkdir(parents=True, exist_ok=True)
    sim = SimConfig(seed=seed, customers=customers)
    deny_path = out / "denylist.csv"
    listed = write_denylist(Bank(sim), deny_path)
    port = _free_port(metrics_port)
    settings = base.replace(
        input=SimulatorInput(
            seed=seed,
            customers=customers,
            events=events or None,
            days=3650.0,
            malformed_rate=malformed_rate,
        ),
        output=FileOutput(directory=str(out)),
        lists=msgspec.structs.replace(base.lists, path=str(deny_path)),
        redis=None,
        metrics=MetricsSettings(port=port),
    )
    console.print(
        f"riskflow demo: {customers:,} customers, {listed} deny-listed entities, "
        f"{'unbounded' if not events else f'{events:,} events'}; "
        f"metrics on http://127.0.0.1:{port}/metrics; outputs in {out}/"
    )
    _run_with_summary(build_flow(settings), settings, "riskflow demo", live=True)
    console.print(f"decisions, alerts and dead letters written to {out}/")


@app.command()
def run(
    config: Annotated[Path, typer.Option(help="YAML config; see docs/operations.md.")],
    process_id: Annotated[int | None, typer.Option("-i", "--process-id")] = None,
    addresses: Annotated[
        str | None, typer.Option("-a", "--addresses", help="host:port;host:port of all processes")
    ] = None,
) -> None:
    """Run the flow as configured (Kafka and Redis in production)."""
    settings = _load(config)
    if settings.redis is not None:
        # Before any waiting on Kafka: a missing secret is the config's fault, found at once.
        try:
            redis_username(settings.redis)
            redis_password(settings.redis)
        except RedisSecretError as exc:
            _fail(str(exc))
    if settings.models.enabled and settings.models.backend == "redis":
        try:
            snapshot_signer(settings.models)
        except ConfigError as exc:
            _fail(str(exc))
    addr = addresses.split(";") if addresses else None
    if addr and len(addr) > 1 and settings.models.enabled and settings.models.backend == "memory":
        # Each process would learn alone and never see the others' decisions.
        _fail("a flow of several processes needs models.backend: redis")
    if settings.models.enabled and settings.models.backend == "memory":
        _say(
            "WARNING: models.backend is memory: the models learned are lost when this "
            "process stops; use models.backend: redis in production"
        )
    if running_allocator() != "jemalloc":
        _say(
            "note: running on the system allocator, whose heap grows over days of traffic; "
            "the container image runs on jemalloc (docs/operations.md, Memory)"
        )
    try:
        wait_for_services(settings, waiting=_say)
    except (KafkaUnreachable, RedisUnreachable) as exc:
        _fail(str(exc), EXIT_UNREACHABLE)
    except (KafkaRefused, MissingTopics, RedisRefused) as exc:
        _fail(str(exc))
    _run_with_summary(
        build_flow(settings, process_id=process_id or 0),
        settings,
        "riskflow",
        live=False,
        process_id=process_id,
        addresses=addr,
    )


@app.command()
def backtest(
    out: Annotated[Path, typer.Option(help="Output directory.")],
    payments: Annotated[Path | None, typer.Option(help="payments JSONL")] = None,
    logins: Annotated[Path | None, typer.Option(help="logins JSONL")] = None,
    feedback: Annotated[Path | None, typer.Option(help="feedback JSONL")] = None,
    truth: Annotated[Path | None, typer.Option(help="ground truth JSONL, for the report")] = None,
    rules: Annotated[Path | None, typer.Option(help="ruleset YAML (default: packaged)")] = None,
    lists: Annotated[Path | None, typer.Option(help="risk lists CSV (docs/operations.md)")] = None,
    models: Annotated[bool, typer.Option(help="Learn from the feedback and score with models.")] = (
        True
    ),
    model_only: Annotated[
        bool, typer.Option(help="Let the model alone score and act once warm (policy.combine).")
    ] = False,
    config: Annotated[
        Path | None, typer.Option(help="Base config (features, policy, models, ...).")
    ] = None,
    branch_capacity: Annotated[
        float | None, typer.Option(help="Alerts a branch can work per day, for the report.")
    ] = None,
) -> None:
    """Replay files through the production flow in event-time order; with --truth, a report."""
    if not (payments or logins):
        _fail("backtest: give --payments and/or --logins")
    base = _load(config, env={})
    settings = base.replace(
        input=FileInput(
            payments=str(payments) if payments else None,
            logins=str(logins) if logins else None,
            feedback=str(feedback) if feedback else None,
        ),
        output=FileOutput(directory=str(out)),
        # The config's rules and lists stand unless an option replaces them.
        rules=base.rules if rules is None else msgspec.structs.replace(base.rules, path=str(rules)),
        lists=base.lists if lists is None else msgspec.structs.replace(base.lists, path=str(lists)),
        models=msgspec.structs.replace(base.models, enabled=models),
        # A replay must never write into the serving Redis of the bank.
        redis=None,
        metrics=MetricsSettings(enabled=False),
    )
    if settings.lists.backend != "file":
        _fail(
            f"backtest: lists.backend: {settings.lists.backend} is live, a backtest reads a "
            "lists CSV: use lists.backend: file with lists.path, or give --lists"
        )
    if settings.models.enabled and settings.models.backend != "memory":
        _fail(
            f"backtest: models.backend: {settings.models.backend} would train the live "
            "models: use models.backend: memory, or --no-models"
        )
    if model_only:
        if not models:
            _fail("backtest: --model-only needs the models: drop --no-models")
        settings = settings.replace(policy=dataclasses.replace(settings.policy, combine="model"))
    total = _count_lines(payments, logins, feedback)
    _run_with_summary(build_flow(settings), settings, "riskflow backtest", live=True, total=total)
    if truth is not None:
        from riskflow.backtest.report import build_report

        name = "model only" if model_only else "rules + models" if models else "rules only"
        report = build_report(
            {name: out},
            truth,
            out,
            payments=payments,
            inputs={
                "payments": payments,
                "logins": logins,
                "feedback": feedback,
                "rules": rules,
                "lists": lists,
                "config": config,
            },
            settings=msgspec.to_builtins(_reportable(settings)),
            branch_capacity=branch_capacity,
        )
        run = next(iter(report["runs"].values()))
        _report([{"benchmark": "backtest (payments)"} | run["summary"]], None)
        console.print(f"report: {out / 'report.html'}")


@app.command("branch-desk")
def branch_desk(
    kafka: Annotated[str, typer.Option(help="Kafka bootstrap servers.")],
    capacity: Annotated[int, typer.Option(help="Alerts each branch reviews per day.")] = 20,
    days: Annotated[float, typer.Option(help="As given to `riskflow simulate`.")] = 1.0,
    customers: Annotated[int, typer.Option(help="As given to `riskflow simulate`.")] = 50_000,
    seed: Annotated[int, typer.Option(help="As given to `riskflow simulate`.")] = 7,
    fraud_rate: Annotated[
        float, typer.Option(help="As given to `riskflow simulate`.")
    ] = SimConfig.fraud_rate,
    config: KafkaConfigOpt = None,
) -> None:
    """Branch staff for the simulated bank: review riskflow's alerts, report the outcomes."""
    from riskflow.simulator.kafka import run_desk

    client = _kafka_client(config)
    sim = SimConfig(seed=seed, customers=customers, days=days, fraud_rate=fraud_rate)
    console.print(f"branch desk: {capacity} reviews per branch per day; Ctrl-C to stop")
    counts = run_desk(sim, kafka, capacity_per_day=capacity, client=client)
    console.print(", ".join(f"{k}: {v:,}" for k, v in counts.items()))


@app.command()
def compare(
    runs: Annotated[list[str], typer.Argument(help="NAME=DIR of backtest outputs, two or more.")],
    truth: Annotated[Path, typer.Option(help="ground truth JSONL")],
    out: Annotated[Path, typer.Option(help="Where the comparison report goes.")],
    payments: Annotated[Path | None, typer.Option(help="payments JSONL, for amounts")] = None,
    branch_capacity: Annotated[
        float | None, typer.Option(help="Alerts per branch per day.")
    ] = None,
) -> None:
    """Backtest outputs side by side: rules only vs models, ruleset A vs B, ..."""
    from riskflow.backtest.report import build_report

    named: dict[str, Path] = {}
    for item in runs:
        name, sep, directory = item.partition("=")
        if not sep or not (Path(directory) / "decisions.jsonl").exists():
            raise typer.BadParameter(f"{item!r}: give NAME=DIR with a decisions.jsonl in DIR")
        named[name] = Path(directory)
    report = build_report(named, truth, out, payments=payments, branch_capacity=branch_capacity)
    _report([{"benchmark": n} | r["summary"] for n, r in report["runs"].items()], None)
    console.print(f"report: {out / 'report.html'}")


@app.command()
def simulate(
    out: Annotated[Path | None, typer.Option(help="Write JSONL files here.")] = None,
    kafka: Annotated[str | None, typer.Option(help="Produce to this Kafka bootstrap.")] = None,
    rate: Annotated[float | None, typer.Option(help="Messages per second to Kafka.")] = None,
    events: Annotated[int | None, typer.Option(help="Stop after this many events.")] = None,
    days: Annotated[float, typer.Option(help="Simulated days.")] = 1.0,
    customers: Annotated[int, typer.Option(help="Customers in the bank.")] = 50_000,
    seed: Annotated[int, typer.Option(help="Seed.")] = 7,
    malformed_rate: Annotated[float, typer.Option(help="Share of broken messages.")] = 0.0,
    fraud_rate: Annotated[
        float, typer.Option(help="Share of sessions that turn into a fraud scenario.")
    ] = SimConfig.fraud_rate,
    branch_reviews: Annotated[
        bool,
        typer.Option(help="Label surprising payments as branch reviews (off with branch-desk)."),
    ] = True,
    config: KafkaConfigOpt = None,
) -> None:
    """Generate a realistic bank stream with injected fraud and its ground truth."""
    from riskflow.simulator.files import write_jsonl
    from riskflow.simulator.kafka import produce

    sim = SimConfig(
        seed=seed,
        customers=customers,
        days=days,
        max_events=events,
        malformed_rate=malformed_rate,
        fraud_rate=fraud_rate,
        branch_reviews=branch_reviews,
    )
    if out is None and kafka is None:
        raise typer.BadParameter("give --out DIR and/or --kafka BOOTSTRAP")
    client = _kafka_client(config)
    if out is not None:
        counts = write_jsonl(sim, out)
        for name, n in counts.items():
            console.print(f"{name}: {n:,}")
    if kafka is not None:
        n = produce(sim, kafka, rate=rate, client=client)
        console.print(f"produced {n:,} messages to {kafka}")


app.add_typer(lists_app, name="lists")
app.add_typer(models_app, name="models")

bench_app = typer.Typer(no_args_is_help=True, help="Benchmarks; results go in docs/performance.md.")
app.add_typer(bench_app, name="bench")


def _report(results: list[dict], json_out: Path | None) -> None:
    import json

    from rich.table import Table

    for result in results:
        table = Table(title=str(result.get("benchmark")), show_header=False)
        for key, value in result.items():
            if key != "benchmark":
                table.add_row(
                    key,
                    f"{value:,}"
                    if isinstance(value, int) and not isinstance(value, bool)
                    else str(value),
                )
        Console().print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(results, indent=2) + "\n")


@bench_app.command("embedded")
def bench_embedded_cmd(
    events: Annotated[int, typer.Option(help="Simulated events.")] = 200_000,
    customers: Annotated[int, typer.Option(help="Customers.")] = 5000,
    json_out: Annotated[Path | None, typer.Option(help="Also write JSON here.")] = None,
) -> None:
    """Events/s and decision latency of the in-process path, one process."""
    from riskflow.benchmarks.embedded import bench_embedded

    _report([bench_embedded(events, customers)], json_out)


@bench_app.command("replay")
def bench_replay_cmd(
    customers: Annotated[int, typer.Option(help="Customers in the simulated bank.")] = 50_000,
    days: Annotated[float, typer.Option(help="Simulated days.")] = 3.0,
    models: Annotated[bool, typer.Option(help="Learn and score with models.")] = True,
    json_out: Annotated[Path | None, typer.Option(help="Also write JSON here.")] = None,
) -> None:
    """Backtest replay speed: simulated files through the flow, one process."""
    from riskflow.benchmarks.replay import bench_replay

    _report([bench_replay(customers, days, models=models)], json_out)


@bench_app.command("kafka")
def bench_kafka_cmd(
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka bootstrap (default: $KAFKA_BOOTSTRAP_SERVERS).")
    ] = None,
    rates: Annotated[str, typer.Option(help="Offered loads in events/s, comma separated.")] = (
        "500,2000,5000"
    ),
    seconds: Annotated[float, typer.Option(help="Seconds per load.")] = 20.0,
    json_out: Annotated[Path | None, typer.Option(help="Also write JSON here.")] = None,
    config: KafkaConfigOpt = None,
    baseline: Annotated[
        bool,
        typer.Option(help="Also measure a pass-through flow (Kafka in, allow out) at each rate."),
    ] = False,
) -> None:
    """End-to-end latency through real Kafka at fixed offered loads."""
    import os

    from riskflow.benchmarks.kafka_path import bench_kafka

    server = bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not server:
        raise typer.BadParameter("give --bootstrap or set KAFKA_BOOTSTRAP_SERVERS")
    loads = tuple(float(r) for r in rates.split(","))
    rows = bench_kafka(server, loads, seconds, client=_kafka_client(config), baseline=baseline)
    _report(rows, json_out)


@bench_app.command("state")
def bench_state_cmd(
    events: Annotated[int, typer.Option(help="Simulated events.")] = 300_000,
    json_out: Annotated[Path | None, typer.Option(help="Also write JSON here.")] = None,
) -> None:
    """Bytes of snapshotted state per account."""
    from riskflow.benchmarks.state_size import bench_state_size

    _report([bench_state_size(events)], json_out)


@bench_app.command("rules")
def bench_rules_cmd(
    json_out: Annotated[Path | None, typer.Option(help="Also write JSON here.")] = None,
) -> None:
    """Cost of evaluating the default ruleset per event."""
    from riskflow.benchmarks.rules_cost import measure_ruleset_cost
    from riskflow.scoring.rules.ruleset import DEFAULT_RULESET_PATH, load_ruleset

    result = {"benchmark": "rules"} | measure_ruleset_cost(load_ruleset(DEFAULT_RULESET_PATH))
    _report([result], json_out)


@bench_app.command("lists")
def bench_lists_cmd(
    entries: Annotated[int, typer.Option(help="Entries to import.")] = 100_000,
    json_out: Annotated[Path | None, typer.Option(help="Also write JSON here.")] = None,
    config: KafkaConfigOpt = None,
) -> None:
    """Import, load, screening cost and change propagation of the risk lists.

    Needs KAFKA_BOOTSTRAP_SERVERS and REDIS_URL.
    """
    import os

    from riskflow.benchmarks.lists import bench_lists

    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    redis_url = os.environ.get("REDIS_URL")
    if not (bootstrap and redis_url):
        raise typer.BadParameter("set KAFKA_BOOTSTRAP_SERVERS and REDIS_URL")
    client = _kafka_client(config)
    _report([bench_lists(redis_url, bootstrap, entries, client=client)], json_out)


@bench_app.command("models")
def bench_models_cmd(
    events: Annotated[
        int, typer.Option(help="Simulated messages to featurize and score.")
    ] = 60_000,
    json_out: Annotated[Path | None, typer.Option(help="Also write JSON here.")] = None,
) -> None:
    """Scoring cost per event with models on, learning throughput, snapshot size and time."""
    from riskflow.benchmarks.models import bench_models, compare_recipes

    _report([bench_models(events), compare_recipes()], json_out)


@bench_app.command("quality")
def bench_quality_cmd(
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="handbook, ulb or bank (repeatable); default all three."),
    ] = None,
    work: Annotated[Path | None, typer.Option(help="Keep the streams and outputs here.")] = None,
    ulb_csv: Annotated[
        Path | None, typer.Option(help="The ULB creditcard.csv, if not installed.")
    ] = None,
    customers: Annotated[int, typer.Option(help="Handbook customers (5,000 as published).")] = 5000,
    bank_days: Annotated[float, typer.Option(help="Days of the own bank.")] = 30.0,
    json_out: Annotated[Path | None, typer.Option(help="Also write JSON here.")] = None,
) -> None:
    """Quality on public benchmarks beside their published baselines (docs/performance.md)."""
    import tempfile

    from riskflow.benchmarks.quality.run import as_row, bench_bank, bench_handbook, bench_ulb

    chosen = only or ["handbook", "ulb", "bank"]
    unknown = sorted(set(chosen) - {"handbook", "ulb", "bank"})
    if unknown:
        raise typer.BadParameter(f"unknown benchmark {unknown[0]!r}", param_hint="--only")
    with tempfile.TemporaryDirectory() as tmp:
        base = work or Path(tmp)
        results = []
        for name in chosen:
            where = base / name
            where.mkdir(parents=True, exist_ok=True)
            console.print(f"[bold]{name}[/bold] ...")
            if name == "handbook":
                results.append(bench_handbook(where, customers=customers, terminals=2 * customers))
            elif name == "ulb":
                results.append(bench_ulb(where, csv=ulb_csv))
            else:
                results.append(bench_bank(where, days=bank_days))
            _report([as_row(results[-1])], None)
        if json_out is not None:
            json_out.write_bytes(msgspec.json.format(msgspec.json.encode(results)))


@bench_app.command("hostile")
def bench_hostile_cmd(
    hostile: Annotated[
        int, typer.Option(help="Hostile messages, every category in turn.")
    ] = 100_000,
    customers: Annotated[int, typer.Option(help="Customers of the simulated bank.")] = 3000,
    days: Annotated[float, typer.Option(help="Days of the simulated bank.")] = 10.0,
    via: Annotated[
        str, typer.Option(help="files: replayed in this process; kafka: to `riskflow run`.")
    ] = "files",
    bootstrap: Annotated[
        str | None,
        typer.Option(help="--via kafka: the broker (default: $KAFKA_BOOTSTRAP_SERVERS)."),
    ] = None,
    kill: Annotated[
        int, typer.Option(help="--via kafka: kill -9 the flow this many times and restart it.")
    ] = 0,
    redis_url: Annotated[
        str | None,
        typer.Option(
            help="--via kafka: a Redis for the flow, as in production (default: $REDIS_URL)."
        ),
    ] = None,
    work: Annotated[Path | None, typer.Option(help="Keep the corpus and outputs here.")] = None,
    json_out: Annotated[Path | None, typer.Option(help="Also write JSON here.")] = None,
    config: KafkaConfigOpt = None,
) -> None:
    """Hostile messages mixed into a bank's stream, replayed: every message accounted for."""
    import os
    import tempfile

    if via not in ("files", "kafka"):
        _fail(f"bench hostile: --via is files or kafka, not {via!r}")
    if via == "files" and (kill or bootstrap or redis_url):
        _fail("bench hostile: --kill, --bootstrap and --redis-url go with --via kafka")
    if kill < 0:
        _fail("bench hostile: --kill is a number of kills, 0 or more")
    server = bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    client = _kafka_client(config)
    if via == "kafka":
        if not server:
            _fail("bench hostile --via kafka: give --bootstrap or set KAFKA_BOOTSTRAP_SERVERS")
        from riskflow.connectors.kafka import wait_for_kafka
        from riskflow.runner import wait_for_redis

        redis_url = redis_url or os.environ.get("REDIS_URL")
        try:
            wait_for_kafka(server, 15.0, client=client)
            if redis_url:
                wait_for_redis(redis_url, 15.0)
        except (KafkaUnreachable, RedisUnreachable) as exc:
            _fail(f"bench hostile: {exc}", EXIT_UNREACHABLE)
        except KafkaRefused as exc:
            _fail(f"bench hostile: {exc}")
    with tempfile.TemporaryDirectory() as tmp:
        where = work or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        try:
            if via == "kafka":
                from riskflow.benchmarks.hostile_kafka import bench_hostile_kafka

                assert server is not None
                result = bench_hostile_kafka(
                    where,
                    server,
                    hostile=hostile,
                    customers=customers,
                    days=days,
                    kill=kill,
                    redis_url=redis_url,
                    client=client,
                )
            else:
                from riskflow.benchmarks.hostile import bench_hostile

                result = bench_hostile(where, hostile=hostile, customers=customers, days=days)
        except KeyboardInterrupt:
            _fail("bench hostile: interrupted", 130)
        _report([{k: (str(v) if isinstance(v, dict) else v) for k, v in result.items()}], json_out)
    if via == "kafka" and (result["status"] != "complete" or result["crashes"]):
        _fail(f"bench hostile: {result['status']}, {result['crashes']} crash(es)", 1)


@bench_app.command("crash")
def bench_crash_cmd(
    events: Annotated[
        int, typer.Option(help="Payments and logins (labels come on top).")
    ] = 200_000,
    customers: Annotated[int, typer.Option(help="Customers of the simulated bank.")] = 20_000,
    rate: Annotated[float, typer.Option(help="Messages produced per second.")] = 1500.0,
    kills: Annotated[int, typer.Option(help="kill -9s of the flow during the crash run.")] = 10,
    snapshot_interval: Annotated[
        float, typer.Option(help="recovery.snapshot_interval_s of the flow.")
    ] = 3.0,
    seed: Annotated[int, typer.Option(help="Seed of the bank and of the kill moments.")] = 12,
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka bootstrap (default: $KAFKA_BOOTSTRAP_SERVERS).")
    ] = None,
    redis_url: Annotated[str | None, typer.Option(help="Redis (default: $REDIS_URL).")] = None,
    work: Annotated[Path | None, typer.Option(help="Keep configs, logs and recovery here.")] = None,
    json_out: Annotated[Path | None, typer.Option(help="Also write JSON here.")] = None,
    config: KafkaConfigOpt = None,
) -> None:
    """kill -9 the live flow mid-stream and restart it; the books against a clean run."""
    import os
    import tempfile

    from riskflow.benchmarks.crash import bench_crash

    server = bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    url = redis_url or os.environ.get("REDIS_URL")
    if not (server and url):
        raise typer.BadParameter(
            "give --bootstrap and --redis-url or set KAFKA_BOOTSTRAP_SERVERS and REDIS_URL"
        )
    from riskflow.connectors.kafka import wait_for_kafka
    from riskflow.runner import wait_for_redis

    client = _kafka_client(config)
    try:
        wait_for_kafka(server, 10.0, client=client)
        wait_for_redis(url, 10.0)
    except (KafkaUnreachable, RedisUnreachable) as exc:
        _fail(str(exc), EXIT_UNREACHABLE)
    except KafkaRefused as exc:
        _fail(str(exc))
    with tempfile.TemporaryDirectory() as tmp:
        where = work or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        try:
            result = bench_crash(
                server,
                url,
                where,
                events=events,
                customers=customers,
                rate=rate,
                kills=kills,
                snapshot_interval_s=snapshot_interval,
                seed=seed,
                kafka_client=client,
            )
        except KeyboardInterrupt:
            # The flow under test was stopped on the way out (SIGTERM, then SIGKILL).
            _fail("bench crash interrupted", 130)
    _report(
        [{k: (str(v) if isinstance(v, dict | list) else v) for k, v in result.items()}], json_out
    )


@bench_app.command("soak")
def bench_soak_cmd(
    minutes: Annotated[float, typer.Option(help="Length of the steady load.")] = 30.0,
    accounts: Annotated[int, typer.Option(help="Accounts in the pool, each visited in turn.")] = (
        500_000
    ),
    rate: Annotated[float, typer.Option(help="Messages offered per second.")] = 800.0,
    idle_minutes: Annotated[
        float | None,
        typer.Option(
            help="Idle time after which an account expires (default: a quarter of the run)."
        ),
    ] = None,
    sample_s: Annotated[float, typer.Option(help="Seconds between RSS samples.")] = 5.0,
    bootstrap: Annotated[
        str | None, typer.Option(help="Kafka bootstrap (default: $KAFKA_BOOTSTRAP_SERVERS).")
    ] = None,
    out: Annotated[Path, typer.Option(help="Where the CSV, plot and flow log go.")] = Path(
        "soak-out"
    ),
    json_out: Annotated[Path | None, typer.Option(help="Also write JSON here.")] = None,
    allocator: Annotated[
        str,
        typer.Option(help="jemalloc (as the container image runs the flow) or system (glibc)."),
    ] = "jemalloc",
    config: KafkaConfigOpt = None,
) -> None:
    """The live flow under steady load for a long time: RSS sampled, plotted, its slope."""
    import os

    from riskflow.allocator import AllocatorUnavailable, allocator_env
    from riskflow.benchmarks.soak import SoakError, SoakPlan, run_soak
    from riskflow.connectors.kafka import KafkaUnreachable, wait_for_kafka

    server = bootstrap or os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not server:
        _fail("bench soak: give --bootstrap or set KAFKA_BOOTSTRAP_SERVERS")
    if minutes <= 0 or accounts < 1 or rate <= 0 or sample_s <= 0:
        _fail("bench soak: --minutes, --accounts, --rate and --sample-s must be positive")
    try:
        allocator_env(allocator)
    except AllocatorUnavailable as exc:
        _fail(f"bench soak: {exc}")
    client = _kafka_client(config)
    try:
        wait_for_kafka(server, 30.0, client=client, waiting=_say)
    except KafkaUnreachable as exc:
        _fail(str(exc), EXIT_UNREACHABLE)
    except KafkaRefused as exc:
        _fail(str(exc))
    plan = SoakPlan(
        bootstrap=server,
        out=out,
        client=client,
        minutes=minutes,
        accounts=accounts,
        rate=rate,
        idle_minutes=idle_minutes,
        sample_s=sample_s,
        allocator=allocator,
    )
    console.print(
        f"riskflow soak: {minutes:g} min at {rate:,.0f} msg/s over {accounts:,} accounts, "
        f"accounts expire after {plan.idle_s:,.0f} s idle, {allocator} allocator; "
        f"outputs in {out}/"
    )
    try:
        result = run_soak(plan)
    except SoakError as exc:
        _fail(f"bench soak: {exc}", 1)
    except KeyboardInterrupt:
        _fail("bench soak: interrupted; the flow was stopped", 130)
    _report([result], json_out)
    if result["flow_exit"] != 0:
        _fail(f"bench soak: the flow exited with {result['flow_exit']} on SIGTERM", 1)
