"""From an event and its features to a decision, and an alert when staff must look."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol

from riskflow.contract.masking import mask_id
from riskflow.contract.messages import Action, Alert, Decision, Login, Notification, Payment, Reason
from riskflow.features.catalog import Features
from riskflow.scoring.limits import LimitsTable
from riskflow.scoring.lists.entries import ListEntry
from riskflow.scoring.lists.index import Screening, list_reason
from riskflow.scoring.models.scorer import ModelScore, ModelScorer
from riskflow.scoring.notify import NotificationPolicy, notifications_for
from riskflow.scoring.policy import Policy
from riskflow.scoring.priors import SEVERITY_RANK, Priors, prior
from riskflow.scoring.rules.reload import RulesetHolder
from riskflow.scoring.rules.ruleset import RuleHit

__all__ = [
    "UNASSIGNED_BRANCH",
    "Assessment",
    "Decider",
    "Evidence",
    "ListSource",
    "Risk",
    "Verdict",
]

UNASSIGNED_BRANCH: Final = "unassigned"
RULES_ONLY_MODEL: Final = "rules-only"


class ListSource(Protocol):
    """A worker's current copy of the risk lists."""

    def screen(self, event: Payment | Login, features: Features, now: float) -> Screening: ...


def _watch_hit(entry: ListEntry) -> RuleHit:
    reason = list_reason(entry)
    # The severity must not score the hit past what the entry asks for: a "high" challenge
    # would score 0.65 and the policy would turn it into a review.
    severity = "high" if entry.action == "review" else "medium"
    return RuleHit(f"watch_{entry.entity}", entry.action, severity, reason.code, reason.detail)


def _deny_hit(entry: ListEntry) -> RuleHit:
    reason = list_reason(entry)
    return RuleHit(f"deny_{entry.entity}", "block", "critical", reason.code, reason.detail)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What is known about one event before it is scored."""

    hits: list[RuleHit]
    """Rules, watch and deny hits: evidence, inputs of the risk score."""
    policy: list[RuleHit]
    """Limit step-ups: they decide an action and never move the score."""
    screening: Screening
    rules_version: str

    @property
    def keys(self) -> list[str]:
        """Stacker input names of the evidence hits."""
        return [f"rule:{h.rule_id}" for h in self.hits]


@dataclass(frozen=True, slots=True)
class Risk:
    score: float
    reasons: list[Reason]
    model_version: str
    model: ModelScore | None


@dataclass(frozen=True, slots=True)
class Assessment:
    """An event's evidence and risk, and the branch its alert would go to."""

    evidence: Evidence
    risk: Risk
    branch: str


@dataclass(frozen=True, slots=True)
class Verdict:
    """Everything the flow emits for one scored event."""

    decision: Decision
    alert: Alert | None
    features: Features
    hits: tuple[tuple[str, str], ...] = ()
    """(rule id, rule action) of every rule that fired."""
    notifications: tuple[Notification, ...] = ()
    list_hits: tuple[tuple[str, str, str], ...] = ()
    """(list, entity, source) of every list entry that blocked or flagged the event."""
    model: ModelScore | None = None
    history: str = ""
    """The account's history digest after this event (features.operator.Featured)."""


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


def _severity(hit_severities: list[str], score_value: float) -> str:
    if hit_severities:
        return max(hit_severities, key=SEVERITY_RANK.__getitem__)
    if score_value >= 0.9:
        return "critical"
    return "high" if score_value >= 0.75 else "medium"


def _summary(event: Payment | Login, action: str, reasons: list[Reason]) -> str:
    codes = ", ".join(r.code for r in reasons[:3]) or "score"
    if isinstance(event, Payment):
        what = f"{event.txn_type} of {event.amount:,.2f} {event.currency} via {event.channel}"
        if event.payee_account:
            what += f" to {mask_id(event.payee_account)}"
    else:
        what = f"{'successful' if event.success else 'failed'} login via {event.channel}"
    return f"{action.upper()} {what} on account {mask_id(event.account_id)}: {codes}"


