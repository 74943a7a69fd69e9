"""The risk dataflow: raw messages in, decisions, alerts and dead letters out.

    raw -> parse -> (dead letters)
               \\-> key by account -> features (per-account state) -> ip (per-IP state,
                   across accounts) -> device (per device, across accounts) -> payee (per
                   payee, across senders) -> receiver (what each account received) -> terminal
                   (per terminal or merchant, across cards)
                   -> decide (lists, limits, rules, policy) -> remember
                   -> decisions; alerts, customer notifications, Redis
                                  \\-> (a redelivered event_id, around decide) -> remember
               \\-> labels -> learn -> fraud labels per counterparty -> list proposals (Redis)

Run it with `riskflow run --config FILE` or, for bytewax's own runner,
`python -m bytewax.run "riskflow.flows.risk:from_config('riskflow.yaml')"`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeGuard

import bytewax.operators as op
import msgspec
from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.dataflow import Dataflow, Stream

from riskflow.connectors import kafka as kafka_io
from riskflow.connectors.audit import AuditTrail, FileAudit, LogAudit, RedisAudit
from riskflow.connectors.iterated import IteratedSource
from riskflow.connectors.jsonl import file_sinks, replay_source
from riskflow.connectors.kafka_sink import routing_key
from riskflow.connectors.metrics import (
    ALERT_BUDGET,
    RulesetObserver,
    observe_deadletters,
    observe_entity_error,
    observe_events_in,
    observe_learned,
    observe_proposal,
    observe_verdicts,
)
from riskflow.connectors.published_redis import PublishedDecisions
from riskflow.connectors.redis_client import redis_client
from riskflow.connectors.redis_store import RedisSink
from riskflow.connectors.simulated import simulator_source
from riskflow.contract.messages import DeadLetter, Feedback
from riskflow.contract.parse import Envelope, ParseLimits, Raw, parse, redact_dead_letter
from riskflow.features.catalog import Features
from riskflow.features.device import device_entity
from riskflow.features.device import neutral as device_neutral
from riskflow.features.entity import entity_stage, home
from riskflow.features.ip import IPConfig, ip_entity
from riskflow.features.ip import neutral as ip_neutral
from riskflow.features.operator import Duplicate, Featured, account_logic, internal_dead_letter
from riskflow.features.payee import neutral as payee_neutral
from riskflow.features.payee import payee_entity
from riskflow.features.receiver import neutral as receiver_neutral
from riskflow.features.receiver import receiver_entity
from riskflow.features.terminal import TerminalConfig, terminal_entity
from riskflow.features.terminal import neutral as terminal_neutral
from riskflow.flows.config import (
    FileInput,
    FileOutput,
    KafkaInput,
    KafkaOutput,
    Settings,
    SimulatorInput,
    load_settings,
)
from riskflow.flows.models import Models, build_models
from riskflow.scoring.budget import budget_logic
from riskflow.scoring.decide import Assessment, Decider, ListSource, Verdict
from riskflow.scoring.lists.csvfile import FileLists
from riskflow.scoring.lists.proposer import FraudLabel, fraud_labels, proposer_logic
from riskflow.scoring.models.featurelog import FeatureLog, encode_with_outcome
from riskflow.scoring.models.learning import Learned
from riskflow.scoring.models.operator import learner_logic
from riskflow.scoring.redelivery import SentDecision, decision_memory
from riskflow.scoring.rules.reload import RulesetHolder
from riskflow.scoring.rules.ruleset import DEFAULT_RULESET_PATH
from riskflow.simulator.config import SimConfig

__all__ = ["build_audit", "build_decider", "build_flow", "build_lists", "from_config"]

_encode = msgspec.json.encode


def build_lists(settings: Settings) -> ListSource:
    """This process's copy of the risk lists."""
    conf = settings.lists
    if conf.backend == "file":
        return FileLists(conf.path, check_interval_s=conf.check_interval_s)
    if settings.redis is None:
        raise ValueError("lists.backend 'redis' needs a redis section (or REDIS_URL)")
    # Imported here so file-backed runs need neither Redis nor a control topic.
    from riskflow.connectors.lists_redis import RedisLists, RedisListStore

    store = RedisListStore(redis_client(settings.redis), prefix=settings.redis.key_prefix)
    return RedisLists(
        store,
        bootstrap=settings.kafka.bootstrap_servers,
        topic=conf.topic,
        client=settings.kafka.client,
        sweep_interval_s=conf.sweep_interval_s,
    )


