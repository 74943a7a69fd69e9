"""Prometheus metrics of the flow, and an in-process tally for terminal summaries.

Label sets are bounded: topics, actions, reasons, rule ids, list kinds and
sources, notification types and branch ids are all small closed sets; account
ids never become labels. The metrics live in prometheus-client's default
registry, which bytewax's own HTTP endpoint serves alongside its operator
metrics on one port (see `riskflow.runner`).
"""

from __future__ import annotations

import random
import threading
from collections import Counter as Tally
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import Counter, Gauge, Histogram

from riskflow.contract.messages import Alert, DeadLetter, Decision
from riskflow.scoring.models.prequential import Prequential

if TYPE_CHECKING:
    # Annotations only: the model code counts its refused snapshots here.
    from riskflow.scoring.models.learning import Learned
    from riskflow.scoring.rules.reload import RulesetHolder

__all__ = [
    "ALERTS",
    "ALERT_BUDGET",
    "ALERT_DISPOSITIONS",
    "DEADLETTERS",
    "DECISIONS",
    "DECISION_LATENCY",
    "DECISION_SCORE",
    "DISPOSITION_SECONDS",
    "DUPLICATES",
    "ENTITY_ERRORS",
    "EVENTS_IN",
    "EVENTS_SCORED",
    "LABEL_DELAY",
    "LAST_DECISION",
    "LIST_CHANGES",
    "LIST_ENTRIES",
    "LIST_HITS",
    "LIST_PROPOSALS",
    "MODEL_AP",
    "MODEL_AUC",
    "MODEL_INFO",
    "MODEL_LABELS",
    "MODEL_PRECISION_AT_K",
    "MODEL_SNAPSHOTS_REFUSED",
    "NOTIFICATIONS",
    "REDIS_DROPPED",
    "REDIS_WRITES",
    "REDIS_WRITE_FAILURES",
    "RULESET_INFO",
    "RULESET_REJECTED",
    "RULESET_RELOADS",
    "RULE_ERRORS",
    "RULE_HITS",
    "RULE_LABELS",
    "STATS",
    "RulesetObserver",
    "RunStats",
    "observe_deadletters",
    "observe_entity_error",
    "observe_events_in",
    "observe_learned",
    "observe_proposal",
    "observe_snapshot_refused",
    "observe_verdicts",
]

