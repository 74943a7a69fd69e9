"""Cost of evaluating a ruleset per event, on realistic quiet and risky feature vectors."""

from __future__ import annotations

import random
import time
from typing import Any

from riskflow.features.catalog import Features, defaults
from riskflow.scoring.rules.ruleset import Ruleset

__all__ = ["measure_ruleset_cost"]


def _vectors(n: int, seed: int = 1) -> list[tuple[Features, str]]:
    rng = random.Random(seed)
    out: list[tuple[Features, str]] = []
    for _ in range(n):
        kind = "payment" if rng.random() < 0.65 else "login"
        f = defaults() | {
            "event_type": kind,
            "txn_type": rng.choice(("transfer", "card", "bill")) if kind == "payment" else "",
            "amount": rng.lognormvariate(5, 1) if kind == "payment" else 0.0,
            "pay_count_5m": rng.choice((0, 1, 1, 2, 9)),
            "amount_zscore": rng.gauss(0, 2),
            "is_new_payee": rng.random() < 0.1,
            "is_new_device": rng.random() < 0.05,
            "failed_logins_15m": rng.choice((0, 0, 0, 1, 5)),
            "login_success": rng.random() < 0.95,
        }
        # One vector in twenty is risky enough to fire something.
        if rng.random() < 0.05:
            f |= {
                "small_card_count_5m": 7,
                "txn_type": "card",
                "travel_km": 1500.0,
                "travel_kmh": 2000.0,
            }
        out.append((f, kind))
    return out


def measure_ruleset_cost(ruleset: Ruleset, n_events: int = 200_000) -> dict[str, Any]:
    vectors = _vectors(10_000)
    rounds = max(1, n_events // len(vectors))
    evaluate = ruleset.evaluate
    hits = 0
    started = time.perf_counter()
    for _ in range(rounds):
        for features, kind in vectors:
            hits += len(evaluate(features, kind))
    elapsed = time.perf_counter() - started
    events = rounds * len(vectors)
    return {
        "rules": len(ruleset.rules),
        "version": ruleset.version,
        "events": events,
        "us_per_event": round(elapsed / events * 1e6, 3),
        "hits_per_event": round(hits / events, 4),
    }


if __name__ == "__main__":
    from riskflow.scoring.rules.ruleset import DEFAULT_RULESET_PATH, load_ruleset

    print(measure_ruleset_cost(load_ruleset(DEFAULT_RULESET_PATH)))
