"""A plain allowed payment's verdict, for tests of what consumes verdicts (Redis, the memory)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from riskflow.contract.messages import Decision
from riskflow.scoring.decide import Verdict


def allowed(
    account: str, event_id: str, event_ts: datetime, amount: float | None = None, **fields: Any
) -> Verdict:
    """`fields` override the decision's defaults; `amount` becomes the only feature."""
    decision = Decision(
        **{
            "event_id": event_id,
            "account_id": account,
            "event_type": "payment",
            "event_ts": event_ts.isoformat(),
            "ts": "now",
            "action": "allow",
            "score": 0.01,
            "reasons": [],
            "rules_version": "v",
            "model_version": "m",
            "latency_ms": 1.0,
        }
        | fields
    )
    return Verdict(decision, None, {} if amount is None else {"amount": amount})
