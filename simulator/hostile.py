"""Hostile inbound messages: what an attacker (or a badly broken producer) can send.

`hostile_messages` yields (category, raw bytes) pairs, round-robin over every
category so that any `n` of at least `len(CATEGORIES)` covers them all. A
category is `kind/name`, `kind` being the contract the message is sent as
(`payment`, `login`, `feedback`); see `kind_of`. Every message is dead-lettered:
by `parse`, except the categories in `LATE`, which are valid messages that a
later step dead-letters (a label for an event nobody decided). No message holds
a line break, so any of them can be written as one line of a JSONL file.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from riskflow.contract.messages import (
    MAX_ATTRIBUTES,
    MAX_CURRENCY_CHARS,
    MAX_ID_CHARS,
    MAX_IP_CHARS,
    MAX_TEXT_CHARS,
)

__all__ = ["CATEGORIES", "LATE", "hostile_messages", "kind_of"]

_encode = msgspec.json.encode
_T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

Body = dict[str, Any]


def _payment(rng: random.Random, i: int) -> Body:
    return {
        "event_id": f"H-P{i}",
        "ts": (_T0 + timedelta(minutes=rng.randrange(600))).isoformat(),
        "account_id": f"HA{rng.randrange(5)}",
        "amount": round(rng.uniform(1, 5000), 2),
        "channel": rng.choice(["online", "mobile", "branch"]),
        "txn_type": rng.choice(["transfer", "card"]),
        "payee_account": f"PAYEE{rng.randrange(9)}",
        "device_id": f"dev{rng.randrange(9)}",
    }


def _login(rng: random.Random, i: int) -> Body:
    return {
        "event_id": f"H-L{i}",
        "ts": (_T0 + timedelta(minutes=rng.randrange(600))).isoformat(),
        "account_id": f"HA{rng.randrange(5)}",
        "channel": "mobile",
        "success": rng.random() < 0.5,
        "device_id": f"dev{rng.randrange(9)}",
    }


def _feedback(rng: random.Random, i: int) -> Body:
    return {
        "event_id": f"H-P{i}",
        "account_id": f"HA{rng.randrange(5)}",
        "label": rng.choice(["fraud", "legit"]),
        "ts": (_T0 + timedelta(minutes=rng.randrange(600))).isoformat(),
    }


_BASES: dict[str, Callable[[random.Random, int], Body]] = {
    "payment": _payment,
    "login": _login,
    "feedback": _feedback,
}

# (field, a value of the wrong type) for every field of each contract.
_WRONG_TYPES: dict[str, list[tuple[str, object]]] = {
    "payment": [
        ("event_id", 17),
        ("ts", 1_700_000_000),
        ("account_id", ["A1"]),
        ("amount", "12.50"),
        ("channel", 3),
        ("txn_type", None),
        ("currency", 156),
        ("payee_account", {"id": "X"}),
        ("merchant_id", 5),
        ("terminal_id", True),
        ("device_id", 1.5),
        ("ip", [127, 0, 0, 1]),
        ("lat", "31.2N"),
        ("lon", [121.4]),
        ("auth_method", 0),
        ("branch_id", 12),
        ("customer_id", False),
        ("attributes", [1.0, 2.0]),
    ],
    "login": [
        ("event_id", None),
        ("ts", [2026, 3, 2]),
        ("account_id", 9),
        ("channel", {"name": "mobile"}),
        ("success", "yes"),
        ("failure_reason", 401),
        ("device_id", ["d"]),
        ("ip", 2130706433),
        ("lat", True),
        ("lon", "east"),
        ("user_agent", {"ua": 1}),
        ("auth_method", ["password"]),
        ("branch_id", 3.0),
    ],
    "feedback": [
        ("event_id", 5),
        ("account_id", None),
        ("label", True),
        ("ts", 0),
        ("source", 7),
    ],
}

_REQUIRED = {
    "payment": ["event_id", "ts", "account_id", "amount", "channel", "txn_type"],
    "login": ["event_id", "ts", "account_id", "channel", "success"],
    "feedback": ["event_id", "account_id", "label", "ts"],
}

_ENUMS = {
    "payment": [("channel", "telegraph"), ("txn_type", "loan"), ("auth_method", "retina")],
    "login": [("channel", "fax"), ("auth_method", "password1")],
    "feedback": [("label", "maybe"), ("source", "rumour")],
}

# Every string field with its cap: one character more is already too long.
_STRING_CAPS = {
    "payment": [
        ("event_id", MAX_ID_CHARS),
        ("account_id", MAX_ID_CHARS),
        ("currency", MAX_CURRENCY_CHARS),
        ("payee_account", MAX_ID_CHARS),
        ("merchant_id", MAX_ID_CHARS),
        ("terminal_id", MAX_ID_CHARS),
        ("device_id", MAX_ID_CHARS),
        ("ip", MAX_IP_CHARS),
        ("branch_id", MAX_ID_CHARS),
        ("customer_id", MAX_ID_CHARS),
    ],
    "login": [
        ("event_id", MAX_ID_CHARS),
        ("account_id", MAX_ID_CHARS),
        ("failure_reason", MAX_TEXT_CHARS),
        ("device_id", MAX_ID_CHARS),
        ("ip", MAX_IP_CHARS),
        ("user_agent", MAX_TEXT_CHARS),
        ("branch_id", MAX_ID_CHARS),
    ],
    "feedback": [("event_id", MAX_ID_CHARS), ("account_id", MAX_ID_CHARS)],
}

# Control bytes that are not line breaks (a JSONL line must stay one line).
# Nor a tab: JSON allows one around values.
_CONTROL = bytes(b for b in range(32) if b not in b"\t\n\r")


def _splice(body: Body, tail: bytes) -> bytes:
    """`body` encoded with raw bytes appended inside the object as one more member."""
    return _encode(body)[:-1] + b"," + tail + b"}"


def _pick(i: int, options: list[Any]) -> Any:
    # Round-robin, so enough messages cover every option of every category.
    return options[i % len(options)]


Maker = Callable[[random.Random, int, Body], bytes]


def _deep_unknown(rng: random.Random, i: int, body: Body) -> bytes:
    depth = rng.randrange(40, 1500)
    opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
    return _splice(body, b'"extra":' + opener * depth + b"1" + closer * depth)


def _deep_known(rng: random.Random, i: int, body: Body) -> bytes:
    depth = rng.randrange(40, 1500)
    field = _pick(i, ["attributes", "account_id", "ts"])
    return _splice(body, f'"{field}":'.encode() + b"[" * depth + b"]" * depth)


def _huge(rng: random.Random, i: int, body: Body) -> bytes:
    size = rng.randrange(65 * 1024, 400 * 1024)
    return _splice(body, b'"pad":"' + b"x" * size + b'"')


def _control(rng: random.Random, i: int, body: Body) -> bytes:
    c = bytes([_CONTROL[rng.randrange(len(_CONTROL))]])
    if i % 2:
        return _encode(body)[:-1].replace(b'"ts"', b'"t' + c + b's"') + b"}"
    return c + _encode(body)


def _invalid_utf8(rng: random.Random, i: int, body: Body) -> bytes:
    bad = _pick(i, [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80"])
    return _splice(body, b'"ignored":"ok' + bad + b'"')


def _ts(value: str) -> Maker:
    return lambda rng, i, body: _encode(body | {"ts": value})


def _raw_field(field: str, options: list[bytes]) -> Maker:
    def make(rng: random.Random, i: int, body: Body) -> bytes:
        kept = {k: v for k, v in body.items() if k != field}
        return _splice(kept, f'"{field}":'.encode() + _pick(i, options))

    return make


def _amount_not_positive(rng: random.Random, i: int, body: Body) -> bytes:
    return _encode(body | {"amount": _pick(i, [0, -0.0, -5, -1e-9])})


def _wrong_type(kind: str) -> Maker:
    def make(rng: random.Random, i: int, body: Body) -> bytes:
        field, value = _pick(i, _WRONG_TYPES[kind])
        return _encode(body | {field: value})

    return make


def _missing(kind: str) -> Maker:
    def make(rng: random.Random, i: int, body: Body) -> bytes:
        field = _pick(i, _REQUIRED[kind])
        return _encode({k: v for k, v in body.items() if k != field})

    return make


def _unknown_enum(kind: str) -> Maker:
    def make(rng: random.Random, i: int, body: Body) -> bytes:
        field, value = _pick(i, _ENUMS[kind])
        return _encode(body | {field: value})

    return make


def _oversized(kind: str) -> Maker:
    def make(rng: random.Random, i: int, body: Body) -> bytes:
        field, cap = _pick(i, _STRING_CAPS[kind])
        length = rng.choice([cap + 1, 2 * cap, 60_000])
        return _encode(body | {field: "z" * length})

    return make


def _too_many_attributes(rng: random.Random, i: int, body: Body) -> bytes:
    n = rng.randrange(MAX_ATTRIBUTES + 1, 2000)
    return _encode(body | {"attributes": {f"a{j}": float(j) for j in range(n)}})


def _duplicate_key(kind: str) -> Maker:
    def make(rng: random.Random, i: int, body: Body) -> bytes:
        field = _pick(i, _REQUIRED[kind])
        # The repeat is itself valid: only its ambiguity makes the message bad.
        value = {"amount": 99999.0, "success": True, "label": "legit"}.get(field, body[field])
        if field == "ts":
            value = (_T0 + timedelta(days=1)).isoformat()
        elif isinstance(value, str) and field in ("event_id", "account_id"):
            value = value + "-other"
        escaped = i % 2 == 1
        name = f"\\u{ord(field[0]):04x}{field[1:]}" if escaped else field
        return _splice(body, f'"{name}":'.encode() + _encode(value))

    return make


def _truncated(rng: random.Random, i: int, body: Body) -> bytes:
    whole = _encode(body)
    return whole[: rng.randrange(1, len(whole) - 1)]


def _bom(rng: random.Random, i: int, body: Body) -> bytes:
    return b"\xef\xbb\xbf" + _encode(body)


def _not_object(rng: random.Random, i: int, body: Body) -> bytes:
    return _pick(i, [_encode([body]), b"[]", b'"payment"', b"42", b"null", b"true", b"-1e999"])


def _unknown_event(rng: random.Random, i: int, body: Body) -> bytes:
    return _encode(body | {"event_id": f"NEVER-DECIDED-{i}"})


_FOR_ALL_KINDS: list[tuple[str, Callable[[str], Maker]]] = [
    ("wrong_type", _wrong_type),
    ("missing_field", _missing),
    ("unknown_enum", _unknown_enum),
    ("oversized_string", _oversized),
    ("duplicate_key", _duplicate_key),
]

_GENERIC: list[tuple[str, Maker]] = [
    ("deep_nesting_unknown_field", _deep_unknown),
    ("deep_nesting_known_field", _deep_known),
    ("huge", _huge),
    ("control_bytes", _control),
    ("invalid_utf8", _invalid_utf8),
    ("ts_year_9999", _ts("9999-12-31T20:00:00Z")),
    ("ts_year_1", _ts("0001-01-01T00:00:00+08:00")),
    ("ts_year_9000", _ts("9000-06-01T12:00:00+08:00")),
    ("ts_naive", _ts("2026-03-02T09:30:00")),
    ("empty", lambda rng, i, body: b""),
    ("whitespace", lambda rng, i, body: _pick(i, [b" ", b"\t", b"  \t  ", b"\x0c"])),
    ("not_an_object", _not_object),
    ("truncated", _truncated),
    ("bom", _bom),
]

_PAYMENT_ONLY: list[tuple[str, Maker]] = [
    (
        "amount_non_finite",
        _raw_field("amount", [b"1e999", b"-1e999", b"NaN", b"Infinity", b"-Infinity"]),
    ),
    ("amount_not_positive", _amount_not_positive),
    ("huge_int", _raw_field("amount", [b"1" + b"0" * 400, b"-" + b"9" * 5000])),
    ("huge_number_lat", _raw_field("lat", [b"1" + b"0" * 400, b"1e400"])),
    ("too_many_attributes", _too_many_attributes),
    (
        "attribute_non_finite",
        _raw_field("attributes", [b'{"a":1e999}', b'{"a":-1e999}', b'{"a":NaN}']),
    ),
]


def _categories() -> dict[str, tuple[str, Maker]]:
    table: dict[str, tuple[str, Maker]] = {}
    for kind in ("payment", "login", "feedback"):
        for name, make in _GENERIC:
            table[f"{kind}/{name}"] = (kind, make)
        for name, build in _FOR_ALL_KINDS:
            table[f"{kind}/{name}"] = (kind, build(kind))
    for name, make in _PAYMENT_ONLY:
        table[f"payment/{name}"] = ("payment", make)
    table["feedback/unknown_event"] = ("feedback", _unknown_event)
    return table


_TABLE = _categories()
CATEGORIES: tuple[str, ...] = tuple(_TABLE)
LATE: frozenset[str] = frozenset({"feedback/unknown_event"})
"""Valid at parse; the learner dead-letters them (`feedback_unmatched`)."""


def kind_of(category: str) -> str:
    """The contract a message of `category` is sent as: `payment`, `login` or `feedback`."""
    return category.split("/", 1)[0]


def hostile_messages(n: int, seed: int) -> Iterator[tuple[str, bytes]]:
    """`n` hostile messages, round-robin over `CATEGORIES`, reproducible from `seed`."""
    rng = random.Random(seed)
    for i in range(n):
        category = CATEGORIES[i % len(CATEGORIES)]
        kind, make = _TABLE[category]
        # Each category's own counter walks its options (fields, values) in turn.
        turn = i // len(CATEGORIES)
        yield category, make(rng, turn, _BASES[kind](rng, i))