EVENTS_IN = Counter("riskflow_events_in_total", "Inbound messages read, by topic", ["topic"])
DECISIONS = Counter(
    "riskflow_decisions_total",
    "Decisions emitted, by action and event type",
    ["action", "event_type"],
)
ALERTS = Counter("riskflow_alerts_total", "Alerts emitted, by branch", ["branch_id", "severity"])
DEADLETTERS = Counter("riskflow_deadletters_total", "Dead-lettered messages, by reason", ["reason"])
DECISION_LATENCY = Histogram(
    "riskflow_decision_latency_seconds",
    "From reading an event to emitting its decision",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0),
)
ENTITY_ERRORS = Counter(
    "riskflow_entity_errors_total",
    "Events an entity stage failed on and passed on with neutral features, by entity and error",
    ["entity", "error"],
)
DUPLICATES = Counter(
    "riskflow_duplicates_total",
    "Redelivered payments and logins (an event_id already decided), by event type",
    ["event_type"],
)
RULE_HITS = Counter("riskflow_rule_hits_total", "Rule firings, by rule", ["rule_id", "action"])
LIST_HITS = Counter(
    "riskflow_list_hits_total",
    "Risk-list entries that decided or flagged an event",
    ["list", "entity", "source"],
)
LIST_ENTRIES = Gauge("riskflow_list_entries", "Entries in this process's copy of the risk lists")
LIST_CHANGES = Counter(
    "riskflow_list_changes_total", "List changes applied from the control topic", ["op"]
)
LIST_PROPOSALS = Counter(
    "riskflow_list_proposals_total",
    "Risk-list proposals from confirmed fraud labels: proposed, refused (cannot be an entry), "
    "auto_accepted, write_failed (retried), dropped (Redis away too long)",
    ["outcome"],
)
NOTIFICATIONS = Counter(
    "riskflow_notifications_total", "Customer notifications emitted, by type", ["type"]
)
MODEL_LABELS = Counter(
    "riskflow_model_labels_total",
    "Labels learned, by model role, event type and label",
    ["role", "event_type", "label"],
)
MODEL_AUC = Gauge(
    "riskflow_model_prequential_auc",
    "Prequential ROC AUC over the last 2,000 labels (predicted before learning)",
    ["role", "event_type"],
)
MODEL_AP = Gauge(
    "riskflow_model_prequential_average_precision",
    "Prequential average precision over the last 2,000 labels",
    ["role", "event_type"],
)
MODEL_INFO = Gauge(
    "riskflow_model_info", "The model version each role learns (value 1)", ["role", "version"]
)
LABEL_DELAY = Histogram(
    "riskflow_label_delay_seconds",
    "From an event to its label",
    buckets=(600, 3600, 6 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400, 60 * 86400),
)
DECISION_SCORE = Histogram(
    "riskflow_decision_score",
    "Scores of decisions, by event type and scorer",
    ["event_type", "scorer"],
    buckets=(0.01, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0),
)
MODEL_SNAPSHOTS_REFUSED = Counter(
    "riskflow_model_snapshots_refused_total",
    "Model snapshots not loaded (unsigned, bad_signature, malformed, unknown_format, "
    "unknown_recipe, mismatch) or not published (not_shareable), by reason",
    ["reason"],
)
REDIS_WRITES = Counter("riskflow_redis_writes_total", "Account records written to Redis")
REDIS_WRITE_FAILURES = Counter(
    "riskflow_redis_write_failures_total", "Redis pipelines that failed and will be retried"
)
REDIS_DROPPED = Counter(
    "riskflow_redis_dropped_total", "Pending Redis records dropped while Redis was unreachable"
)
RULESET_INFO = Gauge("riskflow_ruleset_info", "The ruleset in use (value 1)", ["version"])
RULESET_RELOADS = Counter("riskflow_ruleset_reloads_total", "Rulesets loaded while running")
RULESET_REJECTED = Counter("riskflow_ruleset_rejected_total", "Ruleset files that failed to load")
RULE_ERRORS = Counter(
    "riskflow_rule_errors_total",
    "Rule evaluations that raised and were skipped (the rule did not fire), by rule",
    ["rule_id"],
)
EVENTS_SCORED = Counter(
    "riskflow_events_scored_total",
    "Payments and logins decided, by channel",
    ["event_type", "channel"],
)
LAST_DECISION = Gauge(
    "riskflow_last_decision_timestamp_seconds", "Wall-clock time of this process's last decision"
)
ALERT_DISPOSITIONS = Counter(
    "riskflow_alert_dispositions_total",
    "Alerted events whose outcome came back as a label, by branch and outcome",
    ["branch_id", "outcome"],
)
DISPOSITION_SECONDS = Histogram(
    "riskflow_alert_disposition_seconds",
    "From an alerted event to its label, by branch",
    ["branch_id"],
    buckets=(3600, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400),
)
RULE_LABELS = Counter(
    "riskflow_rule_labels_total",
    "Labels on events a rule fired on: fraud / (fraud + legit) is its precision",
    ["rule_id", "label"],
)
ALERT_BUDGET = Gauge(
    "riskflow_alert_budget_per_branch_day",
    "Alerts a branch can work per day (policy.review_budget_per_branch_day; 0 = no budget)",
)
MODEL_PRECISION_AT_K = Gauge(
    "riskflow_model_prequential_precision_at_k",
    "Fraud share of the 50 best-scored of the last 2,000 labelled events",
    ["role", "event_type"],
)


@dataclass
class RunStats:
    """What the terminal summary shows; filled by the same hooks as the metrics."""

    events_in: Tally[str] = field(default_factory=Tally)
    actions: Tally[str] = field(default_factory=Tally)
    alerts_by_branch: Tally[str] = field(default_factory=Tally)
    deadletters: Tally[str] = field(default_factory=Tally)
    latencies_ms: list[float] = field(default_factory=list)
    seen_latencies: int = 0
    reservoir: int = 200_000
    _rng: random.Random = field(default_factory=lambda: random.Random(0))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_latency(self, ms: float) -> None:
        # Reservoir sampling keeps percentiles honest without unbounded memory.
        self.seen_latencies += 1
        if len(self.latencies_ms) < self.reservoir:
            self.latencies_ms.append(ms)
        else:
            j = self._rng.randrange(self.seen_latencies)
            if j < self.reservoir:
                self.latencies_ms[j] = ms

    def percentile(self, q: float) -> float:
        with self.lock:
            data = sorted(self.latencies_ms)
        if not data:
            return 0.0
        k = min(len(data) - 1, max(0, round(q / 100.0 * (len(data) - 1))))
        return data[k]

    def reset(self) -> None:
        with self.lock:
            self.events_in.clear()
            self.actions.clear()
            self.alerts_by_branch.clear()
            self.deadletters.clear()
            self.latencies_ms.clear()
            self.seen_latencies = 0


STATS = RunStats()

_events_in_children: dict[str, Counter] = {}
_decision_children: dict[tuple[str, str], Counter] = {}


def observe_events_in(topic: str, n: int) -> None:
    child = _events_in_children.get(topic)
    if child is None:
        child = _events_in_children[topic] = EVENTS_IN.labels(topic)
    child.inc(n)
    with STATS.lock:
        STATS.events_in[topic] += n


def observe_entity_error(entity: str, error: str) -> None:
    """An entity stage (features/entity.py) failed on an event: its error's type only."""
    ENTITY_ERRORS.labels(entity, error).inc()


