"""Broken messages a real pipeline produces now and then, with the reason riskflow must give."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import msgspec

__all__ = ["BREAKERS", "break_message"]

_encode = msgspec.json.encode


def _without(field: str) -> Callable[[dict[str, Any]], bytes]:
    return lambda body: _encode({k: v for k, v in body.items() if k != field})


def _with(field: str, value: object) -> Callable[[dict[str, Any]], bytes]:
    return lambda body: _encode(body | {field: value})


# (expected dead-letter reason, applies to logins too, how to break the message)
BREAKERS: tuple[tuple[str, bool, Callable[[dict[str, Any]], bytes]], ...] = (
    ("not_json", True, lambda body: _encode(body)[:-7]),
    ("not_json", True, lambda body: b"\xff\xfe" + _encode(body)[2:]),
    ("missing_field", True, _without("account_id")),
    ("invalid_timestamp", True, lambda body: _encode(body | {"ts": body["ts"][:19]})),
    ("invalid_field", True, _with("channel", "telegraph")),
    ("invalid_amount", False, lambda body: _encode(body | {"amount": -abs(body["amount"])})),
    ("invalid_amount", False, _with("amount", 0)),
)


def break_message(rng: random.Random, kind: str, body: dict[str, Any]) -> tuple[str, bytes]:
    options = [b for b in BREAKERS if kind == "payment" or b[1]]
    reason, _, breaker = options[rng.randrange(len(options))]
    return reason, breaker(body)
