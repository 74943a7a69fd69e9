"""Every feature the flow computes, with its type and meaning.

This catalogue is the interface between feature extraction and the rules: a
rule condition may only name features listed here, so a typo in a ruleset is
rejected when it loads rather than silently never firing. Each feature always
has a value (no `None`), so conditions never fail on a missing one.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ENTITY_OF", "FEATURES", "NO_LOGIN_MINUTES", "Features", "defaults", "entity_of"]

Features = dict[str, float | int | bool | str]

NO_LOGIN_MINUTES: Final = 1e9
"""`minutes_since_login` (and `minutes_since_new_device_login`) with no such login on record."""

# name -> (type, description)
FEATURES: Final[dict[str, tuple[type, str]]] = {
    # the event itself
    "event_type": (str, "payment or login"),
    "channel": (str, "branch | online | mobile | phone | atm | pos | self_service"),
    "txn_type": (str, "transfer | card | bill | withdrawal | deposit; '' for logins"),
    "amount": (float, "payment amount; 0 for logins"),
    "auth_method": (str, "authentication method of the event"),
    "login_success": (bool, "the login succeeded; False for payments"),
    "hour": (int, "hour of day in the event's own time zone"),
    "is_night": (bool, "hour is between 00:00 and 05:59 local time"),
    "has_payee": (bool, "the payment names a payee account"),
    # exact sliding windows over the account's payments, this event included
    "pay_count_5m": (int, "payments in the last 5 minutes"),
    "pay_count_1h": (int, "payments in the last hour"),
    "pay_count_24h": (int, "payments in the last 24 hours"),
    "pay_sum_5m": (float, "amount paid in the last 5 minutes"),
    "pay_sum_1h": (float, "amount paid in the last hour"),
    "pay_sum_24h": (float, "amount paid in the last 24 hours"),
    "pay_mean_1h": (float, "mean payment amount in the last hour; 0 with none"),
    "pay_mean_24h": (float, "mean payment amount in the last 24 hours; 0 with none"),
    "small_card_count_5m": (int, "card payments at or under the small-amount limit, last 5 min"),
    # long windows over the account's payments, this event included: bucketed, so the old
    # edge may reach back one bucket further (7 d: up to 6 h more; 30 d: up to one UTC day
    # more); the recent edge is exact (features/windows.py BucketedWindow has the bound)
    "pay_count_7d": (int, "payments in the last 7 days (up to 6 h more at the old edge)"),
    "pay_sum_7d": (float, "amount paid in the last 7 days (up to 6 h more at the old edge)"),
    "pay_mean_7d": (float, "mean payment amount in the last 7 days; 0 with none"),
    "pay_count_30d": (int, "payments in the last 30 days (up to a day more at the old edge)"),
    "pay_sum_30d": (float, "amount paid in the last 30 days (up to a day more at the old edge)"),
    "pay_mean_30d": (float, "mean payment amount in the last 30 days; 0 with none"),
    "amount_to_mean_7d": (
        float,
        "amount / mean of the account's payments in the 7 days before this one; 0 with none "
        "or for logins",
    ),
    "amount_to_mean_30d": (
        float,
        "amount / mean of the account's payments in the 30 days before this one; 0 with none "
        "or for logins",
    ),
    "days_since_first_payment": (
        float,
        "account tenure: days since its first payment riskflow saw, capped at 365; 0 before any",
    ),
    # distinct counterparties in 24 hours, this event included
    "distinct_payees_24h": (int, "distinct payee accounts paid in 24 hours"),
    "distinct_devices_24h": (int, "distinct devices used successfully in 24 hours"),
    "known_devices": (int, "devices the account used successfully before this event"),
    "distinct_ips_24h": (int, "distinct IPs used successfully in 24 hours"),
    # first sightings
    "is_new_payee": (bool, "first payment from this account to this payee"),
    "is_new_device": (
        bool,
        "first successful use of this device by the account",
    ),
    "is_new_ip": (
        bool,
        "first successful use of this IP by the account",
    ),
    # amount and time against the account's own profile (history before the event)
    "payment_history_count": (int, "payments in the account's profile before this one"),
    "amount_zscore": (float, "(amount - mean) / std of past amounts; 0 with under 5 payments"),
    "amount_ratio_to_max": (float, "amount / largest past amount; 0 with no history"),
    "hour_share": (float, "share of past payments in this local hour; 1 with under 10"),
    "hour_unusual": (bool, "10+ past payments and under 5% of them in this hour"),
    # login context before this event
    "failed_logins_15m": (int, "failed logins in the 15 minutes before this event"),
    "failed_logins_1h": (int, "failed logins in the hour before this event"),
    "minutes_since_login": (float, "minutes since the last successful login (1e9 if none)"),
    "last_login_new_device": (bool, "the last successful login came from a new device"),
    "failures_before_login": (int, "failed logins in the hour before the last successful one"),
    "travel_km": (float, "km from the last located login to this event (0 if unknown)"),
    "travel_kmh": (float, "implied speed in km/h from the last located login (0 if unknown)"),
    "session_login_id": (
        str,
        "event_id of the last accepted login if it was at most 30 min (session_minutes) before "
        "this payment, else ''; always '' for logins",
    ),
    "minutes_since_new_device_login": (
        float,
        "minutes since the last accepted login from a device new to the account (1e9 if none)",
    ),
    "new_device_otp_night": (
        bool,
        "login: accepted, from a device new to the account, by sms_otp, 00:00-05:59 local, "
        "no failed login in the hour before; payment: its session's login was one",
    ),
    # limits and locks
    "daily_total": (float, "paid today (local day of the configured zone), this payment included"),
    "consecutive_failures": (int, "failed logins in a row before this event"),
    "account_locked": (bool, "locked by consecutive failures, not yet lifted or expired"),
    # risk lists (filled by scoring)
    "account_listed": (bool, "the account is on the deny list"),
    "payee_listed": (bool, "the payee account is on the deny list"),
    "device_listed": (bool, "the device is on the deny list"),
    "ip_listed": (bool, "the IP (or a range containing it) is on the deny list"),
    "merchant_listed": (bool, "the merchant is on the deny list"),
    "terminal_listed": (bool, "the terminal is on the deny list"),
    # outcomes already known for this account
    "account_fraud_labels_30d": (int, "fraud labels received for this account in 30 days"),
    # per IP, across accounts (the ip stage, features/ip.py): minute buckets, so the old edge
    # may reach back up to one minute further; 0 for an event without an IP
    "ip_failed_logins_5m": (int, "failed logins from this IP, any account, in the 5 min before"),
    "ip_failed_logins_1h": (int, "failed logins from this IP, any account, in the hour before"),
    "ip_accounts_1h": (
        int,
        "distinct accounts seen from this IP in the hour, this event's included (at most 64)",
    ),
    "ip_failures_elsewhere_1h": (
        int,
        "successful login or payment: failed logins from this IP on other accounts in the hour "
        "before; 0 for failed logins",
    ),
    "ip_device_rotation_1h": (
        float,
        "share of the logins from this IP in the hour before with no device id or a device "
        "new to the IP (unseen from it for a day, or beyond the 16 it remembers); 0 with under 3",
    ),
    # per device, across accounts (the device stage, features/device.py): the ip stage's
    # windows keyed by device_id; 0 for an event without a device id
    "device_failed_logins_1h": (
        int,
        "failed logins from this device, any account, in the hour before",
    ),
    "device_accounts_1h": (
        int,
        "distinct accounts seen from this device in the hour, this event's included (<= 64)",
    ),
    "device_failures_elsewhere_1h": (
        int,
        "successful login or payment: failed logins from this device on other accounts in "
        "the hour before; 0 for failed logins",
    ),
    # per payee, across senders (the payee stage, features/payee.py); neutral for logins and
    # payments without a payee account
    "payee_senders_24h": (int, "other accounts that paid this payee in the 24 h before (<= 64)"),
    "payee_senders_7d": (int, "other accounts that paid this payee in the 7 days before (<= 64)"),
    "payee_inbound_24h": (float, "paid to this payee by anyone in the 24 h before"),
    "payee_new_sender": (bool, "this account has not paid the payee in the 7 days before"),
    "payee_forwarded_share_24h": (
        float,
        "the payee as an account of this bank: what it paid out in the 24 h before, as a share "
        "of what it received then (at most 1; 0 when it received nothing)",
    ),
    # the account as a receiver (the receiver stage, features/receiver.py): what other
    # accounts of this bank paid it; 0 for logins
    "received_1h": (float, "paid to this account by other accounts in the hour before"),
    "received_24h": (float, "paid to this account by other accounts in the 24 h before"),
    "received_senders_24h": (int, "accounts that paid this account in the 24 h before (<= 64)"),
    "amount_to_received_24h": (
        float,
        "this payment's amount / what the account received in the 24 h before (0 if nothing)",
    ),
    # per terminal, else merchant, across cards (the terminal stage, features/terminal.py):
    # the history before the event; 0 for logins and payments naming neither
    "terminal_cards_10m": (
        int,
        "distinct accounts (cards) that paid at this terminal/merchant in the 10 min before",
    ),
    "terminal_small_cards_10m": (
        int,
        "distinct accounts that paid a small amount (<= 10) at this terminal/merchant in the "
        "10 min before",
    ),
    "terminal_payments_1h": (int, "payments at this terminal/merchant in the hour before"),
}

ENTITY_OF: Final[dict[str, str]] = {
    **{
        name: "ip"
        for name in (
            "ip_failed_logins_5m",
            "ip_failed_logins_1h",
            "ip_accounts_1h",
            "ip_failures_elsewhere_1h",
            "ip_device_rotation_1h",
        )
    },
    **{
        name: "device"
        for name in (
            "device_failed_logins_1h",
            "device_accounts_1h",
            "device_failures_elsewhere_1h",
        )
    },
    **{
        name: "payee"
        for name in (
            "payee_senders_24h",
            "payee_senders_7d",
            "payee_inbound_24h",
            "payee_new_sender",
            "payee_forwarded_share_24h",
        )
    },
    **{
        name: "receiver"
        for name in (
            "received_1h",
            "received_24h",
            "received_senders_24h",
            "amount_to_received_24h",
        )
    },
    **{
        name: "terminal"
        for name in ("terminal_cards_10m", "terminal_small_cards_10m", "terminal_payments_1h")
    },
}
"""The entity stage that computes a feature, for those not of the event or its account."""


def entity_of(name: str) -> str:
    """Which state a feature comes from: `account` (the event and its account's history,
    the lists included) or a cross-account entity stage such as `ip`."""
    return ENTITY_OF.get(name, "account")


def defaults() -> Features:
    """A complete feature vector of neutral values: a quiet account's first event."""
    neutral: Features = {}
    for name, (kind, _) in FEATURES.items():
        neutral[name] = kind()
    neutral["minutes_since_login"] = NO_LOGIN_MINUTES
    neutral["minutes_since_new_device_login"] = NO_LOGIN_MINUTES
    neutral["hour_share"] = 1.0
    neutral["auth_method"] = "none"
    return neutral
