"""Model bundles: cold until they have seen both classes, calibrated, and safely snapshotted."""

from __future__ import annotations

import dataclasses
import itertools
import random

import pytest

from riskflow.scoring.models.bundle import ModelBundle, SnapshotError


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
        bundle.learn("payment", example(rng, fraud), 0.5, [], 0.01, fraud, float(i))
    return bundle, rng


def test_a_bundle_is_cold_until_it_has_seen_enough_of_both_classes():
    bundle = ModelBundle(min_labels=10, min_positives=2)
    x = {"amount": 1.0}
    for i in range(20):
        assert bundle.learn("payment", x, 0.5, [], 0.01, False, float(i)) is None or i >= 10
    assert bundle.predict("payment", x, 0.5, [], 0.01) is None  # twenty legit, no fraud yet
    for i in range(2):
        bundle.learn("payment", x, 0.5, [], 0.01, True, 20.0 + i)
    assert bundle.predict("payment", x, 0.5, [], 0.01) is not None
    assert bundle.predict("login", x, 0.5, [], 0.01) is None  # each event type warms on its own
    assert bundle.version == "champion-22" and bundle.as_of == 21.0


def test_it_ranks_fraud_above_legitimate_events():
    bundle, rng = trained()
    fraud = [bundle.predict("payment", example(rng, True), 0.5, [], 0.01) for _ in range(200)]
    legit = [bundle.predict("payment", example(rng, False), 0.5, [], 0.01) for _ in range(200)]
    assert sum(f > g for f, g in zip(fraud, legit, strict=True)) > 180  # type: ignore[operator]


def test_probabilities_are_calibrated_to_traffic_when_few_legitimate_events_are_labelled():
    # Traffic: 2% fraud. Every fraud is labelled, one legitimate event in ten: the labels hold
    # 17% fraud, and the learner must estimate the shares to give traffic probabilities.
    rng = random.Random(11)
    bundle = ModelBundle(min_labels=50, min_positives=5)
    for seq in range(1, 60_001):
        fraud = rng.random() < 0.02
        if fraud or rng.random() < 0.1:
            bundle.learn("payment", example(rng, fraud), 0.5, [], 0.02, fraud, float(seq), seq=seq)
    rates = bundle.heads["payment"].rates
    assert rates.legit_share == pytest.approx(0.1, rel=0.15)
    traffic = [example(rng, rng.random() < 0.02) for _ in range(5000)]
    mean = sum(bundle.predict("payment", x, 0.5, [], 0.02) or 0.0 for x in traffic) / 5000
    assert mean == pytest.approx(0.02, rel=0.35)


def test_before_labels_the_risk_is_the_prior_and_learning_departs_from_it_smoothly():
    bundle = ModelBundle(min_labels=1, min_positives=1, ramp_positives=20)
    rng = random.Random(3)
    x = {"amount": 5.0}
    steps = []
    for i in range(400):
        fraud = rng.random() < 0.1
        bundle.learn("payment", example(rng, fraud), 0.5, ["rule:noisy"], 0.6, fraud, float(i))
        p = bundle.predict("payment", x, 0.5, ["rule:noisy"], 0.6)
        if p is not None:
            steps.append(p)
    # The prior says 0.6 for a hit of the noisy rule; labels say it fires on anything: the
    # risk falls from the prior, without a jump when the head warms.
    assert steps[0] == pytest.approx(0.6, abs=0.05)
    assert steps[-1] < 0.2
    assert max(abs(a - b) for a, b in itertools.pairwise(steps)) < 0.1


def test_a_rule_hit_is_worth_what_the_labels_say():
    # A hit is one of the classifier's inputs; a rule that fires on one event in twenty
    # needs some five hundred hits to be learned (after 150 it is worth 0.27 here).
    bundle = ModelBundle(min_labels=1, min_positives=1)
    rng = random.Random(5)
    for i in range(10_000):
        good = rng.random() < 0.05
        noisy = rng.random() < 0.3
        fraud = (good and rng.random() < 0.9) or rng.random() < 0.01
        evidence = ["rule:good"] * good + ["rule:noisy"] * noisy
        bundle.learn("payment", {"amount": 1.0}, 0.5, evidence, 0.2, fraud, float(i))
    x = {"amount": 1.0}
    good_p = bundle.predict("payment", x, 0.5, ["rule:good"], 0.2)
    noisy_p = bundle.predict("payment", x, 0.5, ["rule:noisy"], 0.2)
    assert good_p is not None and noisy_p is not None
    assert good_p > 0.5 > 0.1 > noisy_p  # same prior, different worth


