"""What kind of bank to simulate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

__all__ = ["BANK_ZONE", "SimConfig"]

BANK_ZONE = timezone(timedelta(hours=8))
"""The bank's local zone: timestamps carry it and habits follow its clock."""


@dataclass(frozen=True)
class SimConfig:
    seed: int = 7
    customers: int = 50_000
    branches: int = 40
    start: datetime = field(default_factory=lambda: datetime(2026, 3, 1, tzinfo=BANK_ZONE))
    days: float = 1.0
    max_events: int | None = None
    """Stop after this many records (payments, logins and feedback together)."""
    events_per_customer_day: float = 1.0
    """Mean logins plus payments per customer per day."""
    fraud_rate: float = 0.0015
    """Share of sessions that start a fraud scenario instead."""
    malformed_rate: float = 0.0
    """Share of normal messages replaced by a broken one, to exercise dead letters."""
    label_legit_rate: float = 0.02
    """Share of legitimate payments that ever get a `legit` label."""
    branch_reviews: bool = True
    """Label surprising genuine payments as a branch review would. Off when a branch desk
    (`riskflow branch-desk`) reviews riskflow's own alerts instead."""
    customer_cache: int = 20_000
    """Customers kept built between sessions (a speed-up only: output is the same)."""
    mules: int = 40
    """Mule accounts; half of them are on the deny list the bank already shares."""