def observe_deadletters(letters: Iterable[DeadLetter]) -> None:
    with STATS.lock:
        for letter in letters:
            DEADLETTERS.labels(letter.reason).inc()
            STATS.deadletters[letter.reason] += 1


_score_children: dict[tuple[str, str], Any] = {}
_channel_children: dict[tuple[str, str], Counter] = {}


def observe_verdicts(
    decisions: Iterable[Decision],
    alerts: Iterable[Alert],
    rule_ids: Iterable[tuple[str, str]],
    list_hits: Iterable[tuple[str, str, str]] = (),
    notifications: Iterable[str] = (),
    channels: Iterable[tuple[str, str]] = (),
) -> None:
    for key in channels:
        child = _channel_children.get(key)
        if child is None:
            child = _channel_children[key] = EVENTS_SCORED.labels(*key)
        child.inc()
    LAST_DECISION.set_to_current_time()
    with STATS.lock:
        for d in decisions:
            key = (d.action, d.event_type)
            child = _decision_children.get(key)
            if child is None:
                child = _decision_children[key] = DECISIONS.labels(*key)
            child.inc()
            DECISION_LATENCY.observe(d.latency_ms / 1000.0)
            key2 = (d.event_type, "rules" if d.model_version == "rules-only" else "model")
            score_child = _score_children.get(key2)
            if score_child is None:
                score_child = _score_children[key2] = DECISION_SCORE.labels(*key2)
            score_child.observe(d.score)
            STATS.actions[d.action] += 1
            STATS.add_latency(d.latency_ms)
        for a in alerts:
            ALERTS.labels(a.branch_id, a.severity).inc()
            STATS.alerts_by_branch[a.branch_id] += 1
    for rule_id, action in rule_ids:
        RULE_HITS.labels(rule_id, action).inc()
    for kind, entity, source in list_hits:
        LIST_HITS.labels(kind, entity, source).inc()
    for note_type in notifications:
        NOTIFICATIONS.labels(note_type).inc()


# Every 500 labels: a window sort per role and event type is not free where every event
# is labelled (card data with chargeback windows), and a gauge needs no finer grain.
_prequential = Prequential(every=500)
_model_versions: dict[str, str] = {}


def _set_version(role: str, version: str) -> None:
    old = _model_versions.get(role)
    if old != version:
        if old is not None:
            MODEL_INFO.remove(role, old)
        MODEL_INFO.labels(role, version).set(1)
        _model_versions[role] = version


def observe_proposal(outcome: str) -> None:
    LIST_PROPOSALS.labels(outcome).inc()


def observe_learned(item: Learned) -> None:
    label = "fraud" if item.fraud else "legit"
    LABEL_DELAY.observe(max(0.0, item.delay_s))
    for role, version, score in (
        ("champion", item.champion, item.champion_score),
        ("challenger", item.challenger, item.challenger_score),
    ):
        if version is None:
            continue
        _set_version(role, version)
        MODEL_LABELS.labels(role, item.event_type, label).inc()
        window = (
            None if score is None else _prequential.add(role, item.event_type, score, item.fraud)
        )
        if window is not None:
            MODEL_AUC.labels(role, item.event_type).set(window[0])
            MODEL_AP.labels(role, item.event_type).set(window[1])
            MODEL_PRECISION_AT_K.labels(role, item.event_type).set(window[2])
    if item.action in ("review", "block") and item.branch_id:
        ALERT_DISPOSITIONS.labels(item.branch_id, label).inc()
        DISPOSITION_SECONDS.labels(item.branch_id).observe(max(0.0, item.delay_s))
    for rule_id in item.rule_ids:
        RULE_LABELS.labels(rule_id, label).inc()


class RulesetObserver:
    """Carries a ruleset holder's counts into the metrics; call `observe` after each batch.

    The holder counts from its own start and each ruleset version counts its rule errors
    from its load; the observer remembers what it has passed on and adds the difference.
    """

    def __init__(self, holder: RulesetHolder) -> None:
        self.holder = holder
        self._version = ""
        self._reloads = 0
        self._rejected = 0
        self._errors: dict[str, int] = {}

    def observe(self) -> None:
        holder = self.holder
        if holder.version != self._version:
            if self._version:
                RULESET_INFO.remove(self._version)
            RULESET_INFO.labels(holder.version).set(1)
            self._version = holder.version
            self._errors = {}
        RULESET_RELOADS.inc(holder.reloads - self._reloads)
        RULESET_REJECTED.inc(holder.rejected - self._rejected)
        self._reloads, self._rejected = holder.reloads, holder.rejected
        for rule_id, n in holder.current().errors.items():
            RULE_ERRORS.labels(rule_id).inc(n - self._errors.get(rule_id, 0))
            self._errors[rule_id] = n


def observe_snapshot_refused(reason: str) -> None:
    MODEL_SNAPSHOTS_REFUSED.labels(reason).inc()
