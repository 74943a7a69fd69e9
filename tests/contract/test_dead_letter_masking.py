"""A dead letter leaves riskflow bounded, and masked unless `deadletters.raw_payload`."""

from __future__ import annotations

import base64
import json

import pytest

from riskflow.contract.messages import DEAD_LETTER_PAYLOAD_BYTES
from riskflow.contract.parse import Raw, parse, redact_dead_letter

BROKEN = {
    "event_id": "P000000042",
    "ts": "2026-03-01T09:15:02+08:00",
    "account_id": "A0001234",
    "amount": "12.50",  # a string: invalid_amount
    "channel": "mobile",
    "txn_type": "transfer",
    "payee_account": "6222021234567890",
    "ip": "10.1.2.3",
}


def letter_of(body: bytes):
    letter = parse(Raw("payment", body, "payments", 0, 7))
    assert not hasattr(letter, "event"), letter
    return letter


def test_a_masked_letter_names_no_identifier_and_keeps_what_triage_needs():
    letter = letter_of(json.dumps(BROKEN).encode())
    out = redact_dead_letter(letter, payload_bytes=DEAD_LETTER_PAYLOAD_BYTES, raw=False)
    for clear in ("A0001234", "6222021234567890", "10.1.2.3"):
        assert clear in letter.payload and clear not in out.payload
    body = json.loads(out.payload)
    assert body["account_id"] == "A****1234" and body["payee_account"] == "****7890"
    assert body["event_id"] == "P000000042" and body["amount"] == "12.50"
    assert out.reason == letter.reason == "invalid_amount"
    assert (out.source_topic, out.source_offset, out.payload_size) == (
        "payments",
        7,
        letter.payload_size,
    )
    # A hash of the whole message would let the masked digits be found by trying them all.
    assert out.payload_masked and out.payload_sha256 == "" and letter.payload_sha256


def test_the_bound_cuts_the_masked_copy_and_says_so():
    letter = letter_of(json.dumps(BROKEN).encode())
    out = redact_dead_letter(letter, payload_bytes=60, raw=False)
    assert len(out.payload.encode()) <= 60 and out.payload_truncated
    assert "A0001234" not in out.payload


def test_raw_keeps_the_bytes_as_they_came_up_to_the_bound():
    letter = letter_of(json.dumps(BROKEN).encode())
    assert redact_dead_letter(letter, payload_bytes=DEAD_LETTER_PAYLOAD_BYTES, raw=True) == letter
    cut = redact_dead_letter(letter, payload_bytes=40, raw=True)
    assert cut.payload == letter.payload[:40] and cut.payload_truncated
    assert not cut.payload_masked and cut.payload_sha256 == letter.payload_sha256


@pytest.mark.parametrize("raw", [False, True])
def test_bytes_that_are_not_text_are_bounded_and_masked_as_text(raw):
    body = b'\xff{"account_id":"A0001234"}'
    letter = letter_of(body)
    assert letter.payload_encoding == "base64"
    out = redact_dead_letter(letter, payload_bytes=DEAD_LETTER_PAYLOAD_BYTES, raw=raw)
    if raw:
        assert base64.b64decode(out.payload) == body
    else:
        assert out.payload_encoding == "utf-8" and "A****1234" in out.payload
        assert "A0001234" not in out.payload


def test_a_letter_is_masked_once():
    letter = letter_of(json.dumps(BROKEN | {"account_id": "HA1"}).encode())
    once = redact_dead_letter(letter, payload_bytes=DEAD_LETTER_PAYLOAD_BYTES, raw=False)
    assert redact_dead_letter(once, payload_bytes=10, raw=False) == once
    assert json.loads(once.payload)["account_id"] == "****"
