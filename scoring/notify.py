"""What the customer is told, and through which channel, after a decision."""

from __future__ import annotations

from typing import Final, Literal

import msgspec

from riskflow.contract.masking import mask_id
from riskflow.contract.messages import Decision, Login, Notification, Payment
from riskflow.features.catalog import Features

__all__ = ["PLAIN_WORDS", "NotificationPolicy", "notifications_for"]

PLAIN_WORDS: Final[dict[str, str]] = {
    "DENY_PAYEE": "the receiving account is reported for fraud",
    "DENYLIST_PAYEE": "the receiving account is reported for fraud",
    "DENY_DEVICE": "the device used is reported for fraud",
    "DENY_IP": "the connection used is reported for fraud",
    "DENY_ACCOUNT": "your account is restricted",
    "DENY_MERCHANT": "the merchant is reported for fraud",
    "DENY_TERMINAL": "the terminal is reported for fraud",
    "ATO_CHAIN": "it follows failed sign-ins and a sign-in from a new device",
    "CARD_TESTING": "many small card payments were attempted in minutes",
    "LARGE_NIGHT_TRANSFER": "it is much larger than usual and made at night",
    "IMPOSSIBLE_TRAVEL": "it comes from a place far from your last sign-in",
    "LIMIT_STEP_UP": "it is above the limit of the security tool you used",
    "LIMIT_ABOVE_STRONGEST": "it is above your account's limits",
    "NEW_DEVICE_LARGE_PAYMENT": "it is large and made from a new device",
    "VELOCITY_BURST": "many payments were made in a few minutes",
    "ACCOUNT_LOCKED": "too many wrong passwords were entered",
}


class NotificationPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    enabled: bool = True
    large_transfer: float = 50_000.0
    """Tell the customer about any allowed transfer at least this large."""
    intercepted: bool = True
    challenged: bool = True
    under_review: bool = True
    new_device_login: bool = True
    account_locked: bool = True


def _why(decision: Decision) -> str:
    for reason in decision.reasons:
        words = PLAIN_WORDS.get(reason.code)
        if words:
            return words
    return "it looks unusual for your account"


def notifications_for(
    event: Payment | Login, features: Features, decision: Decision, policy: NotificationPolicy
) -> list[Notification]:
    if not policy.enabled:
        return []
    kinds: list[tuple[str, str]] = []
    action = decision.action
    if isinstance(event, Payment):
        what = f"{event.txn_type} of {event.amount:,.2f} {event.currency}"
        if event.payee_account:
            # Texts travel by SMS and sit on lock screens: the payee as the customer's app
            # shows it, by its last digits.
            what += f" to {mask_id(event.payee_account)}"
        if action == "block" and policy.intercepted:
            kinds.append(
                (
                    "transfer_intercepted",
                    f"We stopped your {what} because {_why(decision)}. If you did not "
                    "make it, call your branch now.",
                )
            )
        elif action == "challenge" and policy.challenged:
            kinds.append(
                (
                    "transfer_challenged",
                    f"Please confirm your {what} with a stronger security check: {_why(decision)}.",
                )
            )
        elif action == "review" and policy.under_review:
            kinds.append(
                (
                    "transfer_under_review",
                    f"Your {what} is on hold while your branch checks it, because "
                    f"{_why(decision)}. We will contact you.",
                )
            )
        elif action == "allow" and event.amount >= policy.large_transfer:
            kinds.append(
                (
                    "large_transfer",
                    f"A {what} was made from your account. If this was not you, call us.",
                )
            )
    else:
        if action == "block" and features.get("account_locked") and policy.account_locked:
            kinds.append(
                (
                    "account_locked",
                    "Your online banking is locked after too many wrong passwords. Sign "
                    "in with your token, USB key or biometrics, or wait for the lock to expire.",
                )
            )
        elif (
            event.success
            and action == "allow"  # a refused or unfinished login did not sign anyone in
            and features.get("is_new_device")
            # An account's first device is not news to the customer (nor is everyone's,
            # on the day riskflow starts without history).
            and features.get("known_devices", 0)
            and policy.new_device_login
        ):
            kinds.append(
                (
                    "new_device_login",
                    f"Your account was signed in from a new device via {event.channel}. "
                    "If this was not you, call us now.",
                )
            )
    channel: Literal["app", "sms"] = "app" if event.channel in ("mobile", "online") else "sms"
    return [
        Notification(
            notification_id=f"{kind}:{event.event_id}",
            type=kind,  # type: ignore[arg-type]
            event_id=event.event_id,
            # The sender finds the customer by event_id; the masked id keys the topic, which
            # keeps each account's messages in order.
            account_id=mask_id(event.account_id),
            channel=channel,
            text=text,
            created_at=decision.ts,
        )
        for kind, text in kinds
    ]