def build_audit(settings: Settings) -> AuditTrail:
    """Where this process records ruleset changes: the same place as the lists' audit when
    there is Redis, else a file (docs/security.md#audit)."""
    conf = settings.audit
    if conf.path:
        return FileAudit(conf.path, conf.actor)
    if settings.redis is not None:
        client = redis_client(settings.redis, timeout_s=2.0)
        return RedisAudit(client, settings.redis.key_prefix, conf.actor)
    if isinstance(settings.output, FileOutput):
        return FileAudit(Path(settings.output.directory) / "audit.jsonl", conf.actor)
    return LogAudit(conf.actor)


def build_decider(settings: Settings, models: Models | None = None) -> Decider:
    rules = RulesetHolder(
        settings.rules.path or DEFAULT_RULESET_PATH,
        check_interval_s=settings.rules.check_interval_s,
        audit=build_audit(settings),
    )
    return Decider(
        rules,
        build_lists(settings),
        settings.policy,
        limits=settings.limits,
        notify=settings.notifications,
        models=models.scorer if models else None,
        priors=settings.priors,
    )


def _recovering(settings: Settings) -> bool:
    """Whether keyed states are snapshotted at each epoch's close: only for a recovery store."""
    return settings.recovery.directory is not None


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


def _parse_batch(limits: ParseLimits, batch: list[Raw]) -> list[Envelope | DeadLetter]:
    out = [parse(raw, limits) for raw in batch]
    topics: dict[str, int] = {}
    for raw in batch:
        topics[raw.topic] = topics.get(raw.topic, 0) + 1
    for topic, n in topics.items():
        observe_events_in(topic, n)
    return out


def _count_dead_letter(_step: str, letter: DeadLetter) -> None:
    # Counted where they all meet, so the metrics and the summary match what is published.
    observe_deadletters((letter,))


def _is_featured(item: Featured | Duplicate | DeadLetter) -> TypeGuard[Featured]:
    return isinstance(item, Featured)


def _is_verdict(item: Verdict | DeadLetter) -> TypeGuard[Verdict]:
    return isinstance(item, Verdict)


def _is_duplicate(item: Featured | Duplicate | DeadLetter) -> TypeGuard[Duplicate]:
    return isinstance(item, Duplicate)


def _is_sent(item: SentDecision | DeadLetter) -> TypeGuard[SentDecision]:
    return isinstance(item, SentDecision)


def _account_of(item: Verdict | Duplicate) -> str:
    return item.decision.account_id if isinstance(item, Verdict) else item.event.account_id


def _body(sent: SentDecision) -> bytes:
    return sent.body


def _line(encode: Callable[[Any], bytes], record: Any) -> tuple[str, str]:
    return "", encode(record).decode()


def _as_dead(item: object) -> DeadLetter:
    assert isinstance(item, DeadLetter)
    return item


def _with_neutral(neutral: Callable[[], Features]) -> Callable[[Featured], Featured]:
    def add(item: Featured) -> Featured:
        item.features.update(neutral())  # the event's own dict, as the stages do
        return item

    return add


def _entities(flow_in: Stream[Featured], settings: Settings, live: bool) -> Stream[Featured]:
    """The cross-account entity stages, each adding its features to every event."""
    conf = settings.features
    snapshots = _recovering(settings)
    by_ip = (
        entity_stage(
            "ip",
            flow_in,
            ip_entity(IPConfig(accounts_cap=conf.ip_accounts_cap)),
            live=live,
            idle_expiry_s=conf.ip_idle_expiry_days * 86400.0,
            on_error=observe_entity_error,
            snapshots=snapshots,
        )
        if conf.ip_stage
        else op.map("ip_off", flow_in, _with_neutral(ip_neutral))
    )
    # Same caps and idle expiry as the IP: a device's windows are the IP's, an hour long.
    by_device = (
        entity_stage(
            "device",
            by_ip,
            device_entity(IPConfig(accounts_cap=conf.ip_accounts_cap)),
            live=live,
            idle_expiry_s=conf.ip_idle_expiry_days * 86400.0,
            on_error=observe_entity_error,
            snapshots=snapshots,
        )
        if conf.device_stage
        else op.map("device_off", by_ip, _with_neutral(device_neutral))
    )
    if conf.payee_stage:
        out = by_device
        for step_id, entity in (("payee", payee_entity()), ("receiver", receiver_entity())):
            out = entity_stage(
                step_id,
                out,
                entity,
                live=live,
                idle_expiry_s=conf.payee_idle_expiry_days * 86400.0,
                on_error=observe_entity_error,
                snapshots=snapshots,
            )
    else:
        neutral = _with_neutral(lambda: {**payee_neutral(), **receiver_neutral()})
        out = op.map("payee_off", by_device, neutral)
    if not conf.terminal_stage:
        return op.map("terminal_off", out, _with_neutral(terminal_neutral))
    terminal = TerminalConfig(
        small_amount=conf.terminal_small_amount, payments_cap=conf.terminal_payments_cap
    )
    return entity_stage(
        "terminal",
        out,
        terminal_entity(terminal),
        live=live,
        idle_expiry_s=conf.terminal_idle_expiry_days * 86400.0,
        on_error=observe_entity_error,
        snapshots=snapshots,
    )


