"""The boosted-trees recipe: learns what a weighted sum cannot, snapshots as data, bounded."""

from __future__ import annotations

import copy
import itertools
import random
import time

import msgspec
import pytest

from riskflow.scoring.models.boosted import BoostedState, BoostedTrees, TreeParams
from riskflow.scoring.models.bundle import ModelBundle, Snapshot, SnapshotError
from riskflow.scoring.models.learners import classifier
from riskflow.scoring.models.refit_thread import fit_in_background
from riskflow.scoring.models.snapshot import decode_classifier, encode_classifier


def _band(r: random.Random) -> tuple[dict[str, float], bool]:
    """Fraud lives in a band of amounts: neither end of the scale, so no single weight."""
    amount = r.uniform(0.0, 1000.0)
    fraud = 400.0 <= amount <= 500.0 and r.random() < 0.9
    return {"amount": amount, "noise": r.random()}, fraud


def _trained(n: int = 4000, seed: int = 1, params: TreeParams | None = None) -> BoostedTrees:
    model, r = BoostedTrees(params), random.Random(seed)
    for _ in range(n):
        x, y = _band(r)
        model.learn_one(x, y, w=3.0 if y else 1.0)
    return model


def _p(model: BoostedTrees, amount: float) -> float:
    return model.predict_proba_one({"amount": amount, "noise": 0.5})[True]


def test_it_finds_a_band_of_amounts():
    model = _trained()
    assert _p(model, 450.0) > 0.8
    assert _p(model, 100.0) < 0.05 and _p(model, 900.0) < 0.05


def test_no_fit_before_five_frauds_and_it_says_so():
    model = BoostedTrees()
    for i in range(100):
        model.learn_one({"amount": float(i)}, False)
    assert model.model == "" and model.predict_proba_one({"amount": 1.0}) == {
        False: 0.5,
        True: 0.5,
    }


def test_refits_double_then_come_every_refit_every_labels():
    model, r = BoostedTrees(TreeParams(refit_every=1000, window=5000, rounds=5)), random.Random(3)
    fits = []
    for i in range(6000):
        x, y = _band(r)
        before = model.fitted_rows
        model.learn_one(x, y)
        if model.fitted_rows != before or (model.since_fit == 0 and i):
            fits.append(i + 1)
    # Each fit on the whole window so far: doubling to 1,000 apart, then every 1,000.
    gaps = [b - a for a, b in itertools.pairwise(fits)]
    assert gaps[-3:] == [1000, 1000, 1000]
    assert all(g <= 1000 for g in gaps)
    assert model.window.filled == 5000  # bounded by the window, not the stream


def test_the_same_stream_grows_the_same_trees():
    assert _trained(seed=7).model == _trained(seed=7).model


def test_snapshot_round_trip_scores_the_same():
    model = _trained()
    loaded = decode_classifier("boosted", encode_classifier("boosted", model))
    for amount in (50.0, 420.0, 480.0, 700.0):
        assert _p(loaded, amount) == pytest.approx(_p(model, amount), abs=1e-12)


def test_a_restarted_model_keeps_its_trees_and_waits_for_a_full_window():
    model = _trained(params=TreeParams(refit_every=500, rounds=5))
    restarted = BoostedTrees.from_state(model.state())
    trees, r = restarted.model, random.Random(9)
    for _ in range(min(model.fitted_rows, 500) - 1):
        x, y = _band(r)
        restarted.learn_one(x, y)
    assert restarted.model == trees  # an almost empty window would be a worse model
    assert _p(restarted, 450.0) == pytest.approx(_p(model, 450.0))
    assert copy.deepcopy(model).model == model.model


@pytest.mark.parametrize(
    "change",
    [
        {"model": "tree\nnot really a model"},
        {"names": ["a", "a"]},
        {"names": []},
    ],
)
def test_a_malformed_state_is_refused(change):
    state = msgspec.structs.replace(_trained(n=1000).state(), **change)
    raw = msgspec.msgpack.encode(state)
    with pytest.raises(ValueError):
        decode_classifier("boosted", raw)
    assert isinstance(msgspec.msgpack.decode(raw, type=BoostedState), BoostedState)


