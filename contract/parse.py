"""Turn raw inbound bytes into a typed event or a dead letter, never an exception.

Every inbound message, whatever its source (Kafka, a JSONL file, the
simulator), passes through `parse` so that validation is identical everywhere.
Whatever goes wrong with one message (a validation error, a decoder's
RecursionError, a MemoryError, a bug) becomes that message's dead letter: one
message can never stop the flow.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

import msgspec
import numpy as np

from riskflow.contract.masking import mask_payload, mask_text
from riskflow.contract.messages import (
    DEAD_LETTER_PAYLOAD_BYTES,
    MAX_ERROR_CHARS,
    DeadLetter,
    Feedback,
    Login,
    Payment,
)

__all__ = [
    "EARLIEST",
    "LATEST",
    "MAX_DEPTH",
    "MAX_MESSAGE_BYTES",
    "Envelope",
    "ParseLimits",
    "Raw",
    "dead_letter",
    "dead_letter_for",
    "event_kind",
    "nesting_depth",
    "parse",
    "redact_dead_letter",
]

MAX_MESSAGE_BYTES: Final = 64 * 1024
MAX_DEPTH: Final = 32
"""Deepest nesting of objects and arrays accepted; the contract's own messages nest 2 deep."""
EARLIEST: Final = datetime(1971, 1, 1, tzinfo=UTC).timestamp()
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC).timestamp()
"""No event time outside [EARLIEST, LATEST) is ever accepted, in any mode: far from both ends
of `datetime`'s range, so `astimezone` to any zone cannot overflow."""
_DAY: Final = 86400.0

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
class ParseLimits:
    """What a message must meet beyond its struct; the flow builds one from its config.

    Live input (Kafka) accepts event times from `past_s` before to `future_s` after the
    clock; a replay (files, the simulator, a backtest) runs months in minutes, so its times
    are judged only against [EARLIEST, LATEST).
    """

    live: bool = True
    past_s: float = 2 * 365 * _DAY
    future_s: float = _DAY
    max_bytes: int = MAX_MESSAGE_BYTES
    max_depth: int = MAX_DEPTH
    clock: Callable[[], float] = field(default=time.time, compare=False)

    def window(self) -> tuple[float, float]:
        """[earliest, latest) epoch seconds an event time may have right now."""
        if not self.live:
            return EARLIEST, LATEST
        now = self.clock()
        return max(EARLIEST, now - self.past_s), min(LATEST, now + self.future_s)


REPLAY: Final = ParseLimits(live=False)
"""Limits for a replay: the same checks, with the fixed time window."""


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
    """A valid event, when riskflow received it and where it came from."""

    event: Event
    received_at: float
    topic: str = ""
    partition: int | None = None
    offset: int | None = None