@dataclass(frozen=True, slots=True)
class Assessed:
    """An event between assessment and action: its branch's review bar still to come when
    the branches budget their alerts."""

    item: Featured
    assessment: Assessment
    review_bar: float | None = None


def _event_order(item: Featured) -> tuple[float, str]:
    return item.event.ts.timestamp(), item.event.event_id


def _assessed_order(assessed: Assessed) -> tuple[float, str]:
    return _event_order(assessed.item)


def _day_and_score(assessed: Assessed) -> tuple[int, float]:
    return assessed.item.event.ts.toordinal(), assessed.assessment.risk.score


def _with_bar(assessed: Assessed, bar: float | None) -> Assessed:
    return dataclasses.replace(assessed, review_bar=bar)


def _branch_of(assessed: Assessed) -> str:
    return assessed.assessment.branch


def _in_order(batch: list[Assessed]) -> list[Assessed | DeadLetter]:
    ordered = sorted(batch, key=_assessed_order)
    return [*ordered]


def _dead(item: Featured, exc: Exception, step: str) -> DeadLetter:
    return internal_dead_letter(item.event, exc, step, item.topic, item.partition, item.offset)


def _assess_batch(decider: Decider) -> Callable[[list[Featured]], list[Assessed | DeadLetter]]:
    def assess(batch: list[Featured]) -> list[Assessed | DeadLetter]:
        # The per-account step hands events over grouped by account; back in event-time
        # order, the anomaly detector (which learns as it scores) sees the same sequence
        # however the input was cut into batches, so a replay is reproducible.
        out: list[Assessed | DeadLetter] = []
        for item in sorted(batch, key=_event_order):
            try:
                out.append(
                    Assessed(item, decider.assess(item.event, item.features, item.home_branch))
                )
            except Exception as exc:  # one event must not stop the flow
                out.append(_dead(item, exc, "decide"))
        return out

    return assess


def _conclude_one(decider: Decider, assessed: Assessed) -> Verdict | DeadLetter:
    item = assessed.item
    try:
        verdict = decider.conclude(
            item.event, item.features, item.received_at, assessed.assessment, assessed.review_bar
        )
        return dataclasses.replace(verdict, history=item.history)
    except Exception as exc:  # one event must not stop the flow
        return _dead(item, exc, "decide")


def _decide_batch(
    decider: Decider,
    log: FeatureLog | None,
    published: PublishedDecisions | None = None,
    *,
    assess: bool = True,
):
    """Assessed events (or, with `assess`, featured ones assessed here first) to verdicts."""
    ruleset_metrics = RulesetObserver(decider.rules)
    assess_batch = _assess_batch(decider)

    def decide(batch: list[Any]) -> list[Verdict | DeadLetter]:
        # From the budget step the events come branch by branch: back in event-time order.
        ready: list[Assessed | DeadLetter] = assess_batch(batch) if assess else _in_order(batch)
        results = [_conclude_one(decider, a) if isinstance(a, Assessed) else a for a in ready]
        if published is not None:
            # A replay after a crash re-emits what was published, not a second opinion.
            settled = iter(published.settle([v for v in results if _is_verdict(v)]))
            results = [next(settled) if _is_verdict(v) else v for v in results]
        decided = [
            (a.item, v)
            for a, v in zip(ready, results, strict=True)
            if isinstance(a, Assessed) and _is_verdict(v)
        ]
        verdicts = [v for _, v in decided]
        observe_verdicts(
            (v.decision for v in verdicts),
            (v.alert for v in verdicts if v.alert is not None),
            (hit for v in verdicts for hit in v.hits),
            (hit for v in verdicts for hit in v.list_hits),
            (n.type for v in verdicts for n in v.notifications),
            ((v.decision.event_type, item.event.channel) for item, v in decided),
        )
        ruleset_metrics.observe()
        if log is not None:
            log.put_many(
                (
                    v.decision.event_id,
                    encode_with_outcome(
                        v.model.logged,
                        v.decision.action,
                        v.alert.branch_id if v.alert else "",
                        [rule_id for rule_id, _ in v.hits],
                    ),
                )
                for v in verdicts
                if v.model
            )
        return results

    return decide