class Decider:
    """Evidence (lists, rules, limits) -> risk (the probability of fraud) -> action (policy)
    -> decision, alert and notifications."""

    def __init__(
        self,
        rules: RulesetHolder,
        lists: ListSource,
        policy: Policy,
        *,
        limits: LimitsTable | None = None,
        notify: NotificationPolicy | None = None,
        models: ModelScorer | None = None,
        priors: Priors | None = None,
        model_version: str = RULES_ONLY_MODEL,
        clock=time.time,
    ) -> None:
        self.rules = rules
        self.lists = lists
        self.policy = policy
        self.limits = limits or LimitsTable()
        self.notify = notify or NotificationPolicy()
        self.models = models
        self.priors = priors or (models.priors if models is not None else Priors())
        self.model_version = model_version
        self.clock = clock

    def evidence(self, event: Payment | Login, features: Features, now: float) -> Evidence:
        screening = self.lists.screen(event, features, now)
        ruleset = self.rules.current()
        event_type = "payment" if isinstance(event, Payment) else "login"
        hits = ruleset.evaluate(features, event_type)
        policy: list[RuleHit] = []
        if isinstance(event, Payment):
            over = self.limits.check(
                event.auth_method,
                event.channel,
                event.txn_type,
                event.amount,
                float(features.get("daily_total", event.amount)),
            )
            if over is not None:
                policy.append(over)
        hits.extend(_watch_hit(e) for e in screening.watch)
        if screening.suppressed_rules:
            hits = [h for h in hits if h.rule_id not in screening.suppressed_rules]
        hits.extend(_deny_hit(e) for e in screening.deny)
        return Evidence(hits, policy, screening, ruleset.version)

    def risk(self, event: Payment | Login, features: Features, ev: Evidence) -> Risk:
        """The probability of fraud: the learned model's, or the priors' while it is cold."""
        if self.models is None:
            before = prior(ev.hits, features, self.priors)
            return Risk(before.value, before.reasons, self.model_version, None)
        modelled = self.models.score(event, features, ev.hits, ev.keys)
        reasons = list(modelled.prior.reasons)
        if modelled.learned is not None:
            reasons.insert(
                0,
                Reason(
                    "MODEL_SCORE",
                    f"learned model: fraud probability {modelled.learned:.2f}, "
                    f"anomaly rank {modelled.anomaly:.3f}",
                ),
            )
        elif modelled.anomaly >= 0.99:
            reasons.insert(
                0, Reason("ANOMALY", f"rarer than {modelled.anomaly:.1%} of recent payments")
            )
        version = modelled.version or self.model_version
        return Risk(modelled.probability, reasons, version, modelled)

    def action(
        self, event: Payment | Login, ev: Evidence, risk: Risk, review_bar: float | None = None
    ) -> tuple[Action, list[Reason]]:
        """The policy: thresholds on the risk, each rule's action and limit step-ups as floors,
        deny hits block. `review_bar`: the branch's budgeted review threshold, if any
        (`scoring.budget`), in place of the policy's."""
        reasons = risk.reasons + [Reason(h.reason, h.detail) for h in ev.policy]
        if self.policy.combine == "model" and risk.model is not None and risk.model.learned:
            return self.policy.by_score(risk.score, review_bar), reasons
        action = self.policy.action(risk.score, ev.hits + ev.policy, review_bar)
        listed = ev.screening.deny
        if listed:
            # A deny hit cannot be overridden, and who listed it and why is what staff need first.
            denied = [list_reason(e) for e in listed]
            return "block", denied + [r for r in reasons if r not in denied]
        modelled = risk.model
        if (
            action == "block"
            and modelled is not None
            and modelled.learned is not None
            and not any(h.action == "block" for h in ev.hits)
            and self.models is not None
            and self.models.holdout(event.event_id)
        ):
            # Honest measurement: a small fixed share of what only the model would block is
            # reviewed instead, so the outcomes of blocked traffic are still observed.
            action = "review"
            reasons = [
                Reason("MODEL_HOLDOUT", "model-only block sent to review to measure it"),
                *reasons,
            ]
        return action, reasons

    def assess(
        self, event: Payment | Login, features: Features, home_branch: str | None
    ) -> Assessment:
        """Evidence and risk: all of the decision that needs no other event's outcome."""
        ev = self.evidence(event, features, self.clock())
        risk = self.risk(event, features, ev)
        return Assessment(ev, risk, event.branch_id or home_branch or UNASSIGNED_BRANCH)

    def conclude(
        self,
        event: Payment | Login,
        features: Features,
        received_at: float,
        assessed: Assessment,
        review_bar: float | None = None,
    ) -> Verdict:
        """The action for an assessed event, and what it emits."""
        ev, risk = assessed.evidence, assessed.risk
        action, reasons = self.action(event, ev, risk, review_bar)
        return self._emit(event, features, received_at, ev, risk, action, reasons, assessed.branch)

    def decide(
        self,
        event: Payment | Login,
        features: Features,
        home_branch: str | None,
        received_at: float,
        review_bar: float | None = None,
    ) -> Verdict:
        assessed = self.assess(event, features, home_branch)
        return self.conclude(event, features, received_at, assessed, review_bar)

    def _emit(
        self,
        event: Payment | Login,
        features: Features,
        received_at: float,
        ev: Evidence,
        risk: Risk,
        action: Action,
        reasons: list[Reason],
        branch: str,
    ) -> Verdict:
        done = self.clock()
        decision = Decision(
            event_id=event.event_id,
            account_id=event.account_id,
            event_type="payment" if isinstance(event, Payment) else "login",
            event_ts=event.ts.isoformat(),
            ts=_iso(done),
            action=action,
            score=round(min(1.0, risk.score), 6),
            reasons=reasons if action != "allow" else [],
            rules_version=ev.rules_version,
            model_version=risk.model_version,
            latency_ms=round(max(0.0, done - received_at) * 1000.0, 3),
        )
        alert = None
        listed = ev.screening.deny
        if action in ("review", "block"):
            severity = _severity([h.severity for h in ev.hits + ev.policy], decision.score)
            alert = Alert(
                alert_id=f"alert-{event.event_id}",
                event_id=event.event_id,
                # Branch staff read alerts: who the account is comes from the event_id, in
                # the bank's own systems, for those allowed to see it.
                account_id=mask_id(event.account_id),
                branch_id=branch,
                severity=severity,  # type: ignore[arg-type]
                action=action,
                score=decision.score,
                reasons=reasons,
                summary=_summary(event, action, reasons),
                created_at=decision.ts,
            )
        notes = tuple(notifications_for(event, features, decision, self.notify))
        all_hits = ev.hits + ev.policy
        return Verdict(
            decision,
            alert,
            features,
            tuple((h.rule_id, h.action) for h in all_hits if not h.rule_id.startswith("deny_")),
            notes,
            tuple((e.kind, e.entity, e.source) for e in (*listed, *ev.screening.watch)),
            risk.model,
        )
