"""The Kafka message types of the event contract, as typed structs.

These structs are the single source of the contract: the JSON Schemas in
`contract/schemas/` are generated from them and `docs/contract.md` describes
them. Unknown extra fields in inbound messages are ignored (msgspec's default).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

__all__ = [
    "Action",
    "Alert",
    "AuthMethod",
    "Channel",
    "DeadLetter",
    "Decision",
    "Feedback",
    "FeedbackSource",
    "Label",
    "Login",
    "Notification",
    "Payment",
    "Reason",
    "TxnType",
]

Channel = Literal["branch", "online", "mobile", "phone", "atm", "pos", "self_service"]
TxnType = Literal["transfer", "card", "bill", "withdrawal", "deposit"]
AuthMethod = Literal["none", "password", "sms_otp", "card_pin", "token", "usb_key", "biometric"]
Label = Literal["fraud", "legit"]
FeedbackSource = Literal["branch_review", "chargeback", "customer_report", "police", "no_dispute"]
Action = Literal["allow", "challenge", "review", "block"]

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
# RFC 3339 with a zone: a naive time would make windows depend on the host's zone.
ZonedTime = Annotated[datetime, msgspec.Meta(tz=True)]
PositiveAmount = Annotated[float, msgspec.Meta(gt=0)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    """A payment from any channel. Topic `payments`, key = account_id."""

    event_id: NonEmpty
    ts: ZonedTime
    account_id: NonEmpty
    amount: PositiveAmount
    channel: Channel
    txn_type: TxnType
    currency: str = "CNY"
    payee_account: str | None = None
    merchant_id: str | None = None
    terminal_id: str | None = None
    device_id: str | None = None
    ip: str | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    auth_method: AuthMethod = "none"
    branch_id: str | None = None
    customer_id: str | None = None
    attributes: dict[str, float] | None = None


class Login(msgspec.Struct, frozen=True, kw_only=True):
    """A login attempt from any channel. Topic `logins`, key = account_id."""

    event_id: NonEmpty
    ts: ZonedTime
    account_id: NonEmpty
    channel: Channel
    success: bool
    failure_reason: str | None = None
    device_id: str | None = None
    ip: str | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    user_agent: str | None = None
    auth_method: AuthMethod = "none"
    branch_id: str | None = None


class Feedback(msgspec.Struct, frozen=True, kw_only=True):
    """The known outcome of a scored event. Topic `risk.feedback`, key = account_id."""

    event_id: NonEmpty
    account_id: NonEmpty
    label: Label
    ts: ZonedTime
    source: FeedbackSource | None = None


class Reason(msgspec.Struct, frozen=True):
    """Why a decision was taken: a stable machine code and a human detail."""

    code: str
    detail: str


class Decision(msgspec.Struct, frozen=True, kw_only=True):
    """Exactly one per scored payment or login. Topic `risk.decisions`, key = account_id."""

    event_id: str
    account_id: str
    event_type: Literal["payment", "login"]
    event_ts: str
    ts: str
    action: Action
    score: Annotated[float, msgspec.Meta(ge=0, le=1)]
    reasons: list[Reason]
    rules_version: str
    model_version: str
    latency_ms: float


class Alert(msgspec.Struct, frozen=True, kw_only=True):
    """One per review or block decision. Topic `risk.alerts`, key = branch_id."""

    alert_id: str
    event_id: str
    account_id: str
    branch_id: str
    severity: Literal["low", "medium", "high", "critical"]
    action: Action
    score: float
    reasons: list[Reason]
    summary: str
    created_at: str


class Notification(msgspec.Struct, frozen=True, kw_only=True):
    """A message for the customer. Topic `risk.notifications`, key = account_id."""

    notification_id: str
    """`{type}:{event_id}`: the same after a replay, so the sender can deduplicate."""
    type: Literal[
        "transfer_intercepted",
        "transfer_challenged",
        "transfer_under_review",
        "large_transfer",
        "new_device_login",
        "account_locked",
    ]
    event_id: str
    account_id: str
    channel: Literal["app", "sms"]
    text: str
    created_at: str


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """An inbound message that could not be used, with why. Topic `risk.deadletter`."""

    reason: str
    error: str
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    payload: str
    payload_encoding: Literal["utf-8", "base64"]
    ts: str
