"""Small hand-written event streams for flow tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

CST = timezone(timedelta(hours=8))
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=CST)

TEST_RULESET = """
version: "{version}"
rules:
  - id: takeover
    description: failed logins, new-device login, then a transfer to a new payee
    condition: >-
      failures_before_login >= 3 and last_login_new_device
      and minutes_since_login <= 30 and is_new_payee
    action: block
    severity: critical
    reason: ATO_CHAIN
    applies_to: [payment]
  - id: big_payment
    description: a large payment
    condition: "amount >= {big}"
    action: review
    severity: high
    reason: BIG_PAYMENT
    applies_to: [payment]
  - id: failing_logins
    description: repeated failed logins
    condition: "failed_logins_15m >= 2 and not login_success"
    action: challenge
    severity: low
    reason: LOGIN_FAILURES
    applies_to: [login]
"""


def ruleset_text(version: str = "test-1", big: float = 10_000) -> str:
    return TEST_RULESET.format(version=version, big=big)


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def payment(eid: str, account: str, minutes: float, amount: float, **kw: Any) -> dict[str, Any]:
    return {
        "event_id": eid,
        "ts": at(minutes),
        "account_id": account,
        "amount": amount,
        "channel": kw.pop("channel", "online"),
        "txn_type": kw.pop("txn_type", "transfer"),
        **kw,
    }


def login(eid: str, account: str, minutes: float, success: bool, **kw: Any) -> dict[str, Any]:
    return {
        "event_id": eid,
        "ts": at(minutes),
        "account_id": account,
        "channel": kw.pop("channel", "mobile"),
        "success": success,
        **kw,
    }


def bank_day() -> dict[str, list[Any]]:
    """A morning at the bank: habits, a takeover, a deny-listed payee and broken messages."""
    payments = [
        payment("P1", "A1", 1, 120.0, payee_account="SHOP", branch_id="BR001", device_id="a1"),
        payment("P2", "A1", 30, 80.0, payee_account="SHOP", branch_id="BR001", device_id="a1"),
        payment("P3", "A1", 60, 25_000.0, payee_account="SHOP", branch_id="BR001", device_id="a1"),
        payment("P4", "A2", 20, 4_000.0, payee_account="MULE-NEW", device_id="evil"),
        payment("P5", "A3", 5, 300.0, payee_account="MULE9", branch_id="BR003"),
        payment("P6", "A4", 7, 50.0, payee_account="MULE9"),
        payment("P7", "A5", 9, 60.0, payee_account="MULE9"),
        "this is not json",
        json.dumps(payment("P8", "A1", 61, -5.0)),
        json.dumps({k: v for k, v in payment("P9", "A1", 62, 5.0).items() if k != "ts"}),
    ]
    logins = [
        login("L1", "A2", 0, True, device_id="home", branch_id="BR002"),
        login("L2", "A2", 5, False, device_id="evil"),
        login("L3", "A2", 6, False, device_id="evil"),
        login("L4", "A2", 7, False, device_id="evil"),
        login("L5", "A2", 8, True, device_id="evil"),
        login("L6", "A5", 8.5, True, device_id="a5", branch_id="BR005"),
    ]
    feedback = [
        {"event_id": "P4", "account_id": "A2", "label": "fraud", "ts": at(240), "source": "police"},
        {"event_id": "P1", "account_id": "A1", "label": "legit", "ts": "not a time"},
    ]
    return {"payments": payments, "logins": logins, "feedback": feedback}


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    with open(path, "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
