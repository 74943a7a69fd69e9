"""Parsed events of one account, as the account step receives them (shared by its tests)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from riskflow.contract.messages import Feedback, Login, Payment
from riskflow.contract.parse import Envelope

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def pay(eid: str, minutes: float, amount: float, payee: str = "SHOP") -> Envelope:
    event = Payment(
        event_id=eid,
        ts=T0 + timedelta(minutes=minutes),
        account_id="A1",
        amount=amount,
        channel="online",
        txn_type="transfer",
        payee_account=payee,
        device_id="d1",
    )
    return Envelope(event, 1.0, "payments", 0, int(minutes))


def log_in(eid: str, minutes: float, success: bool) -> Envelope:
    event = Login(
        event_id=eid,
        ts=T0 + timedelta(minutes=minutes),
        account_id="A1",
        channel="mobile",
        success=success,
        device_id="d1",
    )
    return Envelope(event, 1.0, "logins", 0, int(minutes))


def label(eid: str, minutes: float, fraud: bool = True) -> Envelope:
    event = Feedback(
        event_id=eid,
        account_id="A1",
        label="fraud" if fraud else "legit",
        ts=T0 + timedelta(minutes=minutes),
    )
    return Envelope(event, 1.0, "feedback", 0, int(minutes))
