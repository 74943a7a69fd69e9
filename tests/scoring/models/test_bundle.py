"""Model bundles: cold until they have seen both classes, calibrated, and safely snapshotted."""

from __future__ import annotations

import dataclasses
import math
import random

import pytest

from scoring.models.bundle import ModelBundle, SnapshotError


def example(rng: random.Random, fraud: bool) -> dict[str, float]:
    return {
        "amount": rng.gauss(8.0 if fraud else 5.0, 1.0),
        "is_new_payee": float(rng.random() < (0.8 if fraud else 0.1)),
        "channel=mobile": 1.0,
    }


def trained(n: int = 3000, fraud_share: float = 0.2, **kw) -> tuple[ModelBundle, random.Random]:
    rng = random.Random(7)
    bundle = ModelBundle(min_labels=50, min_positives=5, **kw)
    for i in range(n):
        fraud = rng.random() < fraud_share
        bundle.learn("payment", example(rng, fraud), 0.0, 0.0, fraud, float(i))
    return bundle, rng


def test_a_bundle_is_cold_until_it_has_seen_enough_of_both_classes():
    bundle = ModelBundle(min_labels=10, min_positives=2)
    x = {"amount": 1.0}
    for i in range(20):
        assert bundle.learn("payment", x, 0.0, 0.0, False, float(i)) is None or i >= 10
    assert bundle.predict("payment", x, 0.0, 0.0) is None  # twenty legit, no fraud yet
    for i in range(2):
        bundle.learn("payment", x, 0.0, 0.0, True, 20.0 + i)
    assert bundle.predict("payment", x, 0.0, 0.0) is not None
    assert bundle.predict("login", x, 0.0, 0.0) is None  # each event type warms on its own
    assert bundle.version == "champion-22" and bundle.as_of == 21.0


def test_it_ranks_fraud_above_legitimate_events():
    bundle, rng = trained()
    fraud = [bundle.predict("payment", example(rng, True), 0.0, 0.0) for _ in range(200)]
    legit = [bundle.predict("payment", example(rng, False), 0.0, 0.0) for _ in range(200)]
    assert sum(f > g for f, g in zip(fraud, legit, strict=True)) > 180  # type: ignore[operator]


def test_the_prior_shift_turns_labelled_odds_into_traffic_odds():
    # One legitimate label in 50 legitimate events: the labelled odds are 50x the traffic's.
    bundle, rng = trained(legit_weight=50.0)
    unshifted = dataclasses.replace(bundle, legit_weight=1.0)
    x = example(rng, True)
    p, q = bundle.predict("payment", x, 0.0, 0.0), unshifted.predict("payment", x, 0.0, 0.0)
    assert p is not None and q is not None
    odds = lambda v: v / (1 - v)  # noqa: E731
    assert math.isclose(odds(q) / odds(p), 50.0, rel_tol=1e-6)


def test_the_frozen_copy_predicts_exactly_what_the_bundle_does():
    bundle, rng = trained()
    frozen = bundle.frozen()
    for _ in range(100):
        x = example(rng, rng.random() < 0.5) | {"never_seen": 3.0}
        anomaly = rng.random()
        assert frozen.predict("payment", x, anomaly, 0.0) == pytest.approx(
            bundle.predict("payment", x, anomaly, 0.0), rel=1e-9
        )
    assert frozen.predict("login", {"amount": 1.0}, 0.0, 0.0) is None


def test_snapshots_round_trip_and_tampered_bytes_are_refused():
    bundle, _ = trained(500)
    snap = bundle.to_snapshot()
    assert snap.version == bundle.version and snap.as_of == bundle.as_of
    assert snap.load().version == bundle.version
    tampered = dataclasses.replace(snap, blob=snap.blob[:-1] + bytes([snap.blob[-1] ^ 1]))
    with pytest.raises(SnapshotError, match="checksum"):
        tampered.load()
