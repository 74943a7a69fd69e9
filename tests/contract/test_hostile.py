"""No message can crash parse: every hostile one is exactly one reasoned dead letter."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskflow.contract.messages import DEAD_LETTER_PAYLOAD_BYTES, DeadLetter, Payment
from riskflow.contract.parse import Envelope, ParseLimits, Raw, nesting_depth, parse
from riskflow.simulator.hostile import CATEGORIES, LATE, hostile_messages, kind_of
from tests.contract.strategies import feedbacks, hostile_values, logins, payments

KNOWN_REASONS = {
    "not_json",
    "not_an_object",
    "missing_field",
    "invalid_field",
    "invalid_amount",
    "invalid_timestamp",
    "too_large",
    "too_deep",
    "empty",
}
HOSTILE = list(hostile_messages(len(CATEGORIES) * 4, seed=11))


def raw(payload: bytes | None, kind: str = "payment") -> Raw:
    return Raw(kind, payload, "payments", 3, 77, 1.0)


def test_every_category_is_generated():
    assert {c for c, _ in HOSTILE} == set(CATEGORIES)
    assert len(CATEGORIES) >= 40


@pytest.mark.parametrize(("category", "payload"), HOSTILE, ids=[c for c, _ in HOSTILE])
def test_every_hostile_message_is_one_reasoned_dead_letter(category, payload):
    result = parse(raw(payload, kind_of(category)))
    if category in LATE:
        assert isinstance(result, Envelope)
        return
    assert isinstance(result, DeadLetter), category
    assert result.reason in KNOWN_REASONS, (category, result.reason, result.error)
    assert result.error
    assert (result.source_topic, result.source_partition, result.source_offset) == (
        "payments",
        3,
        77,
    )
    assert result.payload_size == len(payload)
    assert result.payload_sha256 == hashlib.sha256(payload).hexdigest()
    assert len(msgspec.json.encode(result)) < 16 * 1024


def test_the_security_teams_message_unknown_field_nested_a_thousand_deep():
    body = b'{"event_id":"P","ts":"2026-03-01T09:00:00Z","account_id":"A","amount":1,'
    body += b'"channel":"online","txn_type":"card","x":' + b"[" * 1000 + b"]" * 1000 + b"}"
    letter = parse(raw(body))
    assert isinstance(letter, DeadLetter) and letter.reason == "too_deep"


def test_brackets_inside_strings_do_not_count_as_nesting():
    value = '[[[{{{"\\"]]]' * 40
    body = {"event_id": "P", "ts": "2026-03-01T09:00:00Z", "account_id": "A", "amount": 1.0}
    body |= {"channel": "online", "txn_type": "card", "device_id": value[:200], "note": value}
    assert nesting_depth(json.dumps(body).encode()) == 1
    assert isinstance(parse(raw(json.dumps(body).encode())), Envelope)
    assert nesting_depth(b'[{"a": [1, {"b": "]]"}]}]') == 4


def test_a_five_megabyte_message_has_a_small_dead_letter_with_its_size_and_digest():
    for payload in (b"x" * 5_000_000, b"\x01" * 5_000_000, b"\xff" * 5_000_000):
        letter = parse(raw(payload))
        assert isinstance(letter, DeadLetter) and letter.reason == "too_large"
        assert len(msgspec.json.encode(letter)) < 16 * 1024
        assert letter.payload_truncated and letter.payload_size == 5_000_000
        assert letter.payload_sha256 == hashlib.sha256(payload).hexdigest()
        kept = (
            base64.b64decode(letter.payload)
            if letter.payload_encoding == "base64"
            else letter.payload.encode()
        )
        assert payload.startswith(kept) and len(kept) <= DEAD_LETTER_PAYLOAD_BYTES


def test_a_prefix_cut_through_a_character_stays_text():
    payload = "é".encode() * 40_000  # two bytes each: the 4 KiB cut is on a boundary or not
    letter = parse(raw(b"x" + payload))
    assert letter.payload_encoding == "utf-8"
    assert letter.payload.startswith("xé")


def test_a_long_value_in_an_error_is_cut():
    body = {"event_id": "P", "ts": "2026-03-01T09:00:00Z", "account_id": "A", "amount": 1.0}
    letter = parse(raw(json.dumps(body | {"channel": "z" * 50_000, "txn_type": "card"}).encode()))
    assert isinstance(letter, DeadLetter) and letter.reason == "invalid_field"
    assert len(letter.error) <= 512 and letter.error.endswith("`$.channel`")


def test_live_input_accepts_only_a_window_around_the_clock():
    now = datetime(2026, 3, 2, tzinfo=UTC).timestamp()
    live = ParseLimits(live=True, past_s=2 * 86400, future_s=3600, clock=lambda: now)
    body = {"event_id": "P", "account_id": "A", "amount": 1.0, "channel": "pos"}
    body |= {"txn_type": "card"}

    def at(ts: str) -> Envelope | DeadLetter:
        return parse(raw(json.dumps(body | {"ts": ts}).encode()), live)

    assert isinstance(at("2026-03-01T12:00:00Z"), Envelope)
    assert isinstance(at("2026-03-02T00:30:00Z"), Envelope)
    for late_or_early in ("2026-02-27T00:00:00Z", "2026-03-02T02:00:00Z", "2029-01-01T00:00:00Z"):
        letter = at(late_or_early)
        assert isinstance(letter, DeadLetter) and letter.reason == "invalid_timestamp"
    # A replay of old files is judged only against the fixed range.
    assert isinstance(
        parse(raw(json.dumps(body | {"ts": "2020-01-01T00:00:00Z"}).encode())), Envelope
    )


def test_a_field_given_twice_is_rejected_but_a_repeated_name_in_a_value_is_not():
    base = b'{"event_id":"P","ts":"2026-03-01T09:00:00Z","account_id":"A","channel":"pos",'
    base += b'"txn_type":"card",'
    assert parse(raw(base + b'"amount":1,"amount":5}')).reason == "invalid_field"
    assert parse(raw(base + b'"amount":1,"\\u0061mount":5}')).reason == "invalid_field"
    ok = parse(raw(base + b'"amount":1,"device_id":"\\"amount\\"","x":{"amount":2}}'))
    assert isinstance(ok, Envelope) and ok.event.amount == 1.0


def test_an_unexpected_exception_is_an_internal_error_naming_only_its_type(monkeypatch):
    import riskflow.contract.parse as parse_module

    def explode(_payload):
        raise MemoryError("secret payload text")

    monkeypatch.setattr(parse_module, "_too_deep", lambda *_: explode(None))
    letter = parse(raw(b'{"a": 1}'))
    assert isinstance(letter, DeadLetter) and letter.reason == "internal_error"
    assert "MemoryError" in letter.error and "secret" not in letter.error


@settings(max_examples=300, deadline=None)
@given(payload=st.binary(max_size=2000), kind=st.sampled_from(["payment", "login", "feedback"]))
def test_any_bytes_give_exactly_one_envelope_or_dead_letter(payload, kind):
    result = parse(raw(payload, kind))
    assert isinstance(result, Envelope | DeadLetter)
    if isinstance(result, DeadLetter):
        assert result.reason and result.payload_size == len(payload)


@settings(max_examples=200, deadline=None)
@given(
    kind_and_body=st.one_of(
        payments().map(lambda b: ("payment", b)),
        logins().map(lambda b: ("login", b)),
        feedbacks().map(lambda b: ("feedback", b)),
    )
)
def test_every_valid_message_is_accepted_and_its_time_is_safe_anywhere(kind_and_body):
    kind, body = kind_and_body
    result = parse(raw(json.dumps(body).encode(), kind))
    assert isinstance(result, Envelope), getattr(result, "error", "")
    for zone in ("Pacific/Kiritimati", "Etc/GMT+12", "Asia/Shanghai"):
        result.event.ts.astimezone(ZoneInfo(zone))


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(sorted(Payment.__struct_fields__)), value=hostile_values())
def test_any_value_in_any_payment_field_gives_an_event_or_a_known_reason(field, value):
    body = {"event_id": "P", "ts": "2026-03-01T09:00:00Z", "account_id": "A", "amount": 1.0}
    body |= {"channel": "pos", "txn_type": "card"}
    result = parse(raw(json.dumps(body | {field: value}).encode()))
    if isinstance(result, DeadLetter):
        assert result.reason in KNOWN_REASONS, (result.reason, result.error)
