"""Fraud scenarios, each writing its events with ground truth and later labels.

A scenario is a function `(em, bank, victim, t) -> None` that schedules
events at `t` or later; `SCENARIOS` maps its name to it and a relative
weight. docs/simulator.md describes each one.
"""

from __future__ import annotations

from collections.abc import Callable

from riskflow.simulator.bank import Bank, Customer
from riskflow.simulator.emitter import Emitter
from riskflow.simulator.scenarios._common import far_city
from riskflow.simulator.scenarios.cards import (
    card_testing,
    card_testing_across_cards,
    compromised_terminal,
)
from riskflow.simulator.scenarios.first_party import first_party
from riskflow.simulator.scenarios.mules import mule_network
from riskflow.simulator.scenarios.scams import large_night_transfer, mule_payee
from riskflow.simulator.scenarios.takeover import credential_stuffing, password_guessing, sim_swap
from riskflow.simulator.scenarios.travel import impossible_travel

__all__ = ["SCENARIOS", "Scenario", "far_city"]

Scenario = Callable[[Emitter, Bank, Customer, float], None]

SCENARIOS: dict[str, tuple[Scenario, float]] = {
    "password_guessing": (password_guessing, 0.14),
    "credential_stuffing": (credential_stuffing, 0.04),
    "sim_swap": (sim_swap, 0.10),
    "card_testing": (card_testing, 0.10),
    "card_testing_across_cards": (card_testing_across_cards, 0.06),
    "compromised_terminal": (compromised_terminal, 0.06),
    "large_night_transfer": (large_night_transfer, 0.12),
    "mule_payee": (mule_payee, 0.10),
    "mule_network": (mule_network, 0.08),
    "first_party": (first_party, 0.10),
    "impossible_travel": (impossible_travel, 0.10),
}
