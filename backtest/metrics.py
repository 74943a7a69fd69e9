"""Detection quality of a run's decisions against the simulator's ground truth.

Ranking metrics use the decision `score` on payments: average precision,
ROC AUC and precision@k per local day. For precision@k an account already
alerted on an earlier day is left out of later days' rankings: staff already
have it, and counting it again would flatter a model that keeps re-ranking
the same compromised account.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import msgspec

from riskflow.backtest.calibration import reliability
from riskflow.backtest.truth import load_truth_rows
from riskflow.scoring.models.prequential import average_precision, roc_auc

__all__ = [
    "ALERTING",
    "STOPPING",
    "Scored",
    "Summary",
    "action_shares",
    "label_delays",
    "load_decisions",
    "load_truth",
    "precision_at_k_per_day",
    "summarize",
]

BANK_ZONE = timezone(timedelta(hours=8))
ALERTING = frozenset({"review", "block"})
STOPPING = frozenset({"challenge", "review", "block"})


class _Decision(msgspec.Struct):
    event_id: str
    account_id: str
    event_type: str
    event_ts: str
    score: float
    action: str
    model_version: str


@dataclass(frozen=True, slots=True)
class Scored:
    event_id: str
    account_id: str
    day: str
    score: float
    action: str
    fraud: bool
    modelled: bool
    model_version: str = ""
    ts: float = 0.0


def load_truth(path: Path) -> set[str]:
    """The fraudulent event ids of a truth file (any format backtest.truth reads)."""
    return {t.event_id for t in load_truth_rows(path) if t.is_fraud}


def load_decisions(path: Path, frauds: set[str], event_type: str = "payment") -> list[Scored]:
    decode = msgspec.json.Decoder(_Decision).decode
    out: list[Scored] = []
    with open(path, "rb") as fh:
        for line in fh:
            d = decode(line)
            if d.event_type != event_type:
                continue
            day = datetime.fromisoformat(d.event_ts).astimezone(BANK_ZONE).date().isoformat()
            out.append(
                Scored(
                    d.event_id,
                    d.account_id,
                    day,
                    d.score,
                    d.action,
                    d.event_id in frauds,
                    d.model_version != "rules-only",
                    d.model_version,
                    datetime.fromisoformat(d.event_ts).timestamp(),
                )
            )
    return out


def precision_at_k_per_day(rows: Iterable[Scored], k: int = 100) -> dict[str, float]:
    by_day: dict[str, list[Scored]] = defaultdict(list)
    for row in rows:
        by_day[row.day].append(row)
    alerted_before: set[str] = set()
    out: dict[str, float] = {}
    for day in sorted(by_day):
        candidates = [r for r in by_day[day] if r.account_id not in alerted_before]
        # Ties broken pessimistically: a legitimate event ranks first among equals.
        top = sorted(candidates, key=lambda r: (-r.score, r.fraud))[:k]
        out[day] = sum(r.fraud for r in top) / k
        alerted_before |= {r.account_id for r in by_day[day] if r.action in ALERTING}
    return out


ACTIONS = ("challenge", "review", "block")


def action_shares(rows: list[Scored]) -> dict[str, float | None]:
    """Share of decisions per non-allow action and all of them together; None with no rows."""
    if not rows:
        return {f"{a}_share": None for a in (*ACTIONS, "non_allow")}
    out: dict[str, float | None] = {
        f"{a}_share": sum(r.action == a for r in rows) / len(rows) for a in ACTIONS
    }
    out["non_allow_share"] = sum(r.action in STOPPING for r in rows) / len(rows)
    return out


@dataclass(frozen=True, slots=True)
class Summary:
    payments: int
    frauds: int
    average_precision: float
    roc_auc: float
    precision_at_100_mean: float
    alert_rate: float
    """Share of payments reviewed or blocked (an alert to a branch)."""
    alert_precision: float
    fraud_stopped: float
    """Share of fraudulent payments challenged, reviewed or blocked."""
    modelled_share: float
    brier: float | None = None
    ece: float | None = None
    """Expected calibration error of the score as a probability (backtest.calibration)."""
    # Alert volume: what the customers and the branches would have to absorb.
    challenge_share: float | None = None
    review_share: float | None = None
    block_share: float | None = None
    non_allow_share: float | None = None
    logins: int = 0
    login_challenge_share: float | None = None
    login_review_share: float | None = None
    login_block_share: float | None = None
    login_non_allow_share: float | None = None
    """None when the run had no logins."""


def summarize(rows: list[Scored], k: int = 100, logins: list[Scored] | None = None) -> Summary:
    """Payments' quality and alert volume; `logins` adds the logins' alert volume."""
    scores = [r.score for r in rows]
    labels = [r.fraud for r in rows]
    per_day = precision_at_k_per_day(rows, k)
    alerts = [r for r in rows if r.action in ALERTING]
    frauds = sum(labels)
    shares = action_shares(rows)
    login_shares = action_shares(logins or [])
    calibration = reliability(scores, labels)
    return Summary(
        payments=len(rows),
        frauds=frauds,
        average_precision=average_precision(scores, labels),
        roc_auc=roc_auc(scores, labels),
        precision_at_100_mean=sum(per_day.values()) / len(per_day) if per_day else float("nan"),
        alert_rate=len(alerts) / len(rows) if rows else 0.0,
        alert_precision=sum(r.fraud for r in alerts) / len(alerts) if alerts else float("nan"),
        fraud_stopped=sum(r.fraud and r.action in STOPPING for r in rows) / frauds
        if frauds
        else 0.0,
        modelled_share=sum(r.modelled for r in rows) / len(rows) if rows else 0.0,
        brier=calibration.brier,
        ece=calibration.ece,
        challenge_share=shares["challenge_share"],
        review_share=shares["review_share"],
        block_share=shares["block_share"],
        non_allow_share=shares["non_allow_share"],
        logins=len(logins or []),
        login_challenge_share=login_shares["challenge_share"],
        login_review_share=login_shares["review_share"],
        login_block_share=login_shares["block_share"],
        login_non_allow_share=login_shares["non_allow_share"],
    )


class _Label(msgspec.Struct):
    event_id: str
    ts: str


def label_delays(rows: list[Scored], feedback: Path) -> dict[str, float]:
    """Percentiles of the time from a payment to its label, in hours."""
    when = {r.event_id: r.ts for r in rows}
    decode = msgspec.json.Decoder(_Label).decode
    delays: list[float] = []
    with open(feedback, "rb") as fh:
        for line in fh:
            try:
                label = decode(line)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            at = when.get(label.event_id)
            if at is not None:
                delays.append((datetime.fromisoformat(label.ts).timestamp() - at) / 3600)
    delays.sort()
    if not delays:
        return {}
    pick = lambda q: round(delays[min(len(delays) - 1, int(q * len(delays)))], 2)  # noqa: E731
    return {
        "labels": len(delays),
        "p10_h": pick(0.1),
        "p50_h": pick(0.5),
        "p90_h": pick(0.9),
        "max_h": delays[-1],
    }
