"""The snapshot format: a bundle as plain data, rebuilt into models that act exactly alike."""

from __future__ import annotations

import pickle
import random

import msgspec
import pytest

from riskflow.scoring.models.bundle import ModelBundle, Snapshot, SnapshotError
from riskflow.scoring.models.counterparties import CounterpartyStats
from tests.infra.pickle_marker import marker_pickle


def sample(rng: random.Random) -> tuple[dict[str, float], float, list[str], float, bool]:
    fraud = rng.random() < 0.15
    x = {f"f{i}": rng.gauss(1.0 if fraud else 0.0, 1.0) for i in range(6) if rng.random() < 0.9}
    x["channel=mobile" if rng.random() < 0.5 else "channel=web"] = 1.0
    evidence = ["R_NEW_PAYEE"] if rng.random() < (0.6 if fraud else 0.1) else []
    return x, rng.random(), evidence, 0.02, fraud


def trained(n: int = 1500, seed: int = 3) -> tuple[ModelBundle, random.Random]:
    rng = random.Random(seed)
    bundle = ModelBundle(counterparties=CounterpartyStats(1 << 8), min_labels=50)
    for i in range(n):
        x, anomaly, evidence, prior, fraud = sample(rng)
        event_type = "payment" if i % 5 else "login"
        payee = [f"payee:P{rng.randrange(40)}", f"terminal:T{rng.randrange(9)}"]
        bundle.learn(event_type, x, anomaly, evidence, prior, fraud, 1000.0 + i, payee, i + 1)
    return bundle, rng


def test_a_rebuilt_bundle_predicts_exactly_what_the_original_did_and_learns_alike():
    original, rng = trained()
    assert original.warm("payment") and original.warm("login")
    snap = original.to_snapshot()
    assert snap.blob is not None
    rebuilt = snap.load()
    later = [sample(rng) for _ in range(300)]
    for event_type in ("payment", "login"):
        for x, anomaly, evidence, prior, _ in later:
            args = (event_type, x, anomaly, evidence, prior)
            assert rebuilt.predict(*args) == original.predict(*args)
            assert rebuilt.frozen().predict(*args) == original.frozen().predict(*args)
    features = ["payee:P1", "terminal:T2"]
    kinds = frozenset({"payee", "terminal"})
    assert rebuilt.counterparties.features(features, kinds, 5000.0) == (
        original.counterparties.features(features, kinds, 5000.0)
    )
    # Learning on: the same predictions before each label, and the same state after.
    for i, (x, anomaly, evidence, prior, fraud) in enumerate(later):
        args = ("payment", x, anomaly, evidence, prior, fraud, 9000.0 + i, ["payee:P3"], 3000 + i)
        assert rebuilt.learn(*args) == original.learn(*args)
    assert rebuilt.to_snapshot().blob == original.to_snapshot().blob
    assert rebuilt.version == original.version and rebuilt.labels == original.labels


def test_the_format_is_documented_data_not_code():
    bundle, _ = trained(200)
    blob = bundle.to_snapshot().blob
    assert blob is not None
    data = msgspec.msgpack.decode(blob)
    assert data["format"] == 1 and data["recipe"] == "logistic"
    head = data["heads"]["payment"]
    assert head["recipe"] == "logistic" and set(head["classifier"]) >= {
        "weights",
        "intercept",
        "learning_rate",
        "n_iterations",
        "scaler",
    }
    assert set(head["classifier"]["scaler"]) == {"counts", "means", "vars"}
    assert head["classifier"]["n_iterations"] == bundle.heads["payment"].labels


def test_an_older_snapshot_without_newer_fields_loads_with_their_defaults():
    bundle, _ = trained(200)
    data = msgspec.msgpack.decode(bundle.to_snapshot().blob)
    for later_field in ("ramp_positives", "legit_label_share"):
        del data[later_field]
    del data["heads"]["payment"]["rates"]["since"]
    old = msgspec.msgpack.encode(data)
    loaded = Snapshot(bundle.version, bundle.as_of, old).load()
    assert loaded.ramp_positives == 50 and loaded.legit_label_share is None


def _refusal(blob: bytes, version: str = "champion-200", as_of: float = 1199.0) -> str:
    with pytest.raises(SnapshotError) as caught:
        Snapshot(version, as_of, blob).load()
    return caught.value.reason


def test_malformed_unknown_and_mismatched_snapshots_are_refused_by_reason(tmp_path):
    bundle, _ = trained(200)
    good = bundle.to_snapshot()
    data = msgspec.msgpack.decode(good.blob)
    assert _refusal(b"\x00garbage", good.version, good.as_of) == "malformed"
    newer = msgspec.msgpack.encode({**data, "format": 99})
    assert _refusal(newer, good.version, good.as_of) == "unknown_format"
    forest = msgspec.msgpack.encode(
        {**data, "heads": {"payment": {**data["heads"]["payment"], "recipe": "amf"}}}
    )
    assert _refusal(forest, good.version, good.as_of) == "unknown_recipe"
    # A genuine snapshot under another version or time would pass for a newer model.
    assert _refusal(good.blob, "champion-999", good.as_of) == "mismatch"
    assert _refusal(good.blob, good.version, good.as_of + 1.0) == "mismatch"
    # Pickle bytes are never unpickled: a marker its loading would create stays absent.
    marker = tmp_path / "ran"
    assert _refusal(marker_pickle(marker)) == "malformed"
    assert not marker.exists()


def test_the_marker_payload_does_run_code_when_unpickled(tmp_path):
    marker = tmp_path / "ran"
    pickle.loads(marker_pickle(marker))
    assert marker.exists()  # so its absence elsewhere means nothing was unpickled


@pytest.mark.parametrize("recipe", ["amf", "arf"])
def test_a_forest_has_no_snapshot_bytes_but_still_runs_in_process(recipe):
    bundle = ModelBundle(recipe=recipe)
    snap = bundle.to_snapshot()
    assert snap.blob is None and snap.load() is not bundle
