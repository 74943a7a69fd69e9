"""Turn raw inbound bytes into a typed event or a dead letter, never an exception.

Every inbound message, whatever its source (Kafka, a JSONL file, the
simulator), passes through `parse` so that validation is identical everywhere.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import msgspec

from contract.messages import DeadLetter, Feedback, Login, Payment

__all__ = [
    "MAX_MESSAGE_BYTES",
    "Envelope",
    "Raw",
    "dead_letter",
    "event_kind",
    "parse",
]

MAX_MESSAGE_BYTES: Final = 64 * 1024

Event = Payment | Login | Feedback

_DECODERS: Final[
    dict[
        str,
        msgspec.json.Decoder[Payment]
        | msgspec.json.Decoder[Login]
        | msgspec.json.Decoder[Feedback],
    ]
] = {
    "payment": msgspec.json.Decoder(Payment),
    "login": msgspec.json.Decoder(Login),
    "feedback": msgspec.json.Decoder(Feedback),
}


@dataclass(frozen=True, slots=True)
class Raw:
    """One inbound message as it left its source, before any validation."""

    kind: str
    """`payment`, `login` or `feedback`: which contract the payload must meet."""
    payload: bytes | None
    topic: str
    partition: int | None = None
    offset: int | None = None
    received_at: float = 0.0
    """Wall-clock seconds when riskflow read the message: the start of decision latency."""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A valid event and when riskflow received it."""

    event: Event
    received_at: float


def event_kind(event: Event) -> str:
    if isinstance(event, Payment):
        return "payment"
    if isinstance(event, Login):
        return "login"
    return "feedback"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def dead_letter(raw: Raw, reason: str, error: str) -> DeadLetter:
    body = raw.payload or b""
    try:
        payload, encoding = body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        payload, encoding = base64.b64encode(body).decode("ascii"), "base64"
    return DeadLetter(
        reason=reason,
        error=error,
        source_topic=raw.topic,
        source_partition=raw.partition,
        source_offset=raw.offset,
        payload=payload,
        payload_encoding=encoding,  # type: ignore[arg-type]
        ts=_now_iso(),
    )


def _classify(error: msgspec.ValidationError | msgspec.DecodeError, payload: bytes) -> str:
    text = str(error)
    if isinstance(error, msgspec.ValidationError):
        if "$.amount" in text:
            return "invalid_amount"
        if "$.ts" in text:
            return "invalid_timestamp"
        if "Object missing required field" in text:
            return "missing_field"
        if "Expected `object`" in text and "$." not in text:
            return "not_an_object"
        return "invalid_field"
    return "not_json"


def parse(raw: Raw) -> Envelope | DeadLetter:
    """Validate one message against its contract."""
    if raw.kind.startswith("kafka_error:"):
        return dead_letter(raw, "kafka_error", raw.kind.removeprefix("kafka_error:"))
    if raw.payload is None:
        return dead_letter(raw, "empty", "message has no value")
    if len(raw.payload) > MAX_MESSAGE_BYTES:
        return dead_letter(
            raw, "too_large", f"message is {len(raw.payload)} bytes, limit {MAX_MESSAGE_BYTES}"
        )
    decoder = _DECODERS.get(raw.kind)
    if decoder is None:
        return dead_letter(raw, "unknown_kind", f"no contract for messages of kind {raw.kind!r}")
    try:
        event = decoder.decode(raw.payload)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return dead_letter(raw, _classify(exc, raw.payload), str(exc))
    # JSON has no infinity literal, but 1e999 overflows to one.
    if isinstance(event, Payment) and not math.isfinite(event.amount):
        return dead_letter(raw, "invalid_amount", "amount must be finite")
    return Envelope(event, raw.received_at)
