"""Every inbound message becomes an event or a dead letter with a reason, never an exception."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskflow.contract.messages import DeadLetter, Login, Payment
from riskflow.contract.parse import MAX_MESSAGE_BYTES, Envelope, Raw, parse

VALID = {
    "event_id": "P1",
    "ts": "2026-03-01T09:15:02+08:00",
    "account_id": "A1",
    "amount": 12.5,
    "channel": "online",
    "txn_type": "transfer",
}


def raw(payload: bytes, kind: str = "payment") -> Raw:
    return Raw(kind, payload, "payments", 1, 42, 123.0)


def dead(payload: bytes, kind: str = "payment") -> DeadLetter:
    result = parse(raw(payload, kind))
    assert isinstance(result, DeadLetter), result
    assert (result.source_topic, result.source_partition, result.source_offset) == (
        "payments",
        1,
        42,
    )
    return result


def test_valid_payment_parses_with_defaults_and_ignores_unknown_fields():
    result = parse(raw(json.dumps(VALID | {"future_field": [1, 2]}).encode()))
    assert isinstance(result, Envelope)
    assert isinstance(result.event, Payment)
    assert result.event.currency == "CNY" and result.event.auth_method == "none"
    assert result.received_at == 123.0


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"amount": 0}, "invalid_amount"),
        ({"amount": -1}, "invalid_amount"),
        ({"amount": "12"}, "invalid_amount"),
        ({"ts": "2026-03-01T09:15:02"}, "invalid_timestamp"),
        ({"ts": "yesterday"}, "invalid_timestamp"),
        ({"channel": "telegraph"}, "invalid_field"),
        ({"account_id": 17}, "invalid_field"),
    ],
)
def test_invalid_fields_are_dead_lettered_with_their_reason(change, reason):
    letter = dead(json.dumps(VALID | change).encode())
    assert letter.reason == reason
    assert letter.payload_encoding == "utf-8"
    assert json.loads(letter.payload) == VALID | change


def test_missing_field_not_json_not_object_and_infinite_amount():
    missing = {k: v for k, v in VALID.items() if k != "ts"}
    assert dead(json.dumps(missing).encode()).reason == "missing_field"
    assert dead(b"{not json").reason == "not_json"
    assert dead(b"[1, 2, 3]").reason == "not_an_object"
    assert dead(json.dumps(VALID).encode().replace(b"12.5", b"1e999")).reason == "invalid_amount"


def test_non_utf8_payload_is_kept_as_base64():
    letter = dead(b"\xff\xfe\x00binary")
    assert letter.reason == "not_json"
    assert letter.payload_encoding == "base64"
    assert base64.b64decode(letter.payload) == b"\xff\xfe\x00binary"


def test_oversized_message_is_rejected_before_decoding():
    big = json.dumps(VALID | {"pad": "x" * MAX_MESSAGE_BYTES}).encode()
    assert dead(big).reason == "too_large"


def test_login_contract_and_unknown_kind():
    login = {
        "event_id": "L1",
        "ts": "2026-03-01T09:00:00Z",
        "account_id": "A1",
        "channel": "mobile",
        "success": False,
    }
    result = parse(raw(json.dumps(login).encode(), "login"))
    assert isinstance(result, Envelope) and isinstance(result.event, Login)
    assert dead(json.dumps(login).encode(), "unknown").reason == "unknown_kind"
    assert dead(json.dumps(login | {"success": "no"}).encode(), "login").reason == "invalid_field"


@settings(max_examples=400, deadline=None)
@given(payload=st.binary(max_size=300), kind=st.sampled_from(["payment", "login", "feedback"]))
def test_arbitrary_bytes_never_raise(payload, kind):
    result = parse(raw(payload, kind))
    assert isinstance(result, Envelope | DeadLetter)


json_values = st.recursive(
    # No NaN or infinity: json.dumps would write them as non-JSON (that case is `not_json`).
    st.none()
    | st.booleans()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.integers()
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None)
@given(field=st.sampled_from(sorted(VALID)), value=json_values)
def test_any_value_in_any_required_field_gives_event_or_reasoned_dead_letter(field, value):
    result = parse(raw(json.dumps(VALID | {field: value}).encode()))
    if isinstance(result, DeadLetter):
        assert result.reason in {
            "invalid_amount",
            "invalid_timestamp",
            "invalid_field",
            "missing_field",
        }
    else:
        event = result.event
        assert isinstance(event, Payment)
        assert event.amount > 0 and event.ts.tzinfo is not None
