"""The classifier's scaler: inputs that vary are standardised, one-hot inputs are kept."""

from __future__ import annotations

import random

import pytest

from riskflow.scoring.models.scaling import IndicatorScaler


def test_varying_inputs_are_standardised_and_one_hot_inputs_pass_unscaled():
    scaler = IndicatorScaler()
    rng = random.Random(3)
    for _ in range(2000):
        x = {"amount": rng.gauss(50.0, 10.0), "constant": 4.0}
        x["amount_bin=22" if rng.random() < 0.1 else "amount_bin=20"] = 1.0
        scaler.learn_one(x)
    out = scaler.transform_one({"amount": 60.0, "amount_bin=22": 1.0, "constant": 4.0})
    assert out["amount"] == pytest.approx(1.0, abs=0.1)
    # Present only as 1, a one-hot input has variance 0: River's scaler would make it 0.
    assert out["amount_bin=22"] == 1.0
    assert out["constant"] == 0.0  # a constant that is not an indicator carries nothing


def test_a_one_hot_input_seen_with_another_value_is_standardised():
    scaler = IndicatorScaler()
    for value in (1.0, 1.0, 3.0, 1.0):
        scaler.learn_one({"f": value})
    assert scaler.transform_one({"f": 1.0})["f"] < 0.0
