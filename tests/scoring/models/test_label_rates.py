"""Labelling shares estimated from the labels themselves."""

from __future__ import annotations

import math
import random

import pytest

from riskflow.scoring.models.label_rates import LabelRates


def labelled_stream(n: int, fraud_rate: float, legit_share: float, seed: int = 1):
    """(seq, fraud) of the events that get a label: every fraud, `legit_share` of the rest."""
    rng = random.Random(seed)
    for seq in range(1, n + 1):
        fraud = rng.random() < fraud_rate
        if fraud or rng.random() < legit_share:
            yield seq, fraud


@pytest.mark.parametrize("share", [0.1, 1.0])
def test_the_legitimate_share_converges_to_the_true_one(share):
    rates = LabelRates(window=5000)
    for seq, fraud in labelled_stream(80_000, 0.01, share):
        rates.learn(seq, fraud)
    assert rates.legit_share == pytest.approx(share, rel=0.08)
    assert rates.shift == pytest.approx(math.log(1.0 / rates.legit_share))


def test_labels_arriving_out_of_event_order_do_not_matter():
    rates = LabelRates(window=5000)
    labels = list(labelled_stream(60_000, 0.02, 0.1, seed=4))
    random.Random(9).shuffle(labels)  # delays vary: labels come back in any order
    for seq, fraud in labels:
        rates.learn(seq, fraud)
    # The window is the 5,000 most recent labels, wherever their events fall in the stream.
    assert 0.07 < rates.legit_share < 0.13


def test_an_override_wins_and_too_few_labels_assume_no_sampling():
    assert LabelRates(legit_override=0.02).shift == pytest.approx(math.log(50.0))
    rates = LabelRates()
    for seq in range(1, 30):
        rates.learn(seq * 100, False)
    assert rates.legit_share == 1.0
