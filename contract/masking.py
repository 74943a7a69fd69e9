"""Identifiers as people may read them: masked to their last 4 characters.

Alerts, notifications, list-hit details, dead letters, log lines and the run summary are
read by people (branch staff, customers, on-call engineers) and copied into tickets and
chats, so they never carry an account, card or phone number or an IP in clear. Decisions
keep `account_id` in clear: the payment pipeline that consumes them has to act on it.

A masked identifier is `****` and its last 4 characters, after the first character when
that is a letter (the kind of id: `A****0058`, `****7890`). It is deterministic, so the
same account masks the same way in every alert and a case can still be matched, and its
length says nothing about the original's. An identifier of 4 characters or fewer masks to
`****` alone: its last 4 would be all of it.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["IDENTIFIER_FIELDS", "MASK", "mask_id", "mask_payload", "mask_text"]

MASK: Final = "****"
_KEPT: Final = 4

IDENTIFIER_FIELDS: Final = frozenset(
    {"account_id", "payee_account", "customer_id", "device_id", "ip", "card_number", "phone"}
)
"""Message fields that name a customer, an account, a card, a phone or a connection.

Device ids are in: a device is often named after its owner's account or phone. Merchant,
terminal and branch ids name the bank's counterparties, not customers, and stay clear."""


def mask_id(value: object) -> str:
    """`value` masked: `****` and its last 4 characters, after a leading letter if any."""
    text = str(value)
    if len(text) <= _KEPT:
        return MASK
    # The kind letter only when at least one character is hidden besides it.
    lead = text[0] if text[0].isascii() and text[0].isalpha() and len(text) > _KEPT + 1 else ""
    return f"{lead}{MASK}{text[-_KEPT:]}"


# Anything that looks like an identifier in free text: an IPv4 or IPv6 address, or a word
# holding a run of at least 6 digits (account, card and phone numbers, ids built from them).
# Times and dates never hold 6 digits in a row, nor 3 colons.
_IPV4 = r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])"
_IPV6 = r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?(?![\w:])"
# Tried only where a word starts, so that the scan stays linear in the text whatever it is.
_DIGITS = r"(?<![\w+-])\+?[\w-]*?\d{6,}[\w-]*"
_FREE = re.compile(f"{_IPV4}|{_IPV6}|{_DIGITS}")
# An identifier field of a JSON message, also in a cut or broken one: `"ip": "10.0.0.1"`.
_FIELD = re.compile(
    r'"(?P<name>' + "|".join(sorted(IDENTIFIER_FIELDS)) + r')"(?P<sep>\s*:\s*)'
    r'(?:"(?P<text>(?:[^"\\]|\\.)*)"?|(?P<number>-?[\d.eE+-]+))'
)
# The event id stays clear: it is how a dead letter is matched to the producer's own logs.
_EVENT_ID = re.compile(r'"event_id"\s*:\s*"(?:[^"\\]|\\.)*"')


def _masked_match(m: re.Match[str]) -> str:
    token = m.group(0)
    if ":" in token and token.count(":") < 3 and "::" not in token:
        return token  # hours and minutes, not an IPv6 address
    return mask_id(token)


def mask_text(text: str) -> str:
    """Free text with everything shaped like an identifier masked; other words untouched."""
    return _FREE.sub(_masked_match, text)


def _masked_field(m: re.Match[str]) -> str:
    value = m.group("text") if m.group("text") is not None else m.group("number")
    return f'"{m.group("name")}"{m.group("sep")}"{mask_id(value)}"'


def _masked_in_payload(m: re.Match[str]) -> str:
    token = m.group(0)
    before = m.string[max(0, m.start() - 16) : m.start()].rstrip()
    if token.isdigit() and before.endswith(":") and not before.endswith('":"'):
        # A JSON number of another field (an amount): masking it would break the message,
        # and the identifier fields were masked by name already.
        return token
    return _masked_match(m)


def mask_payload(text: str) -> str:
    """A message as text, possibly cut or malformed, with its identifiers masked: the
    identifier fields by name, then anything else shaped like one (not the event id)."""
    fields = _FIELD.sub(_masked_field, text)
    out: list[str] = []
    at = 0
    for m in _EVENT_ID.finditer(fields):
        out.append(_FREE.sub(_masked_in_payload, fields[at : m.start()]))
        out.append(m.group(0))
        at = m.end()
    out.append(_FREE.sub(_masked_in_payload, fields[at:]))
    return "".join(out)
