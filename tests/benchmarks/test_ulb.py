"""The ULB benchmark's loader, contract files and metrics, on a tiny synthetic CSV.

Only the last tests use the real data set, and only when it is installed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import numpy as np
import pytest

from riskflow.benchmarks.quality import ulb
from riskflow.contract.messages import Feedback, Payment

START = datetime(2013, 9, 1, tzinfo=UTC)


class _Truth(msgspec.Struct, forbid_unknown_fields=True):
    event_id: str
    account_id: str
    scenario: str
    is_fraud: bool
    ts: float


# Time, fraud, amount per row; V_j of row i is i + j / 100 so every cell is recognisable.
ROWS = [(0.0, False, 149.62), (0.0, True, 0.0), (406.0, False, 2.5), (90_000.0, True, 10.0)]


def _write_csv(path: Path, rows: list[tuple[float, bool, float]] = ROWS) -> Path:
    # Quoted header and quoted Class, as in the published file.
    lines = [",".join(f'"{c}"' for c in ulb.COLUMNS)]
    for i, (t, fraud, amount) in enumerate(rows):
        v = [f"{i + j / 100:.2f}" for j in range(1, 29)]
        lines.append(",".join([f"{t:g}", *v, f"{amount:g}", f'"{int(fraud)}"']))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def test_load_reads_every_column_in_file_order(tmp_path: Path) -> None:
    data = ulb.load(_write_csv(tmp_path / "cc.csv"))
    assert len(data) == 4
    assert data.time.tolist() == [0.0, 0.0, 406.0, 90_000.0]
    assert data.fraud.tolist() == [False, True, False, True]
    assert data.amount.tolist() == [149.62, 0.0, 2.5, 10.0]
    assert data.v.shape == (4, 28)
    assert data.v[2, 0] == pytest.approx(2.01)
    assert data.v[3, 27] == pytest.approx(3.28)


def test_load_limit_keeps_the_first_rows(tmp_path: Path) -> None:
    data = ulb.load(_write_csv(tmp_path / "cc.csv"), limit=2)
    assert data.time.tolist() == [0.0, 0.0]
    assert data.fraud.tolist() == [False, True]


def test_load_rejects_other_columns(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("Time,Amount,Class\n0,1,0\n", encoding="utf-8")
    with pytest.raises(ValueError, match="columns"):
        ulb.load(path)


def test_payments_follow_the_contract(tmp_path: Path) -> None:
    data = ulb.load(_write_csv(tmp_path / "cc.csv"))
    counts = ulb.write_files(tmp_path / "out", data)
    decode = msgspec.json.Decoder(Payment).decode
    payments = [decode(line) for line in _lines(tmp_path / "out" / "payments.jsonl")]
    assert counts["payments.jsonl"] == len(payments) == 4
    assert [p.event_id for p in payments] == ["ulb-0", "ulb-1", "ulb-2", "ulb-3"]
    assert [p.account_id for p in payments] == [p.event_id for p in payments]
    assert [p.ts for p in payments] == [START + timedelta(seconds=t) for t, _, _ in ROWS]
    # The zero amount is raised to the smallest valid one; the others are untouched.
    assert [p.amount for p in payments] == [149.62, 0.01, 2.5, 10.0]
    assert {(p.channel, p.txn_type, p.currency) for p in payments} == {("pos", "card", "EUR")}
    attributes = payments[3].attributes
    assert attributes is not None
    assert list(attributes) == [f"V{j}" for j in range(1, 29)]
    assert attributes["V1"] == pytest.approx(3.01)
    assert attributes["V28"] == pytest.approx(3.28)


def test_feedback_labels_every_payment_after_the_delay(tmp_path: Path) -> None:
    data = ulb.load(_write_csv(tmp_path / "cc.csv"))
    counts = ulb.write_files(
        tmp_path / "out", data, start="2020-01-01T08:00:00+08:00", label_delay_hours=2.5
    )
    start = datetime(2020, 1, 1, tzinfo=UTC)
    decode = msgspec.json.Decoder(Feedback).decode
    labels = [decode(line) for line in _lines(tmp_path / "out" / "feedback.jsonl")]
    assert counts["feedback.jsonl"] == len(labels) == 4
    by_id = {f.event_id: f for f in labels}
    for i, (t, fraud, _) in enumerate(ROWS):
        label = by_id[f"ulb-{i}"]
        assert label.account_id == f"ulb-{i}"
        assert label.ts == start + timedelta(seconds=t, hours=2.5)
        assert (label.label, label.source) == (
            ("fraud", "chargeback") if fraud else ("legit", "no_dispute")
        )


def test_feedback_is_in_time_order_even_when_the_rows_are_not(tmp_path: Path) -> None:
    data = ulb.UlbData(
        time=np.array([500.0, 10.0, 200.0]),
        v=np.zeros((3, 28)),
        amount=np.ones(3),
        fraud=np.array([True, False, False]),
    )
    ulb.write_files(tmp_path, data)
    decode = msgspec.json.Decoder(Feedback).decode
    labels = [decode(line) for line in _lines(tmp_path / "feedback.jsonl")]
    assert [f.event_id for f in labels] == ["ulb-1", "ulb-2", "ulb-0"]
    payments = [
        p["event_id"] for p in map(msgspec.json.decode, _lines(tmp_path / "payments.jsonl"))
    ]
    assert payments == ["ulb-0", "ulb-1", "ulb-2"]


def test_truth_rows_name_the_frauds(tmp_path: Path) -> None:
    data = ulb.load(_write_csv(tmp_path / "cc.csv"))
    counts = ulb.write_files(tmp_path / "out", data)
    decode = msgspec.json.Decoder(_Truth).decode
    truth = [decode(line) for line in _lines(tmp_path / "out" / "truth.jsonl")]
    assert counts["truth.jsonl"] == len(truth) == 4
    assert [(t.event_id, t.account_id) for t in truth] == [(f"ulb-{i}",) * 2 for i in range(4)]
    assert [t.is_fraud for t in truth] == [False, True, False, True]
    assert [t.scenario for t in truth] == ["", "ulb", "", "ulb"]
    assert [t.ts for t in truth] == [START.timestamp() + t for t, _, _ in ROWS]


def test_a_start_without_zone_is_refused(tmp_path: Path) -> None:
    data = ulb.load(_write_csv(tmp_path / "cc.csv"))
    with pytest.raises(ValueError, match="zone"):
        ulb.write_files(tmp_path / "out", data, start="2013-09-01T00:00:00")


def _four(times: list[float], fraud: list[bool]) -> ulb.UlbData:
    return ulb.UlbData(
        time=np.array(times), v=np.zeros((4, 28)), amount=np.ones(4), fraud=np.array(fraud)
    )


def test_evaluate_against_hand_computed_values() -> None:
    data = _four([0.0, 100.0, 90_000.0, 100_000.0], [True, False, True, False])
    # ulb-3 (legit) has no score, so it ranks last: 0.9 F, 0.8 L, 0.3 F, (none) L.
    quality = ulb.evaluate({"ulb-0": 0.9, "ulb-1": 0.8, "ulb-2": 0.3, "other": 1.0}, data)
    # Positive-negative pairs won: 0.9 beats both, 0.3 only the missing one: 3 of 4.
    assert quality.roc_auc == pytest.approx(0.75)
    # Precision at each fraud: 1/1 and 2/3.
    assert quality.average_precision == pytest.approx((1 + 2 / 3) / 2)
    assert (quality.transactions, quality.frauds, quality.missing) == (4, 2, 1)
    assert quality.first_day_frauds_share == pytest.approx(0.5)


def test_evaluate_ranks_a_missing_fraud_below_every_scored_event() -> None:
    data = _four([0.0, 1.0, 2.0, 3.0], [False, False, False, True])
    quality = ulb.evaluate({"ulb-0": 0.0, "ulb-1": 0.0, "ulb-2": 0.0}, data)
    assert quality.roc_auc == 0.0
    assert quality.average_precision == pytest.approx(1 / 4)
    assert quality.first_day_frauds_share == 1.0


def test_locate_prefers_the_given_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    given = _write_csv(tmp_path / "given.csv")
    monkeypatch.setenv(ulb.ENV_VAR, str(_write_csv(tmp_path / "env.csv")))
    assert ulb.locate(given) == given
    # A named file that is not there is unavailable, never silently replaced by another.
    assert ulb.locate(tmp_path / "typo.csv") is None


def test_locate_honours_the_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write_csv(tmp_path / "env.csv")
    monkeypatch.setenv(ulb.ENV_VAR, str(path))
    assert ulb.locate() == path
    monkeypatch.setenv(ulb.ENV_VAR, str(tmp_path / "gone.csv"))
    assert ulb.locate() is None


def test_locate_is_none_when_nothing_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ulb.ENV_VAR, raising=False)
    monkeypatch.setattr(ulb, "PACKAGE", "riskflow-no-such-distribution")
    assert ulb.locate() is None
    assert "pip install" in ulb.UNAVAILABLE_HINT
    assert ulb.ENV_VAR in ulb.UNAVAILABLE_HINT


def test_anchors_cite_river_and_a_stream_prefix() -> None:
    assert ulb.ANCHORS
    for anchor in ulb.ANCHORS:
        assert anchor.metric in {"roc_auc", "log_loss"}
        assert 0 < anchor.value < 1
        assert anchor.transactions in {2500, 3000}
        assert "river." in anchor.citation


def _packaged() -> Path | None:
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv(ulb.ENV_VAR, raising=False)
        return ulb.locate()


PACKAGED = _packaged()
needs_data = pytest.mark.skipif(PACKAGED is None, reason=ulb.UNAVAILABLE_HINT)


@needs_data
def test_the_packaged_file_is_the_published_data_set() -> None:
    assert PACKAGED is not None
    data = ulb.load(PACKAGED)
    assert len(data) == ulb.EXPECTED_ROWS
    assert int(data.fraud.sum()) == ulb.EXPECTED_FRAUDS
    assert data.time[0] == 0.0
    assert data.time[-1] == 172_792.0
    assert bool(np.all(np.diff(data.time) >= 0))
    assert int(np.count_nonzero(data.amount == 0.0)) == 1825
    # Nothing scored: every transaction ties at the bottom.
    assert ulb.evaluate({}, data).missing == ulb.EXPECTED_ROWS


@needs_data
def test_the_half_space_trees_anchor_reproduces_on_the_loaded_rows() -> None:
    # River's own docstring example, fed from our loader instead of its download.
    from river import anomaly, compose, metrics, preprocessing

    assert PACKAGED is not None
    anchor = next(a for a in ulb.ANCHORS if "HalfSpaceTrees" in a.model)
    data = ulb.load(PACKAGED, limit=anchor.transactions)
    model = compose.Pipeline(preprocessing.MinMaxScaler(), anomaly.HalfSpaceTrees(seed=42))
    auc = metrics.ROCAUC()
    names = [f"V{j}" for j in range(1, 29)]
    for t, v, amount, fraud in zip(
        data.time.tolist(), data.v.tolist(), data.amount.tolist(), data.fraud.tolist(), strict=True
    ):
        x = {"Time": t, **dict(zip(names, v, strict=True)), "Amount": amount}
        score = model.score_one(x)
        model.learn_one(x)
        auc.update(fraud, score)
    assert round(auc.get(), 4) == anchor.value
