"""The risk dataflow: raw messages in, decisions, alerts and dead letters out.

    raw -> parse -> (dead letters)
               \\-> key by account -> features (per-account state) -> decide
                                                                     -> decisions, alerts, Redis

Run it with `riskflow run --config FILE` or, for bytewax's own runner,
`python -m bytewax.run "flows.risk:from_config('riskflow.yaml')"`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeGuard

import bytewax.operators as op
import msgspec
from bytewax.dataflow import Dataflow, Stream

from connectors import kafka as kafka_io
from connectors.iterated import IteratedSource
from connectors.jsonl import file_sinks, replay_source
from connectors.metrics import (
    RULESET_INFO,
    RULESET_REJECTED,
    RULESET_RELOADS,
    observe_deadletters,
    observe_events_in,
    observe_verdicts,
)
from connectors.redis_store import RedisSink
from connectors.simulated import simulator_source
from contract.messages import DeadLetter
from contract.parse import Envelope, Raw, parse
from features.operator import Featured, account_logic
from flows.config import (
    FileInput,
    FileOutput,
    KafkaInput,
    Settings,
    SimulatorInput,
    load_settings,
)
from scoring.decide import Decider, Verdict
from scoring.lists import DenyListFile
from scoring.rules.reload import RulesetHolder
from scoring.rules.ruleset import DEFAULT_RULESET_PATH
from simulator.config import SimConfig

__all__ = ["build_decider", "build_flow", "from_config"]

_encode = msgspec.json.encode


def build_decider(settings: Settings) -> Decider:
    rules = RulesetHolder(
        settings.rules.path or DEFAULT_RULESET_PATH,
        check_interval_s=settings.rules.check_interval_s,
    )
    lists = DenyListFile(settings.lists.deny_path, check_interval_s=settings.lists.check_interval_s)
    return Decider(rules, lists, settings.policy)


def _input(flow: Dataflow, settings: Settings) -> Stream[Raw]:
    source = settings.input
    if isinstance(source, KafkaInput):
        return op.input("kafka_in", flow, kafka_io.inbound_source(settings.kafka))
    iterated: IteratedSource
    if isinstance(source, FileInput):
        paths = {
            kind: Path(path)
            for kind, path in (
                ("payment", source.payments),
                ("login", source.logins),
                ("feedback", source.feedback),
            )
            if path
        }
        iterated = replay_source(paths, rate=source.rate)
    elif isinstance(source, SimulatorInput):
        sim = SimConfig(
            seed=source.seed,
            customers=source.customers,
            days=source.days,
            max_events=source.events,
            malformed_rate=source.malformed_rate,
        )
        iterated = simulator_source(sim, rate=source.rate)
    else:  # pragma: no cover - the config union is closed
        raise TypeError(f"unknown input {source!r}")
    return op.input("replay_in", flow, iterated)


def _parse_batch(batch: list[Raw]) -> list[Envelope | DeadLetter]:
    out = [parse(raw) for raw in batch]
    topics: dict[str, int] = {}
    for raw in batch:
        topics[raw.topic] = topics.get(raw.topic, 0) + 1
    for topic, n in topics.items():
        observe_events_in(topic, n)
    observe_deadletters(x for x in out if isinstance(x, DeadLetter))
    return out


def _decide_batch(decider: Decider):
    seen_version = [""]
    seen_counts = [0, 0]

    def track_ruleset() -> None:
        holder = decider.rules
        if holder.version != seen_version[0]:
            if seen_version[0]:
                RULESET_INFO.remove(seen_version[0])
            RULESET_INFO.labels(holder.version).set(1)
            seen_version[0] = holder.version
        RULESET_RELOADS.inc(holder.reloads - seen_counts[0])
        RULESET_REJECTED.inc(holder.rejected - seen_counts[1])
        seen_counts[:] = [holder.reloads, holder.rejected]

    def decide(batch: list[Featured]) -> list[Verdict]:
        verdicts = [
            decider.decide(item.event, item.features, item.home_branch, item.received_at)
            for item in batch
        ]
        observe_verdicts(
            (v.decision for v in verdicts),
            (v.alert for v in verdicts if v.alert is not None),
            (hit for v in verdicts for hit in v.hits),
        )
        track_ruleset()
        return verdicts

    return decide


def _is_event(item: Envelope | DeadLetter) -> TypeGuard[Envelope]:
    return isinstance(item, Envelope)


def _as_dead_letter(item: Envelope | DeadLetter) -> DeadLetter:
    assert isinstance(item, DeadLetter)
    return item


def build_flow(settings: Settings, *, flow_id: str = "riskflow") -> Dataflow:
    """The whole risk dataflow for one config."""
    flow = Dataflow(flow_id)
    raw = _input(flow, settings)
    parsed = op.flat_map_batch("parse", raw, _parse_batch)
    valid = op.branch("valid", parsed, _is_event)
    keyed = op.key_on("by_account", valid.trues, lambda env: env.event.account_id)
    featured = op.stateful_batch("features", keyed, account_logic(settings.features))
    verdicts = op.flat_map_batch(
        "decide", op.key_rm("unkey", featured), _decide_batch(build_decider(settings))
    )
    alerts = op.filter_map("alerts", verdicts, lambda v: v.alert)
    dead = op.map("dead_letters", valid.falses, _as_dead_letter)

    output = settings.output
    if isinstance(output, FileOutput):
        sinks = file_sinks(Path(output.directory))
        op.output(
            "decisions_out",
            op.map("decision_line", verdicts, lambda v: ("", _encode(v.decision).decode())),
            sinks["decisions"],
        )
        op.output(
            "alerts_out",
            op.map("alert_line", alerts, lambda a: ("", _encode(a).decode())),
            sinks["alerts"],
        )
        op.output(
            "deadletter_out",
            op.map("deadletter_line", dead, lambda d: ("", _encode(d).decode())),
            sinks["deadletter"],
        )
    else:
        t = settings.kafka.topics
        msg = kafka_io.sink_message
        out = op.merge(
            "to_kafka",
            op.map(
                "decision_msg",
                verdicts,
                lambda v: msg(t.decisions, v.decision.account_id, _encode(v.decision)),
            ),
            op.map("alert_msg", alerts, lambda a: msg(t.alerts, a.branch_id, _encode(a))),
            op.map(
                "deadletter_msg",
                dead,
                lambda d: msg(t.deadletter, d.source_topic, _encode(d)),
            ),
        )
        op.output("kafka_out", out, kafka_io.outbound_sink(settings.kafka))

    if settings.redis is not None:
        op.output("redis_out", verdicts, RedisSink(settings.redis))
    return flow


def from_config(path: str | None = None) -> Dataflow:
    """Entry point for `python -m bytewax.run "flows.risk:from_config('FILE')"`."""
    return build_flow(load_settings(path))
