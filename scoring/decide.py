"""From an event and its features to a decision, and an alert when staff must look."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Protocol

from contract.messages import Alert, Decision, Login, Notification, Payment, Reason
from features.catalog import Features
from scoring.budget import AlertBudget
from scoring.limits import LimitsTable
from scoring.lists.entries import ListEntry
from scoring.lists.index import Screening, list_reason
from scoring.models.scorer import ModelScore, ModelScorer
from scoring.notify import NotificationPolicy, notifications_for
from scoring.policy import ACTION_RANK, Policy
from scoring.rules.reload import RulesetHolder
from scoring.rules.ruleset import RuleHit
from scoring.score import SEVERITY_RANK, score

__all__ = ["UNASSIGNED_BRANCH", "Decider", "ListSource", "Verdict"]

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


def _model_reason(probability: float, anomaly: float) -> Reason:
    return Reason(
        "MODEL_SCORE",
        f"learned model: fraud probability {probability:.2f}, anomaly {anomaly:.2f}",
    )


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
            what += f" to {event.payee_account}"
    else:
        what = f"{'successful' if event.success else 'failed'} login via {event.channel}"
    return f"{action.upper()} {what} on account {event.account_id}: {codes}"


class Decider:
    """Screens lists, evaluates the current ruleset, scores and applies the policy."""

    def __init__(
        self,
        rules: RulesetHolder,
        lists: ListSource,
        policy: Policy,
        *,
        limits: LimitsTable | None = None,
        notify: NotificationPolicy | None = None,
        models: ModelScorer | None = None,
        model_version: str = RULES_ONLY_MODEL,
        clock=time.time,
    ) -> None:
        self.rules = rules
        self.lists = lists
        self.policy = policy
        self.limits = limits or LimitsTable()
        self.notify = notify or NotificationPolicy()
        self.models = models
        self.model_version = model_version
        budget = policy.review_budget_per_branch_day
        self.budget = AlertBudget(budget, floor=policy.challenge) if budget else None
        self.clock = clock

    def decide(
        self,
        event: Payment | Login,
        features: Features,
        home_branch: str | None,
        received_at: float,
    ) -> Verdict:
        now = self.clock()
        screening = self.lists.screen(event, features, now)
        ruleset = self.rules.current()
        event_type = "payment" if isinstance(event, Payment) else "login"
        hits = ruleset.evaluate(features, event_type)
        if isinstance(event, Payment):
            over = self.limits.check(
                event.auth_method,
                event.channel,
                event.txn_type,
                event.amount,
                float(features.get("daily_total", event.amount)),
            )
            if over is not None:
                hits.append(over)
        hits.extend(_watch_hit(e) for e in screening.watch)
        if screening.suppressed_rules:
            hits = [h for h in hits if h.rule_id not in screening.suppressed_rules]
        value, reasons = score(hits, features)
        model_version = self.model_version
        modelled = None
        model_alone = False
        if self.models is not None:
            modelled = self.models.score(event, features, value)
            if modelled.probability is not None and self.policy.combine == "model":
                model_alone = True
                value = modelled.probability
                model_version = modelled.version or model_version
                reasons = [_model_reason(modelled.probability, modelled.anomaly), *reasons]
            elif modelled.probability is not None:
                rules_action = self.policy.action(value, hits)
                # Data + models + rules: the rules' evidence and the model's probability
                # combine as independent evidence, so a fraud type the model has no labels
                # for yet (chargebacks take weeks) keeps the score the rules give it.
                value = 1.0 - (1.0 - value) * (1.0 - modelled.probability)
                model_version = modelled.version or model_version
                if ACTION_RANK[self.policy.by_score(value)] > ACTION_RANK[rules_action]:
                    reasons = [_model_reason(modelled.probability, modelled.anomaly), *reasons]
        listed = screening.deny
        if listed and not model_alone:
            # A deny hit cannot be overridden, and who listed it and why is what staff need first.
            reasons = [list_reason(e) for e in listed] + reasons
            value = max(value, 0.99)
        branch = event.branch_id or home_branch or UNASSIGNED_BRANCH
        review_bar = None
        if self.budget is not None:
            day = event.ts.toordinal()
            review_bar = self.budget.threshold(branch, day)
            self.budget.observe(branch, day, value)
        if model_alone:
            action = self.policy.by_score(value, review_bar)
        else:
            action = self.policy.action(value, hits, review_bar)
        if listed and not model_alone:
            action = "block"
        elif (
            action == "block"
            and modelled is not None
            and modelled.probability is not None
            and not any(h.action == "block" for h in hits)
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
        done = self.clock()
        decision = Decision(
            event_id=event.event_id,
            account_id=event.account_id,
            event_type=event_type,  # type: ignore[arg-type]
            event_ts=event.ts.isoformat(),
            ts=_iso(done),
            action=action,
            score=round(min(1.0, value), 6),
            reasons=reasons if action != "allow" else [],
            rules_version=ruleset.version,
            model_version=model_version,
            latency_ms=round(max(0.0, done - received_at) * 1000.0, 3),
        )
        alert = None
        if action in ("review", "block"):
            severity = _severity([h.severity for h in hits] + ["critical"] * bool(listed), value)
            alert = Alert(
                alert_id=f"alert-{event.event_id}",
                event_id=event.event_id,
                account_id=event.account_id,
                branch_id=branch,
                severity=severity,  # type: ignore[arg-type]
                action=action,
                score=decision.score,
                reasons=reasons,
                summary=_summary(event, action, reasons),
                created_at=decision.ts,
            )
        notes = tuple(notifications_for(event, features, decision, self.notify))
        return Verdict(
            decision,
            alert,
            features,
            tuple((h.rule_id, h.action) for h in hits),
            notes,
            tuple((e.kind, e.entity, e.source) for e in (*listed, *screening.watch)),
            modelled,
        )
