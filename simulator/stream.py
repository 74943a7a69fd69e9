"""The simulated bank as one time-ordered stream of messages, with ground truth."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from riskflow.simulator.bank import Bank
from riskflow.simulator.config import BANK_ZONE, SimConfig
from riskflow.simulator.emitter import Emitter, SimRecord
from riskflow.simulator.malformed import break_message
from riskflow.simulator.scenarios import SCENARIOS
from riskflow.simulator.sessions import DAY, cycle_session, normal_session
from riskflow.simulator.timefmt import Stamper

__all__ = ["Bank", "SimRecord", "generate", "generate_with_truth"]

_EVENTS_PER_SESSION = 2.4
"""Measured mean of logins plus payments in a normal session; sets the session rate."""
_ACCEPTED = 0.6
"""Share of proposed sessions the active-hours thinning keeps, measured."""


def generate_with_truth(config: SimConfig) -> Iterator[tuple[SimRecord, dict[str, Any] | None]]:
    """Every message in event-time order, with its ground truth when it is fraud or broken."""
    bank = Bank(config)
    rng = random.Random(config.seed)
    em = Emitter(rng)
    names = list(SCENARIOS)
    weights = [SCENARIOS[n][1] for n in names]
    start = config.start.timestamp()
    end = start + config.days * 86400.0
    sessions_per_s = (
        bank.size * config.events_per_customer_day / _EVENTS_PER_SESSION / _ACCEPTED / 86400
    )
    limit = config.max_events if config.max_events is not None else float("inf")
    emitted = 0
    clock = start + rng.expovariate(sessions_per_s)
    next_day = _next_local_midnight(start)
    while True:
        if clock >= next_day and next_day <= end:
            # Scheduled before anything of that day is released, so order holds.
            day = datetime.fromtimestamp(next_day, BANK_ZONE).day
            if day <= 28:
                for i in bank.on_cycle_day(day):
                    cycle_session(em, bank, bank.customer(i), next_day)
            next_day += DAY
        heap = em.heap
        while heap and (heap[0][0] <= clock or clock > end):
            t, pending = em.pop()
            if t > end or emitted >= limit:
                return
            truth = pending.truth
            payload = None
            breakable = truth is None and pending.kind != "feedback"
            if breakable and config.malformed_rate > 0 and rng.random() < config.malformed_rate:
                reason, payload = break_message(rng, pending.kind, pending.body)
                truth = {
                    "event_id": pending.body.get("event_id"),
                    "account_id": pending.key,
                    "kind": "malformed",
                    "scenario": "malformed",
                    "is_fraud": False,
                    "expected_reason": reason,
                }
            yield em.record(t, pending, payload), truth
            emitted += 1
        if clock > end or emitted >= limit:
            if not heap or emitted >= limit:
                return
            continue
        i = rng.randrange(bank.size)
        # Thinning: sessions mostly fall in the customer's own active hours.
        active_from, active_to = bank.active_hours(i)
        if active_from <= Stamper.local_hour(clock) < active_to or rng.random() < 0.05:
            c = bank.customer(i)
            if rng.random() < config.fraud_rate:
                scenario = SCENARIOS[rng.choices(names, weights)[0]][0]
                scenario(em, bank, c, clock)
            else:
                normal_session(em, bank, c, clock, config.label_legit_rate, config.branch_reviews)
        clock += rng.expovariate(sessions_per_s)


def _next_local_midnight(t: float) -> float:
    local = datetime.fromtimestamp(t, BANK_ZONE)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()
    return midnight if midnight >= t else midnight + DAY


def generate(config: SimConfig) -> Iterator[SimRecord]:
    """Every message in event-time order."""
    for record, _ in generate_with_truth(config):
        yield record
