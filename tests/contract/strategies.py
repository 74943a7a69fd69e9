"""Hypothesis strategies for every field of the inbound contract (a helper, not tests).

`valid_*` give field values the contract accepts; `payments()`, `logins()` and
`feedbacks()` give whole valid messages as dicts; `hostile_values()` gives any JSON value.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any, get_args

from hypothesis import strategies as st

from riskflow.contract.messages import (
    MAX_ATTRIBUTE_NAME_CHARS,
    MAX_ATTRIBUTES,
    MAX_CURRENCY_CHARS,
    MAX_ID_CHARS,
    MAX_IP_CHARS,
    MAX_TEXT_CHARS,
    AuthMethod,
    Channel,
    FeedbackSource,
    Label,
    TxnType,
)

__all__ = [
    "attributes",
    "feedbacks",
    "hostile_values",
    "ids",
    "logins",
    "payments",
    "timestamps",
]

_TEXT = st.characters(codec="utf-8", exclude_categories=("Cs",))


def ids(max_size: int = MAX_ID_CHARS) -> st.SearchStrategy[str]:
    return st.text(_TEXT, min_size=1, max_size=min(max_size, 40))


def optional_text(cap: int) -> st.SearchStrategy[str | None]:
    return st.none() | st.text(_TEXT, max_size=min(cap, 40))


def timestamps() -> st.SearchStrategy[str]:
    """RFC 3339 with a zone, inside the replay window and away from its edges."""
    zones = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
    return st.builds(
        lambda d, tz: d.replace(tzinfo=UTC).astimezone(tz).isoformat(),
        st.datetimes(datetime(1972, 1, 1), datetime(2199, 1, 1)),
        zones,
    )


amounts = st.floats(min_value=0.01, max_value=1e12, allow_nan=False, allow_infinity=False)
latitudes = st.none() | st.floats(-90, 90)
longitudes = st.none() | st.floats(-180, 180)
channels = st.sampled_from(get_args(Channel))
txn_types = st.sampled_from(get_args(TxnType))
auth_methods = st.sampled_from(get_args(AuthMethod))
labels = st.sampled_from(get_args(Label))
sources = st.none() | st.sampled_from(get_args(FeedbackSource))


def attributes() -> st.SearchStrategy[dict[str, float] | None]:
    return st.none() | st.dictionaries(
        st.text(_TEXT, max_size=min(MAX_ATTRIBUTE_NAME_CHARS, 20)),
        st.floats(allow_nan=False, allow_infinity=False),
        max_size=min(MAX_ATTRIBUTES, 8),
    )


def _without_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def payments() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "event_id": ids(),
            "ts": timestamps(),
            "account_id": ids(),
            "amount": amounts,
            "channel": channels,
            "txn_type": txn_types,
            "currency": st.none() | st.text(_TEXT, max_size=MAX_CURRENCY_CHARS),
            "payee_account": optional_text(MAX_ID_CHARS),
            "merchant_id": optional_text(MAX_ID_CHARS),
            "terminal_id": optional_text(MAX_ID_CHARS),
            "device_id": optional_text(MAX_ID_CHARS),
            "ip": optional_text(MAX_IP_CHARS),
            "lat": latitudes,
            "lon": longitudes,
            "auth_method": auth_methods,
            "branch_id": optional_text(MAX_ID_CHARS),
            "customer_id": optional_text(MAX_ID_CHARS),
            "attributes": attributes(),
        }
    ).map(_without_none)


def logins() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "event_id": ids(),
            "ts": timestamps(),
            "account_id": ids(),
            "channel": channels,
            "success": st.booleans(),
            "failure_reason": optional_text(MAX_TEXT_CHARS),
            "device_id": optional_text(MAX_ID_CHARS),
            "ip": optional_text(MAX_IP_CHARS),
            "lat": latitudes,
            "lon": longitudes,
            "user_agent": optional_text(MAX_TEXT_CHARS),
            "auth_method": auth_methods,
            "branch_id": optional_text(MAX_ID_CHARS),
        }
    ).map(_without_none)


def feedbacks() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "event_id": ids(),
            "account_id": ids(),
            "label": labels,
            "ts": timestamps(),
            "source": sources,
        }
    ).map(_without_none)


def hostile_values() -> st.SearchStrategy[Any]:
    """Any JSON value, including deep, long and non-finite ones."""
    return st.recursive(
        st.none()
        | st.booleans()
        | st.floats()
        | st.integers()
        | st.text(max_size=8)
        | st.text(min_size=257, max_size=600),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
        max_leaves=12,
    )
