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
    "DEAD_LETTER_PAYLOAD_BYTES",
    "MAX_ATTRIBUTES",
    "MAX_ATTRIBUTE_NAME_CHARS",
    "MAX_CURRENCY_CHARS",
    "MAX_ERROR_CHARS",
    "MAX_ID_CHARS",
    "MAX_IP_CHARS",
    "MAX_TEXT_CHARS",
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

# Length caps on every inbound string: each is kept in per-account state, in the feature
# log and in Redis, so an unbounded one would let a single message grow all three.
MAX_ID_CHARS = 256
"""Ids: event, account, payee, merchant, terminal, device, branch and customer ids."""
MAX_IP_CHARS = 64
"""An IPv6 address with a zone index fits in 64."""
MAX_TEXT_CHARS = 512
"""Free text: `user_agent`, `failure_reason`."""
MAX_CURRENCY_CHARS = 8
"""ISO 4217 codes are 3 letters; a little room for internal codes."""
MAX_ATTRIBUTES = 64
"""Most entries in a payment's `attributes`."""
MAX_ATTRIBUTE_NAME_CHARS = 64

NonEmpty = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_ID_CHARS)]
Id = Annotated[str, msgspec.Meta(max_length=MAX_ID_CHARS)]
Ip = Annotated[str, msgspec.Meta(max_length=MAX_IP_CHARS)]
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT_CHARS)]
Currency = Annotated[str, msgspec.Meta(max_length=MAX_CURRENCY_CHARS)]
AttributeName = Annotated[str, msgspec.Meta(max_length=MAX_ATTRIBUTE_NAME_CHARS)]
Attributes = Annotated[dict[AttributeName, float], msgspec.Meta(max_length=MAX_ATTRIBUTES)]
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
    currency: Currency = "CNY"
    payee_account: Id | None = None
    merchant_id: Id | None = None
    terminal_id: Id | None = None
    device_id: Id | None = None
    ip: Ip | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    auth_method: AuthMethod = "none"
    branch_id: Id | None = None
    customer_id: Id | None = None
    attributes: Attributes | None = None


class Login(msgspec.Struct, frozen=True, kw_only=True):
    """A login attempt from any channel. Topic `logins`, key = account_id."""

    event_id: NonEmpty
    ts: ZonedTime
    account_id: NonEmpty
    channel: Channel
    success: bool
    failure_reason: Text | None = None
    device_id: Id | None = None
    ip: Ip | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    user_agent: Text | None = None
    auth_method: AuthMethod = "none"
    branch_id: Id | None = None


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
    """Masked (`A****0058`, `contract.masking`): staff find the account from `event_id`."""
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
    """Masked (`A****0058`, `contract.masking`): the sender finds the customer from
    `event_id`; the masked id is the record key, so one account's messages keep their order."""
    channel: Literal["app", "sms"]
    text: str
    created_at: str


DEAD_LETTER_PAYLOAD_BYTES = 4096
"""A dead letter carries at most this many bytes of its message, so it always fits a Kafka
message (the producer's 1 MB `message.max.bytes`) whatever the message was."""
MAX_ERROR_CHARS = 512
"""Validator messages can quote the offending value; they are cut to this length."""


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """An inbound message that could not be used, with why. Topic `risk.deadletter`."""

    reason: str
    error: str
    source_topic: str
    source_partition: int | None
    source_offset: int | None
    payload: str
    """The first `DEAD_LETTER_PAYLOAD_BYTES` bytes of the message (all of it if shorter)."""
    payload_encoding: Literal["utf-8", "base64"]
    ts: str
    payload_size: int = 0
    """The whole message's size in bytes."""
    payload_sha256: str = ""
    """Hex sha256 of the whole message: finds the original in the source's own logs."""
    payload_truncated: bool = False
    """True when `payload` is only a prefix of the message."""
    payload_masked: bool = False
    """True when identifiers in `payload` and `error` are masked (`contract.masking`); then
    `payload_sha256` is empty, since a hash of the whole message next to its masked copy
    would give the masked characters away to anyone trying the few thousand candidates."""
