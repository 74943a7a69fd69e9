"""Identifiers as people read them: the last 4 characters, a kind letter, nothing else."""

from __future__ import annotations

import json
import time

import pytest

from riskflow.contract.masking import MASK, mask_id, mask_payload, mask_text


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("A0000058", "A****0058"),  # an account: its kind letter and last 4
        ("6222021234567890", "****7890"),  # a card number
        ("+8613812345678", "****5678"),  # a phone number
        ("10.1.2.58", "****2.58"),
        ("A0000123-new1", "A****new1"),  # a device named after its account
        ("12345", "****2345"),
        ("ABCDE", "****BCDE"),  # no letter kept when only one would be hidden
        ("MULE", MASK),  # 4 characters or fewer: nothing kept
        ("", MASK),
        (622202123456, "****3456"),
    ],
)
def test_an_identifier_keeps_its_last_4_characters(value, masked):
    assert mask_id(value) == masked


def test_masking_is_deterministic_and_hides_the_length():
    assert mask_id("A0000058") == mask_id("A0000058")
    assert len(mask_id("A00000000000058")) == len(mask_id("A0000058"))


def test_free_text_masks_what_looks_like_an_identifier_and_nothing_else():
    text = (
        "at 2026-01-05T10:00:00+08:00 from 10.0.0.1 and 2001:db8::7 at 10:00, "
        "pay +8613812345678 from dev-0000123-0 for A0000123, limit 65536 bytes"
    )
    masked = mask_text(text)
    for clear in ("10.0.0.1", "2001:db8::7", "8613812345678", "0000123"):
        assert clear not in masked
    for kept in ("2026-01-05T10:00:00+08:00", "at 10:00,", "limit 65536 bytes", "A****0123"):
        assert kept in masked


def test_a_payload_masks_its_identifier_fields_by_name_and_keeps_the_event_id():
    body = {
        "event_id": "P000000001",
        "ts": "2026-01-05T10:00:00+08:00",
        "account_id": "HA1",
        "payee_account": 6222021234567890,
        "ip": "192.168.1.20",
        "device_id": "dev7",
        "customer_id": "C0000042",
        "merchant_id": "M-SHOP",
        "amount": 12.5,
    }
    masked = json.loads(mask_payload(json.dumps(body)))
    assert masked["event_id"] == "P000000001"  # how the producer finds it
    assert masked["account_id"] == MASK and masked["device_id"] == MASK
    assert masked["payee_account"] == "****7890" and masked["ip"] == "****1.20"
    assert masked["customer_id"] == "C****0042"
    assert masked["merchant_id"] == "M-SHOP" and masked["amount"] == 12.5


def test_a_cut_or_broken_payload_is_masked_too():
    assert mask_payload('{"account_id":"A00') == '{"account_id":"****"'
    assert "A0000123" not in mask_payload('not json, "x": "A0000123", 10.0.0.1')
    assert "10.0.0.1" not in mask_payload('{"ip": "10.0.0.1"')


def test_the_numbers_of_other_fields_stay_numbers():
    text = '{"event_id":"P1","amount": 1234567.5,"attributes":{"n":12345678},"x":"A0000124"}'
    masked = json.loads(mask_payload(text))
    assert masked["amount"] == 1234567.5 and masked["attributes"] == {"n": 12345678}
    assert masked["x"] == "A****0124"


HOSTILE = ["a-" * 2048, "a1" * 2048, "12345a" * 682, ":" * 4096, "1." * 2048]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_hostile_payload_masks_in_linear_time(text):
    # Every dead letter passes through the mask: a message built to backtrack must not
    # slow the flow down.
    started = time.perf_counter()
    mask_payload(text)
    assert time.perf_counter() - started < 0.05