def test_a_bundle_of_trees_snapshots_as_data_and_refuses_garbage():
    bundle = ModelBundle(recipe="boosted")
    r = random.Random(5)
    for i in range(600):
        x, y = _band(r)
        bundle.learn("payment", x, 0.5, [], 0.002, y, at=float(i))
    snap = bundle.to_snapshot()
    assert snap.blob is not None
    loaded = snap.load()
    x = {"amount": 450.0, "noise": 0.5}
    assert loaded.predict("payment", x, 0.5, [], 0.002) == pytest.approx(
        bundle.predict("payment", x, 0.5, [], 0.002)
    )
    with pytest.raises(SnapshotError):
        Snapshot(snap.version, snap.as_of, snap.blob[: len(snap.blob) // 2]).load()


def test_a_blend_scores_as_its_regression_until_the_trees_know_enough_then_sees_the_band():
    blend = classifier("blend")
    blend.trees_after_labels = 2000
    r = random.Random(11)
    x = {"amount": 450.0, "noise": 0.5}
    for _ in range(1500):
        x, y = _band(r)
        blend.learn_one(x, y)
    assert blend.trees.model != "" and not blend.trees_join  # fitted, on too few labels
    assert blend.predict_proba_one(x) == blend.linear.predict_proba_one(x)
    for _ in range(4000):
        x, y = _band(r)
        blend.learn_one(x, y, w=3.0 if y else 1.0)
    inside, below = ({"amount": a, "noise": 0.5} for a in (450.0, 100.0))
    assert blend.predict_proba_one(inside)[True] > 5 * blend.predict_proba_one(below)[True]
    assert blend.trees_join
    loaded = decode_classifier("blend", encode_classifier("blend", blend))
    assert loaded.trees_after_labels == 2000 and loaded.trees_join
    assert loaded.predict_proba_one(inside)[True] == pytest.approx(
        blend.predict_proba_one(inside)[True]
    )


def test_a_failed_refit_keeps_the_trees_and_the_learner_going(monkeypatch):
    model = _trained(params=TreeParams(refit_every=500, rounds=5))
    trees, inside = model.model, _p(model, 450.0)

    def fails(*args, **kwargs):
        raise MemoryError

    monkeypatch.setattr(model, "_train", fails)
    r = random.Random(4)
    for _ in range(1200):
        x, y = _band(r)
        model.learn_one(x, y)
    assert model.failed_fits >= 2 and model.model == trees
    assert _p(model, 450.0) == inside


def test_a_first_fit_that_fails_is_retried_an_interval_later_not_on_every_label(monkeypatch):
    model, r, calls = BoostedTrees(TreeParams(rounds=5)), random.Random(8), []

    def fails(*args, **kwargs):
        calls.append(model.seen)
        raise ValueError("no")

    monkeypatch.setattr(model, "_train", fails)
    for _ in range(1000):
        x, y = _band(r)
        model.learn_one(x, y)
    assert model.model == "" and 1 <= len(calls) <= 1000 // 50 + 1
    assert model.predict_proba_one({"amount": 450.0}) == {False: 0.5, True: 0.5}


def test_non_finite_and_huge_inputs_and_endless_names_stay_bounded(recwarn):
    model, r = BoostedTrees(TreeParams(rounds=5, window=2000)), random.Random(2)
    odd = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308]
    for i in range(3000):
        x = {"amount": r.choice([*odd, r.random() * 500]), f"name{i}": 1.0}
        model.learn_one(x, r.random() < 0.05)
    assert len(model.names) == 512 and model.window.filled == 2000 and model.model
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]
    assert 0.0 <= model.predict_proba_one({"amount": 1e308})[True] <= 1.0


def test_in_a_live_process_a_refit_runs_in_a_thread_and_its_trees_are_taken_up_when_ready():
    params = TreeParams(first_fit=200, rounds=20)
    r = random.Random(5)
    stream = [_band(r) for _ in range(399)]  # one short of a second fit
    first = BoostedTrees(params)  # in line: fitted at the 200th label
    for x, y in stream[:200]:
        first.learn_one(x, y)
    assert first.fitted_rows == 200
    fit_in_background(True)
    try:
        live = BoostedTrees(params)
        for x, y in stream:
            live.learn_one(x, y)
        # Its fit was due at the 200th label too; the learner went on meanwhile.
        assert live.seen == 399
        while live._pending is not None and not live._pending.done():
            time.sleep(0.01)
        p = _p(live, 450.0)  # taken up here
        assert live._pending is None and live.fitted_rows == 200 and live.since_fit == 199
        # The same window as the in-line fit at that label: the same trees.
        assert live.model == first.model and p == _p(first, 450.0)
    finally:
        fit_in_background(False)