def test_the_frozen_copy_predicts_exactly_what_the_bundle_does():
    bundle, rng = trained()
    frozen = bundle.frozen()
    for _ in range(100):
        x = example(rng, rng.random() < 0.5) | {"never_seen": 3.0}
        if rng.random() < 0.5:
            del x["is_new_payee"]  # an input learned but absent from this event adds nothing
        anomaly = rng.random()
        evidence = ["rule:r1"] if rng.random() < 0.5 else []
        assert frozen.predict("payment", x, anomaly, evidence, 0.05) == pytest.approx(
            bundle.predict("payment", x, anomaly, evidence, 0.05), rel=1e-9
        )
    assert frozen.predict("login", {"amount": 1.0}, 0.5, [], 0.01) is None


def test_snapshots_round_trip_and_tampered_bytes_are_refused():
    bundle, _ = trained(500)
    snap = bundle.to_snapshot()
    assert snap.version == bundle.version and snap.as_of == bundle.as_of
    assert snap.load().version == bundle.version
    truncated = dataclasses.replace(snap, blob=snap.blob[:-3])
    with pytest.raises(SnapshotError) as caught:
        truncated.load()
    assert caught.value.reason == "malformed"


@pytest.mark.parametrize("recipe", ["amf", "arf"])
def test_other_recipes_learn_and_freeze(recipe):
    bundle, rng = trained(400, recipe=recipe)
    snap = bundle.to_snapshot()
    assert snap.blob is None  # a forest is not data: it never leaves the process
    frozen = snap.load().frozen()
    x = example(rng, True)
    assert frozen.predict("payment", x, 0.5, [], 0.01) == pytest.approx(
        bundle.predict("payment", x, 0.5, [], 0.01)
    )


def test_an_unknown_recipe_is_refused():
    with pytest.raises(ValueError, match="unknown model recipe"):
        ModelBundle(recipe="magic")


def test_a_signal_carried_only_by_a_one_hot_input_is_learned_and_frozen_alike():
    # An amount bin is present as 1 or absent: the classifier must still learn its weight.
    rng = random.Random(11)
    bundle = ModelBundle(min_labels=50, min_positives=5)
    for i in range(3000):
        fraud = rng.random() < 0.2
        hot = rng.random() < (0.9 if fraud else 0.05)
        x = {"amount": rng.gauss(5.0, 1.0), "amount_bin=31" if hot else "amount_bin=20": 1.0}
        bundle.learn("payment", x, 0.5, [], 0.01, fraud, float(i))
    frozen = bundle.frozen()
    hot_x, cold_x = {"amount": 5.0, "amount_bin=31": 1.0}, {"amount": 5.0, "amount_bin=20": 1.0}
    hot_p, cold_p = (
        frozen.predict("payment", hot_x, 0.5, [], 0.01),
        frozen.predict("payment", cold_x, 0.5, [], 0.01),
    )
    assert hot_p is not None and cold_p is not None and hot_p > 10 * cold_p
    for x in (hot_x, cold_x):
        assert frozen.predict("payment", x, 0.5, [], 0.01) == pytest.approx(
            bundle.predict("payment", x, 0.5, [], 0.01), rel=1e-9
        )


def test_a_prior_the_labels_do_not_bear_out_is_discounted():
    # The configured prior says some events are a hundred times riskier than others, but on
    # this traffic it is noise: the learned risk must stop following it.
    rng = random.Random(13)
    bundle = ModelBundle(min_labels=50, min_positives=5)
    for i in range(6000):
        fraud = rng.random() < 0.2
        prior = 0.3 if rng.random() < 0.5 else 0.003
        bundle.learn("payment", example(rng, fraud), 0.5, [], prior, fraud, float(i))
    x = {"amount": 6.5, "is_new_payee": 0.0, "channel=mobile": 1.0}
    high, low = (bundle.predict("payment", x, 0.5, [], p) for p in (0.3, 0.003))
    assert high is not None and low is not None
    assert high / low < 3.0  # the offset alone would make it about 140


@pytest.mark.parametrize("labels", [1000, 12000])
def test_a_frozen_blend_predicts_what_the_blend_does_before_and_after_its_trees_join(labels):
    bundle, rng = trained(labels, recipe="blend")
    joined = bundle.heads["payment"].classifier.trees_join
    assert joined == (labels > 10000)
    frozen = bundle.frozen()
    for _ in range(100):
        x = example(rng, rng.random() < 0.5) | {"never_seen": 3.0}
        if rng.random() < 0.5:
            del x["amount"]
        anomaly = rng.random()
        evidence = ["rule:r1"] if rng.random() < 0.5 else []
        assert frozen.predict("payment", x, anomaly, evidence, 0.05) == pytest.approx(
            bundle.predict("payment", x, anomaly, evidence, 0.05), rel=1e-9
        )