def _decide(
    up: Stream[Featured],
    settings: Settings,
    decider: Decider,
    log: FeatureLog | None,
    published: PublishedDecisions | None,
) -> Stream[Verdict | DeadLetter]:
    """Featured events to verdicts: in one step, or, when branches budget their alerts,
    assessed, then given their branch's review bar in a step keyed by branch (every process
    then budgets the whole branch, and recovery restores it), then concluded."""
    budget = settings.policy.review_budget_per_branch_day
    if not budget:
        return op.flat_map_batch("decide", up, _decide_batch(decider, log, published))
    assessed = op.branch(
        "assessed", op.flat_map_batch("assess", up, _assess_batch(decider)), _is_assessed
    )
    barred = op.stateful_batch(
        "budget",
        op.key_on("by_branch", assessed.trues, _branch_of),
        budget_logic(
            budget,
            settings.policy.challenge,
            order=_assessed_order,
            day_and_score=_day_and_score,
            with_bar=_with_bar,
            on_error=observe_entity_error,
        ),
    )
    concluded = op.flat_map_batch(
        "decide",
        op.key_rm("unkey_budget", barred),
        _decide_batch(decider, log, published, assess=False),
    )
    return op.merge("decided_all", concluded, assessed.falses)


def _is_assessed(item: Assessed | DeadLetter) -> TypeGuard[Assessed]:
    return isinstance(item, Assessed)


def _label(env: Envelope) -> Feedback | None:
    return env.event if isinstance(env.event, Feedback) else None


def _as_late_label(item: Learned | DeadLetter) -> DeadLetter | None:
    return item if isinstance(item, DeadLetter) else None


def _observe_learning(_step: str, item: Learned | DeadLetter) -> None:
    if isinstance(item, Learned):
        observe_learned(item)


def _fraud_labels(entities: tuple[str, ...], item: Learned | DeadLetter) -> list[FraudLabel]:
    if not isinstance(item, Learned):
        return []
    return fraud_labels(
        entities, item.event_id, item.account_id, item.parties, item.fraud, item.labelled_at
    )


def _party(label: FraudLabel) -> str:
    return label.party


def _proposals(outcomes: Stream[Learned | DeadLetter], settings: Settings, live: bool) -> None:
    """Fraud labels counted per counterparty; proposals held in Redis for the risk team."""
    conf = settings.lists.proposals
    redis_conf = settings.redis
    if not conf.enabled or settings.lists.backend != "redis" or redis_conf is None:
        return
    from riskflow.connectors.proposals_redis import ProposalsSink

    labels = op.flat_map("fraud_labels", outcomes, partial(_fraud_labels, tuple(conf.entities)))
    proposed = op.stateful_batch(
        "propose",
        op.key_on("by_party", labels, _party),
        proposer_logic(conf, live=live, on_outcome=observe_proposal),
    )
    sink = ProposalsSink(
        redis_conf,
        auto_accept_watch=conf.auto_accept_watch,
        bootstrap=settings.kafka.bootstrap_servers,
        topic=settings.lists.topic,
        client=settings.kafka.client,
    )
    op.output("proposals_out", op.key_rm("proposals", proposed), sink)


def _is_event(item: Envelope | DeadLetter) -> TypeGuard[Envelope]:
    return isinstance(item, Envelope)


def _as_dead_letter(item: Envelope | DeadLetter) -> DeadLetter:
    assert isinstance(item, DeadLetter)
    return item


def _to_message(
    topic: str, key: Callable[[Any], str], encode: Callable[[Any], bytes], record: Any
) -> KafkaSinkMessage:
    return kafka_io.sink_message(topic, key(record), encode(record))


def _published(settings: Settings) -> PublishedDecisions | None:
    # Only Kafka output needs it: file outputs are truncated to the snapshot on resume.
    if settings.redis is None or not isinstance(settings.output, KafkaOutput):
        return None
    conf = settings.redis
    client = redis_client(conf, timeout_s=0.5)
    return PublishedDecisions(client, conf.key_prefix, conf.published_ttl_s)


