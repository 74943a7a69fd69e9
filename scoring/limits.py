"""Transaction limits tied to the strength of the authentication tool.

A payment authenticated with a weak tool may move less money, per
transaction and per day, than one signed with a strong tool. Over its
method's limit a payment is challenged: the customer must step up to the
weakest method whose limits allow it. Above even the strongest method's
limits it goes to review. Deposits are money coming in and are not limited.
"""

from __future__ import annotations

from typing import Final

import msgspec

from riskflow.scoring.rules.ruleset import RuleHit

__all__ = ["DEFAULT_LIMITS", "STRENGTH", "Limit", "LimitsTable"]

STRENGTH: Final[tuple[str, ...]] = (
    "none",
    "password",
    "card_pin",
    "sms_otp",
    "biometric",
    "token",
    "usb_key",
)
"""Authentication methods from weakest to strongest."""


class Limit(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    per_txn: float
    daily: float


DEFAULT_LIMITS: Final[dict[str, Limit]] = {
    "none": Limit(500, 1_000),
    "password": Limit(5_000, 10_000),
    "card_pin": Limit(20_000, 50_000),
    "sms_otp": Limit(50_000, 100_000),
    "biometric": Limit(50_000, 200_000),
    "token": Limit(200_000, 500_000),
    "usb_key": Limit(1_000_000, 5_000_000),
}


class LimitsTable(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Limits per method, with optional per-channel overrides, in the account's currency."""

    enabled: bool = True
    methods: dict[str, Limit] = msgspec.field(default_factory=lambda: dict(DEFAULT_LIMITS))
    channels: dict[str, dict[str, Limit]] = msgspec.field(
        default_factory=lambda: {"atm": {"card_pin": Limit(5_000, 20_000)}}
    )

    def __post_init__(self) -> None:
        unknown = (set(self.methods) | {m for c in self.channels.values() for m in c}) - set(
            STRENGTH
        )
        if unknown:
            raise ValueError(f"limits for unknown methods: {sorted(unknown)}")

    def limit(self, method: str, channel: str) -> Limit:
        override = self.channels.get(channel, {}).get(method)
        if override is not None:
            return override
        return self.methods.get(method) or DEFAULT_LIMITS[method]

    def check(
        self, method: str, channel: str, txn_type: str, amount: float, daily_total: float
    ) -> RuleHit | None:
        if not self.enabled or txn_type == "deposit":
            return None
        own = self.limit(method, channel)
        if amount <= own.per_txn and daily_total <= own.daily:
            return None
        if amount > own.per_txn:
            rule, what = (
                "limit_per_txn",
                f"{amount:,.2f} is over the {method} per-transaction limit of {own.per_txn:,.0f}",
            )
        else:
            rule, what = (
                "limit_daily",
                f"{daily_total:,.2f} today is over the {method} daily limit of {own.daily:,.0f}",
            )
        rank = STRENGTH.index(method) if method in STRENGTH else 0
        for stronger in STRENGTH[rank + 1 :]:
            lim = self.limit(stronger, channel)
            if amount <= lim.per_txn and daily_total <= lim.daily:
                return RuleHit(
                    rule,
                    "challenge",
                    "medium",
                    "LIMIT_STEP_UP",
                    f"{what} on {channel}; step up to {stronger}",
                )
        return RuleHit(
            rule,
            "review",
            "high",
            "LIMIT_ABOVE_STRONGEST",
            f"{what} on {channel}, beyond what even {STRENGTH[-1]} allows",
        )
