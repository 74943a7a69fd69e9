"""The handbook simulator: published values, scenario rules, contract files, the protocol."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from pathlib import Path

import msgspec
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskflow.benchmarks.quality.handbook import (
    ANCHORS,
    PUBLISHED_FRAUDS,
    PUBLISHED_TRANSACTIONS,
    Transactions,
    _average_precision,
    _roc_auc,
    customer_profiles,
    evaluate,
    generate,
    terminal_profiles,
    write_files,
)
from riskflow.contract.messages import Feedback, Payment
from riskflow.contract.parse import Envelope, Raw, parse
from riskflow.scoring.models.prequential import average_precision


class _Truth(msgspec.Struct, forbid_unknown_fields=True):
    """The truth line the backtest report reads."""

    event_id: str
    account_id: str
    scenario: str
    is_fraud: bool
    ts: float


FIELDS = ("transaction_id", "seconds", "day", "customer", "terminal", "amount", "fraud", "scenario")


def _published_loop(n: int, seed: int, columns: tuple[tuple[float, float], ...]) -> np.ndarray:
    """The profile tables as published: one global uniform(low, high) call per value."""
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        return np.array([[np.random.uniform(lo, hi) for lo, hi in columns] for _ in range(n)])
    finally:
        np.random.set_state(state)


def _reference(customers: int, terminals: int, days: int, radius: float) -> dict[str, np.ndarray]:
    """A slow, literal reading of the published algorithm, global generators and all."""
    cust = _published_loop(customers, 0, ((0, 100), (0, 100), (5, 100), (0, 4)))
    term = _published_loop(terminals, 1, ((0, 100), (0, 100)))
    np_state, py_state = np.random.get_state(), random.getstate()
    rows: list[list[float]] = []
    try:
        for cid in range(customers):
            x, y, mean, rate = cust[cid]
            std = mean / 2
            dist = np.sqrt(np.sum(np.square(np.array([x, y]) - term), axis=1))
            reach = list(np.where(dist < radius)[0])
            random.seed(cid)
            np.random.seed(cid)
            for day in range(days):
                for _ in range(np.random.poisson(rate)):
                    time_tx = int(np.random.normal(86400 / 2, 20000))
                    if 0 < time_tx < 86400:
                        amount = np.random.normal(mean, std)
                        if amount < 0:
                            amount = np.random.uniform(0, mean * 2)
                        amount = np.round(amount, decimals=2)
                        if len(reach) > 0:
                            terminal = random.choice(reach)
                            rows.append([time_tx + day * 86400, day, cid, terminal, amount])
        rows.sort(key=lambda r: r[0])  # stable: ties keep customer order
        amount_col = [r[4] for r in rows]
        fraud = [a > 220 for a in amount_col]
        scenario = [1 if f else 0 for f in fraud]
        last = max(int(r[1]) for r in rows)
        for day in range(last):
            hit = set(np.random.RandomState(day).choice(terminals, 2, replace=False).tolist())
            for i, r in enumerate(rows):
                if day <= r[1] < day + 28 and r[3] in hit:
                    fraud[i], scenario[i] = True, 2
        for day in range(last):
            hit = set(np.random.RandomState(day).choice(customers, 3, replace=False).tolist())
            ids = [i for i, r in enumerate(rows) if day <= r[1] < day + 14 and r[2] in hit]
            random.seed(day)
            for i in random.sample(ids, k=int(len(ids) / 3)):
                amount_col[i] *= 5
                fraud[i], scenario[i] = True, 3
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return {
        "transaction_id": np.arange(len(rows)),
        "seconds": np.array([r[0] for r in rows]),
        "day": np.array([r[1] for r in rows]),
        "customer": np.array([r[2] for r in rows]),
        "terminal": np.array([r[3] for r in rows]),
        "amount": np.array(amount_col),
        "fraud": np.array(fraud),
        "scenario": np.array(scenario),
        "before_fraud": np.array([r[4] for r in rows]),
    }


SMALL = {"customers": 100, "terminals": 1000, "days": 45, "radius": 15.0}


@pytest.fixture(scope="module")
def small() -> Transactions:
    return generate(**SMALL)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def reference() -> dict[str, np.ndarray]:
    return _reference(**SMALL)  # type: ignore[arg-type]


def test_customer_profiles_match_the_published_table() -> None:
    p = customer_profiles(5)
    published = [
        (54.881350, 71.518937, 62.262521, 31.131260, 2.179533),
        (42.365480, 64.589411, 46.570785, 23.285393, 3.567092),
        (96.366276, 38.344152, 80.213879, 40.106939, 2.115580),
        (56.804456, 92.559664, 11.748426, 5.874213, 0.348517),
        (2.021840, 83.261985, 78.924891, 39.462446, 3.480049),
    ]
    got = np.column_stack([p.x, p.y, p.mean_amount, p.std_amount, p.mean_nb_tx_per_day])
    np.testing.assert_allclose(got, published, atol=5e-7)


def test_profiles_are_the_published_call_sequence_exactly() -> None:
    p = customer_profiles(200)
    loop = _published_loop(200, 0, ((0, 100), (0, 100), (5, 100), (0, 4)))
    assert np.array_equal(np.column_stack([p.x, p.y, p.mean_amount, p.mean_nb_tx_per_day]), loop)
    t = terminal_profiles(300)
    assert np.array_equal(np.column_stack([t.x, t.y]), _published_loop(300, 1, ((0, 100),) * 2))
    # Terminal table seed 1: the first two doubles of MT19937 seeded with 1.
    assert t.x[0] == pytest.approx(41.7022005) and t.y[0] == pytest.approx(72.0324493)


def test_generation_equals_a_literal_reading_of_the_published_code(
    small: Transactions, reference: dict[str, np.ndarray]
) -> None:
    assert len(small) == reference["seconds"].size > 1000
    for name in FIELDS:
        assert np.array_equal(getattr(small, name), reference[name]), name
    assert {1, 2, 3} <= set(small.scenario.tolist())


def test_customer_zero_draws_the_published_transactions() -> None:
    # The handbook's worked example: customer 0's first two days, times and amounts.
    published = {
        26345: 123.59,
        68522: 46.51,
        64816: 77.34,
        141182: 32.35,
        137138: 63.30,
        143211: 13.59,
        118266: 54.72,
        159887: 51.89,
    }
    tx = generate(customers=5, terminals=5, days=2, radius=200.0)
    mine = tx.customer == 0
    assert sorted(tx.seconds[mine].tolist()) == sorted(published)
    for s, amount, scenario in zip(
        tx.seconds[mine].tolist(), tx.amount[mine].tolist(), tx.scenario[mine].tolist(), strict=True
    ):
        assert amount == pytest.approx(published[s] * (5 if scenario == 3 else 1))


def test_same_arguments_same_output_and_the_global_generators_untouched() -> None:
    np.random.seed(123)
    random.seed(123)
    a = generate(customers=20, terminals=50, days=20, radius=25.0)
    assert np.random.random() == np.random.RandomState(123).random_sample()
    assert random.random() == random.Random(123).random()
    b = generate(customers=20, terminals=50, days=20, radius=25.0)
    for name in FIELDS:
        assert np.array_equal(getattr(a, name), getattr(b, name))
    assert np.all(np.diff(a.seconds) >= 0)
    assert np.array_equal(a.day, a.seconds // 86400)


def test_scenario_rules(small: Transactions, reference: dict[str, np.ndarray]) -> None:
    tx, before = small, reference["before_fraud"]
    # Scenario 1 first, on the simulated amounts; later scenarios may relabel those.
    assert np.all(tx.fraud[before > 220])
    assert np.all(before[tx.scenario == 1] > 220)
    assert np.any((before > 220) & (tx.scenario > 1)) or np.all(tx.scenario[before > 220] == 1)
    # Nothing above 220 stays legitimate, even after scenario 3's multiplication.
    assert np.all(tx.fraud[tx.amount > 220])
    assert np.array_equal(tx.fraud, tx.scenario > 0)
    # Scenario 2: exactly the compromised terminals' transactions in their 28-day windows.
    compromised = np.zeros(len(tx), dtype=bool)
    for d in range(int(tx.day.max())):
        terms = np.random.RandomState(d).choice(SMALL["terminals"], 2, replace=False)
        compromised |= np.isin(tx.terminal, terms) & (tx.day >= d) & (tx.day < d + 28)
    assert np.all(tx.fraud[compromised])
    assert np.array_equal(tx.scenario == 2, compromised & (tx.scenario != 3))
    # Scenario 3 multiplies by 5 (by 25 if two overlapping windows picked it).
    ratio = tx.amount[tx.scenario == 3] / before[tx.scenario == 3]
    assert ratio.size and np.all(np.isin(np.round(ratio, 9), [5.0, 25.0, 125.0]))
    assert np.array_equal(tx.amount[tx.scenario != 3], before[tx.scenario != 3])


def test_rejects_sizes_the_scenarios_cannot_sample() -> None:
    with pytest.raises(ValueError):
        generate(customers=2, terminals=10, days=5)
    with pytest.raises(ValueError):
        generate(start="April 1st")


def _lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


def test_files_are_contract_messages(small: Transactions, tmp_path: Path) -> None:
    counts = write_files(tmp_path, small)
    assert counts == dict.fromkeys(["payments.jsonl", "feedback.jsonl", "truth.jsonl"], len(small))
    payments = [
        parse(Raw("payment", line, "payments")) for line in _lines(tmp_path / "payments.jsonl")
    ]
    labels = [
        parse(Raw("feedback", line, "risk.feedback"))
        for line in _lines(tmp_path / "feedback.jsonl")
    ]
    assert all(isinstance(e, Envelope) for e in payments + labels)
    start = datetime.fromisoformat("2018-04-01T00:00:00+00:00")
    for i, (p_env, f_env) in enumerate(zip(payments, labels, strict=True)):
        p, f = p_env.event, f_env.event  # type: ignore[union-attr]
        assert isinstance(p, Payment) and isinstance(f, Feedback)
        assert p.event_id == f.event_id == f"hb-{small.transaction_id[i]}"
        assert p.account_id == p.customer_id == f.account_id == f"card-{small.customer[i]}"
        assert p.terminal_id == f"term-{small.terminal[i]}" and p.merchant_id is None
        assert (p.channel, p.txn_type, p.currency, p.auth_method) == ("pos", "card", "EUR", "none")
        assert p.amount == max(float(small.amount[i]), 0.01)
        assert p.ts == start + timedelta(seconds=int(small.seconds[i]))
        assert f.ts - p.ts == timedelta(days=7)
        assert (f.label, f.source) == (
            ("fraud", "chargeback") if small.fraud[i] else ("legit", "no_dispute")
        )
    assert all(b'+00:00"' in line for line in _lines(tmp_path / "payments.jsonl")[:50])
    label_times = [e.event.ts for e in labels]  # type: ignore[union-attr]
    assert label_times == sorted(label_times)
    decode = msgspec.json.Decoder(_Truth).decode
    truth = [decode(line) for line in _lines(tmp_path / "truth.jsonl")]
    assert [t.account_id for t in truth] == [p.event.account_id for p in payments]  # type: ignore[union-attr]
    assert [t.event_id for t in truth] == [f"hb-{i}" for i in small.transaction_id.tolist()]
    assert [t.is_fraud for t in truth] == small.fraud.tolist()
    names = {0: "", 1: "handbook_1", 2: "handbook_2", 3: "handbook_3"}
    assert [t.scenario for t in truth] == [names[s] for s in small.scenario.tolist()]
    assert [t.ts for t in truth] == [start.timestamp() + s for s in small.seconds.tolist()]


def _synthetic(rows: list[tuple[int, int, bool, float]], start: str) -> Transactions:
    """Transactions from (day, customer, fraud, amount) rows, in time order."""
    n = len(rows)
    return Transactions(
        transaction_id=np.arange(n, dtype=np.int64),
        seconds=np.array([d * 86400 + 60 * i for i, (d, *_) in enumerate(rows)], dtype=np.int64),
        day=np.array([r[0] for r in rows], dtype=np.int64),
        customer=np.array([r[1] for r in rows], dtype=np.int32),
        terminal=np.zeros(n, dtype=np.int32),
        amount=np.array([r[3] for r in rows], dtype=np.float64),
        fraud=np.array([r[2] for r in rows], dtype=bool),
        scenario=np.array([3 if r[2] else 0 for r in rows], dtype=np.int8),
        start=start,
    )


def test_zero_amounts_become_a_cent_and_label_delays_can_be_fractional(tmp_path: Path) -> None:
    tx = _synthetic([(0, 1, False, 0.0), (0, 2, True, 250.0)], "2020-02-28")
    write_files(tmp_path, tx, label_delay_days=1.0625)
    p = [parse(Raw("payment", line, "payments")) for line in _lines(tmp_path / "payments.jsonl")]
    f = [parse(Raw("feedback", line, "f")) for line in _lines(tmp_path / "feedback.jsonl")]
    assert [e.event.amount for e in p] == [0.01, 250.0]  # type: ignore[union-attr]
    assert p[0].event.ts.isoformat() == "2020-02-28T00:00:00+00:00"  # type: ignore[union-attr]
    assert f[1].event.ts - p[1].event.ts == timedelta(days=1, hours=1, minutes=30)  # type: ignore[union-attr]


# Days 0-1 train, day 2 delay, days 3-4 test. Customers: A=0 fraud in training;
# B=1 fraud on the delay day (known from test day 4 on); C=2 compromised on both test
# days, in day 3's top 2; D=3 legitimate; E=4 compromised on day 4.
EVAL_ROWS = [
    (0, 0, True, 1.0, None),  # A, training
    (1, 3, False, 1.0, None),  # D, training
    (2, 1, True, 1.0, None),  # B, delay
    (3, 0, False, 1.0, 0.9),  # A: known defrauded, removed
    (3, 1, True, 1.0, 0.8),  # B: not yet known on day 3
    (3, 2, True, 1.0, 0.7),  # C
    (3, 3, False, 1.0, 0.6),  # D
    (4, 1, False, 1.0, 0.95),  # B: known by day 4, removed
    (4, 2, True, 1.0, 0.9),  # C: detected on day 3, left out of day 4's cards
    (4, 3, False, 1.0, 0.5),  # D
    (4, 4, True, 1.0, 0.6),  # E, tied with D's 0.6 of day 3
    (4, 3, False, 1.0, None),  # D, never scored: counts as 0
]


def test_evaluate_on_hand_computed_values() -> None:
    tx = _synthetic([r[:4] for r in EVAL_ROWS], "2018-07-25")
    scores = {f"hb-{i}": r[4] for i, r in enumerate(EVAL_ROWS) if r[4] is not None}
    q = evaluate(
        scores, tx, train_start="2018-07-25", delta_train=2, delta_delay=1, delta_test=2, top_k=2
    )
    assert (q.test_transactions, q.test_frauds, q.missing) == (7, 4, 1)
    # Fraud scores .8 .7 .9 .6 against legit .6 .5 0: 3 + 3 + 3 + 2.5 wins of 12.
    assert q.roc_auc == pytest.approx(11.5 / 12)
    # Recall steps of 1/4 at precisions 1, 1, 1 and 4/5 (the .6 tie is one threshold).
    assert q.average_precision == pytest.approx(0.95)
    # Day 3: B and C top the cards, both compromised. Day 4 without C: E and D, one of two.
    assert q.card_precision_per_day == (1.0, 0.5)
    assert q.card_precision_at_k == pytest.approx(0.75)


def test_evaluate_ranks_each_scenarios_frauds_against_the_legitimate() -> None:
    rows = [r[:4] for r in EVAL_ROWS]
    tx = _synthetic(rows, "2018-07-25")
    # C's two test frauds came from a compromised terminal (2), B's and E's from a card (3).
    tx.scenario[[i for i, r in enumerate(rows) if r[1] == 2]] = 2
    scores = {f"hb-{i}": r[4] for i, r in enumerate(EVAL_ROWS) if r[4] is not None}
    q = evaluate(scores, tx, train_start="2018-07-25", delta_train=2, delta_delay=1, delta_test=2)
    # C's .7 and .9 beat legit .6 .5 0 every time; B's .8 beats all three, E's .6 ties one.
    assert q.scenario_roc_auc == {2: pytest.approx(1.0), 3: pytest.approx(5.5 / 6)}


def test_evaluate_counts_a_week_with_no_scores() -> None:
    tx = _synthetic([r[:4] for r in EVAL_ROWS], "2018-07-25")
    q = evaluate({}, tx, train_start="2018-07-25", delta_train=2, delta_delay=1, delta_test=2)
    assert q.missing == q.test_transactions == 7
    assert q.roc_auc == 0.5 and q.average_precision == pytest.approx(4 / 7)


def _pairwise_auc(scores: list[float], labels: list[bool]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


@given(st.lists(st.tuples(st.integers(0, 6), st.booleans()), min_size=2, max_size=60))
def test_roc_auc_is_the_pairwise_probability(rows: list[tuple[int, bool]]) -> None:
    scores, labels = [s / 6 for s, _ in rows], [y for _, y in rows]
    got = _roc_auc(np.array(scores), np.array(labels))
    if all(labels) or not any(labels):
        assert np.isnan(got)
    else:
        assert got == pytest.approx(_pairwise_auc(scores, labels))


@given(
    st.lists(st.floats(0, 1, allow_nan=False), min_size=1, max_size=60, unique=True),
    st.data(),
)
def test_average_precision_without_ties_is_the_mean_precision_at_each_fraud(
    scores: list[float], data: st.DataObject
) -> None:
    labels = data.draw(st.lists(st.booleans(), min_size=len(scores), max_size=len(scores)))
    got = _average_precision(np.array(scores), np.array(labels))
    if any(labels):
        assert got == pytest.approx(average_precision(scores, labels))
    else:
        assert np.isnan(got)


def test_anchors_are_the_published_baselines() -> None:
    assert ANCHORS["logistic_regression"].average_precision == 0.606
    assert ANCHORS["random_forest"].roc_auc == 0.867
    assert max(a.average_precision for a in ANCHORS.values()) == 0.687


def test_full_size_reproduces_the_published_data_set() -> None:
    tx = generate()
    assert (len(tx), int(tx.fraud.sum())) == (PUBLISHED_TRANSACTIONS, PUBLISHED_FRAUDS)
    assert (PUBLISHED_TRANSACTIONS, PUBLISHED_FRAUDS) == (1_754_155, 14_681)
    # The handbook's printed first and last rows: seconds, customer, terminal, amount.
    head = [(31, 596, 3156, 57.16), (130, 4961, 3412, 81.51), (476, 2, 1365, 146.00),
            (569, 4128, 8737, 64.49), (634, 927, 9906, 50.99)]  # fmt: skip
    tail = [(15810996, 161, 655, 54.24), (15811058, 4342, 6181, 1.23),
            (15811101, 618, 1502, 6.62), (15811192, 4056, 3067, 55.40),
            (15811197, 3542, 9849, 23.59)]  # fmt: skip
    rows = list(range(5)) + list(range(len(tx) - 5, len(tx)))
    got = [
        (int(tx.seconds[i]), int(tx.customer[i]), int(tx.terminal[i]), float(tx.amount[i]))
        for i in rows
    ]
    assert got == head + tail
    # The baseline chapter's split: training week 67,240 (598 frauds), test 58,264 (385).
    train = (tx.day >= 115) & (tx.day < 122)
    assert (int(train.sum()), int(tx.fraud[train].sum())) == (67_240, 598)
    q = evaluate({}, tx)
    assert (q.test_transactions, q.test_frauds) == (58_264, 385)