def build_flow(settings: Settings, *, flow_id: str = "riskflow", process_id: int = 0) -> Dataflow:
    """The whole risk dataflow for one config; `process_id`: this process's, when the flow
    runs as several (`-i`), so each has its own Kafka producer."""
    flow = Dataflow(flow_id)
    ALERT_BUDGET.set(settings.policy.review_budget_per_branch_day or 0)
    raw = _input(flow, settings)
    limits = settings.parse.limits(live=isinstance(settings.input, KafkaInput))
    parsed = op.flat_map_batch("parse", raw, partial(_parse_batch, limits))
    valid = op.branch("valid", parsed, _is_event)
    keyed = op.key_on("by_account", valid.trues, lambda env: env.event.account_id)
    live = isinstance(settings.input, KafkaInput)
    snapshots = _recovering(settings)
    featured = op.stateful_batch(
        "features", keyed, account_logic(settings.features, live=live, snapshots=snapshots)
    )
    # The account step and decide each dead-letter an event they fail on and go on.
    absorbed = op.branch("absorbed", op.key_rm("unkey", featured), _is_featured)
    # A redelivered event_id goes around decide: its decision was made once already.
    repeats = op.branch("repeats", absorbed.falses, _is_duplicate)
    models = build_models(settings)
    # Then the cross-account stages (per IP, device, payee, receiver, terminal), each adding its
    # features to the event, and the event back to its account's worker to be decided.
    entities = home("home", _entities(absorbed.trues, settings, live))
    decider = build_decider(settings, models)
    log = models.log if models else None
    decided = op.branch(
        "decided", _decide(entities, settings, decider, log, _published(settings)), _is_verdict
    )
    verdicts = decided.trues
    # Keyed by account again so that each account's decisions keep their order.
    remembered = op.stateful_batch(
        "remember",
        op.key_on(
            "by_decision_account", op.merge("to_remember", verdicts, repeats.trues), _account_of
        ),
        decision_memory(settings.features, live=live, snapshots=snapshots),
    )
    sent = op.branch("sent", op.key_rm("unkey_sent", remembered), _is_sent)
    dead = op.merge(
        "step_dead_letters",
        op.map("dead_letters", valid.falses, _as_dead_letter),
        op.map("features_dead_letters", repeats.falses, _as_dead),
        op.map("decide_dead_letters", decided.falses, _as_dead),
        op.map("duplicate_dead_letters", sent.falses, _as_dead),
    )
    if models is not None:
        labels = op.filter_map("labels", valid.trues, _label)
        learned = op.stateful_batch(
            "learn",
            op.key_on("to_learner", labels, lambda _: "learner"),
            learner_logic(models.learner),
        )
        outcomes = op.key_rm("learned", learned)
        op.inspect("learning_metrics", outcomes, _observe_learning)
        _proposals(outcomes, settings, live)
        late = op.filter_map("late_labels", outcomes, _as_late_label)
        dead = op.merge("all_dead_letters", dead, late)
    op.inspect("count_dead_letters", dead, _count_dead_letter)
    # Every dead letter, whichever step made it, is bounded and masked on its way out.
    kept = settings.deadletters
    dead = op.map(
        "redact_dead_letters",
        dead,
        partial(redact_dead_letter, payload_bytes=kept.payload_bytes, raw=kept.raw_payload),
    )
    # Each output stream with the record key that keeps one subject's messages in order, and
    # its encoding: decisions go out as the very bytes the memory keeps for a repeat.
    outputs: dict[str, tuple[Stream, Callable[[Any], str], Callable[[Any], bytes]]] = {
        "decisions": (sent.trues, lambda d: d.account_id, _body),
        "alerts": (
            op.filter_map("alerts", verdicts, lambda v: v.alert),
            lambda a: a.branch_id,
            _encode,
        ),
        "notifications": (
            op.flat_map("notifications", verdicts, lambda v: v.notifications),
            lambda n: n.account_id,
            _encode,
        ),
        "deadletter": (dead, lambda d: d.source_topic, _encode),
    }

    output = settings.output
    if isinstance(output, FileOutput):
        sinks = file_sinks(Path(output.directory))
        for name, (stream, _, encode) in outputs.items():
            lines = op.map(f"{name}_line", stream, partial(_line, encode))
            op.output(f"{name}_out", lines, sinks[name])
    else:
        t = settings.kafka.topics
        messages = [
            op.map(
                f"{name}_msg",
                stream,
                partial(_to_message, getattr(t, name), key, encode),
            )
            for name, (stream, key, encode) in outputs.items()
        ]
        out = op.map("by_message_key", op.merge("to_kafka", *messages), routing_key)
        op.output("kafka_out", out, kafka_io.outbound_sink(settings.kafka, process_id))

    if settings.redis is not None:
        op.output("redis_out", verdicts, RedisSink(settings.redis))
    return flow


def from_config(path: str | None = None) -> Dataflow:
    """Entry point for `python -m bytewax.run "riskflow.flows.risk:from_config('FILE')"`."""
    return build_flow(load_settings(path))