def event_kind(event: Event) -> str:
    if isinstance(event, Payment):
        return "payment"
    if isinstance(event, Login):
        return "login"
    return "feedback"


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def _bounded(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    # Keep both ends: msgspec puts the offending value first and the field's path last.
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return f"{text[:head]}…{text[-(limit - head - 1) :]}"


def _prefix_text(prefix: bytes, whole: bool) -> str | None:
    """`prefix` as text if it is UTF-8 (a cut through the last character is trimmed)."""
    for cut in range(1 if whole else 4):
        try:
            return prefix[: len(prefix) - cut].decode("utf-8")
        except UnicodeDecodeError:
            pass
    return None


def _payload_field(prefix: bytes, truncated: bool, limit: int) -> tuple[str, str]:
    text = _prefix_text(prefix, not truncated)
    # Control characters encode as six bytes each in JSON: text that escapes badly goes as
    # base64, which is never more than 4/3 of the prefix.
    if text is not None and len(msgspec.json.encode(text)) <= 2 * limit:
        return text, "utf-8"
    return base64.b64encode(prefix).decode("ascii"), "base64"


def dead_letter_for(
    body: bytes,
    reason: str,
    error: str,
    topic: str,
    partition: int | None = None,
    offset: int | None = None,
    ts: str | None = None,
) -> DeadLetter:
    """A dead letter for `body` that fits a Kafka message whatever `body` is."""
    limit = DEAD_LETTER_PAYLOAD_BYTES
    prefix = body[:limit]
    truncated = len(body) > limit
    payload, encoding = _payload_field(prefix, truncated, limit)
    return DeadLetter(
        reason=reason,
        error=_bounded(error),
        source_topic=topic,
        source_partition=partition,
        source_offset=offset,
        payload=payload,
        payload_encoding=encoding,  # type: ignore[arg-type]
        ts=ts or _now_iso(),
        payload_size=len(body),
        payload_sha256=hashlib.sha256(body).hexdigest(),
        payload_truncated=truncated,
    )


def redact_dead_letter(letter: DeadLetter, *, payload_bytes: int, raw: bool) -> DeadLetter:
    """`letter` as it may leave riskflow: its payload cut to `payload_bytes` and, unless
    `raw`, its identifiers masked (as text, whatever the bytes were)."""
    if letter.payload_masked:
        return letter
    if letter.payload_encoding == "base64":
        body = base64.b64decode(letter.payload)
    else:
        body = letter.payload.encode("utf-8", "surrogatepass")
    cut = len(body) > payload_bytes
    prefix = body[:payload_bytes]
    truncated = letter.payload_truncated or cut
    if raw:
        if not cut:
            return letter
        payload, encoding = _payload_field(prefix, True, payload_bytes)
        return msgspec.structs.replace(
            letter, payload=payload, payload_encoding=encoding, payload_truncated=True
        )
    text = _prefix_text(prefix, not cut) or prefix.decode("utf-8", "replace")
    masked = mask_payload(text)
    # A short id masks to a longer `****`: the bound holds for the masked text too.
    encoded = masked.encode("utf-8", "surrogatepass")
    if len(encoded) > payload_bytes:
        masked = encoded[:payload_bytes].decode("utf-8", "ignore")
        truncated = True
    return msgspec.structs.replace(
        letter,
        error=mask_text(letter.error),
        payload=masked,
        payload_encoding="utf-8",
        payload_sha256="",
        payload_truncated=truncated,
        payload_masked=True,
    )


def dead_letter(raw: Raw, reason: str, error: str) -> DeadLetter:
    return dead_letter_for(raw.payload or b"", reason, error, raw.topic, raw.partition, raw.offset)


def _classify(error: msgspec.ValidationError | msgspec.DecodeError) -> str:
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


# A JSON string, escapes included; the unrolled form keeps the regex linear and fast.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_SIGNS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")


def nesting_depth(payload: bytes) -> int:
    """Deepest nesting of objects and arrays outside strings (unclosed ones count)."""
    brackets = _STRING.sub(b"", payload).translate(None, _NOT_BRACKETS)
    if not brackets:
        return 0
    steps = np.frombuffer(brackets.translate(_SIGNS), dtype=np.int8)
    return int(np.cumsum(steps, dtype=np.int64).max())


def _too_deep(payload: bytes, limit: int) -> int | None:
    # Fewer brackets than the limit cannot nest deeper: the common case costs two counts.
    if payload.count(b"{") + payload.count(b"[") <= limit:
        return None
    depth = nesting_depth(payload)
    return depth if depth > limit else None


_FIELD_NAMES: Final = {
    kind: tuple(b'"%s"' % name.encode() for name in t.__struct_fields__)
    for kind, t in (("payment", Payment), ("login", Login), ("feedback", Feedback))
}


def _pairs_hook(pairs: list[tuple[str, object]]) -> list[tuple[str, object]]:
    return pairs


def _duplicate_field(kind: str, payload: bytes) -> str | None:
    """A documented field given twice at the top level: parsers disagree on which one wins,
    so a message that means one thing upstream could mean another here."""
    # Cheap screen: without escapes a key is its own bytes, so a field named once is given
    # once. Only a repeated name (perhaps inside a value) or an escape needs the exact read.
    if b"\\" not in payload and max(map(payload.count, _FIELD_NAMES[kind])) < 2:
        return None
    top = json.loads(
        payload,
        object_pairs_hook=_pairs_hook,
        parse_int=lambda _: 0,
        parse_float=lambda _: 0.0,
        parse_constant=lambda _: 0.0,
    )
    seen: set[str] = set()
    for name, _ in top:
        if name in seen:
            return name
        seen.add(name)
    return None


def _check(event: Event, limits: ParseLimits) -> tuple[str, str] | None:
    """Rules the struct cannot express: finite numbers and the time window."""
    if isinstance(event, Payment):
        # JSON has no infinity literal, but 1e999 overflows to one.
        if not math.isfinite(event.amount):
            return "invalid_amount", "amount must be finite"
        if event.attributes and not all(map(math.isfinite, event.attributes.values())):
            return "invalid_field", "attributes must be finite numbers - at `$.attributes`"
    earliest, latest = limits.window()
    try:
        t = event.ts.timestamp()
    except (OverflowError, ValueError):
        t = math.nan
    if not earliest <= t < latest:
        mode = "live" if limits.live else "replay"
        return "invalid_timestamp", (
            f"ts {event.ts.isoformat()} is outside the accepted {mode} window "
            f"[{datetime.fromtimestamp(earliest, UTC).isoformat()}, "
            f"{datetime.fromtimestamp(latest, UTC).isoformat()}) - at `$.ts`"
        )
    return None


def _parse(raw: Raw, limits: ParseLimits) -> Envelope | DeadLetter:
    if raw.kind.startswith("kafka_error:"):
        return dead_letter(raw, "kafka_error", raw.kind.removeprefix("kafka_error:"))
    payload = raw.payload
    if payload is None:
        return dead_letter(raw, "empty", "message has no value")
    if len(payload) > limits.max_bytes:
        return dead_letter(
            raw, "too_large", f"message is {len(payload)} bytes, limit {limits.max_bytes}"
        )
    if not payload.strip():
        return dead_letter(raw, "empty", "message is empty or only whitespace")
    decoder = _DECODERS.get(raw.kind)
    if decoder is None:
        return dead_letter(raw, "unknown_kind", f"no contract for messages of kind {raw.kind!r}")
    # msgspec does not check the UTF-8 of fields it skips.
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return dead_letter(raw, "not_json", f"not valid UTF-8 (byte {exc.start})")
    # Before decoding: msgspec recurses once per level, even through fields it ignores.
    depth = _too_deep(payload, limits.max_depth)
    if depth is not None:
        return dead_letter(raw, "too_deep", f"nested {depth} levels deep, limit {limits.max_depth}")
    try:
        event = decoder.decode(payload)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        return dead_letter(raw, _classify(exc), str(exc))
    twice = _duplicate_field(raw.kind, payload)
    if twice is not None:
        return dead_letter(raw, "invalid_field", f"field given twice - at `$.{twice}`")
    problem = _check(event, limits)
    if problem is not None:
        return dead_letter(raw, *problem)
    return Envelope(event, raw.received_at, raw.topic, raw.partition, raw.offset)


def parse(raw: Raw, limits: ParseLimits = REPLAY) -> Envelope | DeadLetter:
    """Validate one message against its contract and `limits`; never raises."""
    try:
        return _parse(raw, limits)
    except Exception as exc:  # one message must never stop the flow
        # The type only: the message of an unexpected error may quote the payload.
        return _internal(raw, exc)


def _internal(raw: Raw, exc: BaseException) -> DeadLetter:
    error = f"{type(exc).__name__} while parsing"
    try:
        return dead_letter(raw, "internal_error", error)
    except Exception:  # e.g. a MemoryError again: a letter without the payload
        return DeadLetter(
            reason="internal_error",
            error=error,
            source_topic=raw.topic,
            source_partition=raw.partition,
            source_offset=raw.offset,
            payload="",
            payload_encoding="utf-8",
            ts=_now_iso(),
            payload_size=len(raw.payload or b""),
            payload_truncated=bool(raw.payload),
        )
