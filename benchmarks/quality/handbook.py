"""The Fraud Detection Handbook's transaction simulator as a public quality benchmark.

Le Borgne et al., "Reproducible Machine Learning for Credit Card Fraud Detection -
Practical Handbook", chapter "Transaction data simulator", publish a simulator and
the data set it makes (5,000 customers, 10,000 terminals, 183 days from 2018-04-01:
1,754,155 transactions, 14,681 frauds), then report baseline models on one test
week of it. `generate` re-implements the simulator from that description, drawing
from the same random streams in the same order, so the default arguments give the
published data set; `write_files` turns it into riskflow contract files;
`evaluate` scores a run with the handbook's own assessment protocol, so the
numbers sit next to the published ones in `ANCHORS`.

Where the published code depends on an unspecified order (pandas' default sort is
not stable), ties are broken stably by (time, customer generation order).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Final

import msgspec
import numpy as np
import numpy.typing as npt

__all__ = [
    "ANCHORS",
    "CITATION",
    "PUBLISHED_FRAUDS",
    "PUBLISHED_TRANSACTIONS",
    "Anchor",
    "CustomerProfiles",
    "HandbookQuality",
    "TerminalProfiles",
    "Transactions",
    "available_terminals",
    "customer_profiles",
    "evaluate",
    "generate",
    "terminal_profiles",
    "write_files",
]

CITATION: Final = (
    "Y.-A. Le Borgne, W. Siblini, B. Lebichot, G. Bontempi, Reproducible Machine Learning "
    "for Credit Card Fraud Detection - Practical Handbook, Universite Libre de Bruxelles, "
    "2022; chapters 'Transaction data simulator' and 'Baseline fraud detection system'. "
    "https://github.com/Fraud-Detection-Handbook/fraud-detection-handbook"
)
PUBLISHED_TRANSACTIONS: Final = 1_754_155
PUBLISHED_FRAUDS: Final = 14_681

SECONDS_PER_DAY: Final = 86_400
FRAUD_AMOUNT: Final = 220.0
TERMINAL_WINDOW_DAYS: Final = 28
CARD_WINDOW_DAYS: Final = 14

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Anchor:
    """One published result on the handbook's test week (2018-08-08..14)."""

    model: str
    roc_auc: float | None
    average_precision: float
    card_precision_at_100: float | None


ANCHORS: Final[Mapping[str, Anchor]] = {
    "logistic_regression": Anchor("logistic regression", 0.871, 0.606, 0.291),
    "random_forest": Anchor("random forest", 0.867, 0.658, 0.287),
    "best_published": Anchor("best published average precision", None, 0.687, None),
}


@dataclass(frozen=True, slots=True, eq=False)
class CustomerProfiles:
    x: FloatArray
    y: FloatArray
    mean_amount: FloatArray
    std_amount: FloatArray
    mean_nb_tx_per_day: FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class TerminalProfiles:
    x: FloatArray
    y: FloatArray


@dataclass(frozen=True, slots=True, eq=False)
class Transactions:
    """The labelled transactions, one array element per transaction, sorted by time."""

    transaction_id: IntArray
    seconds: IntArray
    """Seconds since midnight (UTC) of the first day."""
    day: IntArray
    customer: npt.NDArray[np.int32]
    terminal: npt.NDArray[np.int32]
    amount: FloatArray
    fraud: npt.NDArray[np.bool_]
    scenario: npt.NDArray[np.int8]
    """0 legitimate, else the handbook scenario (1, 2 or 3) that labelled it last."""
    start: str = "2018-04-01"
    """The first day's date (ISO): `seconds` count from its midnight UTC."""

    def __len__(self) -> int:
        return int(self.transaction_id.size)


def customer_profiles(n: int, seed: int = 0) -> CustomerProfiles:
    """The handbook's customer table: per customer in order, uniform x, y, mean amount, rate."""
    # Each legacy uniform(low, high) call is low + (high - low) * one double of the
    # stream, so the published loop of four calls per customer is four columns here.
    u = np.random.RandomState(seed).random_sample((n, 4))
    mean_amount = 5.0 + 95.0 * u[:, 2]
    return CustomerProfiles(
        x=100.0 * u[:, 0],
        y=100.0 * u[:, 1],
        mean_amount=mean_amount,
        std_amount=mean_amount / 2,
        mean_nb_tx_per_day=4.0 * u[:, 3],
    )


def terminal_profiles(n: int, seed: int = 1) -> TerminalProfiles:
    """The handbook's terminal table: per terminal, uniform x then y on the 100 x 100 grid."""
    u = np.random.RandomState(seed).random_sample((n, 2))
    return TerminalProfiles(x=100.0 * u[:, 0], y=100.0 * u[:, 1])


def available_terminals(
    customers: CustomerProfiles, terminals: TerminalProfiles, radius: float
) -> list[list[int]]:
    """Per customer, the ascending ids of the terminals closer than `radius`."""
    out: list[list[int]] = []
    for cx, cy in zip(customers.x.tolist(), customers.y.tolist(), strict=True):
        # The same float operations as the published code, so edge terminals agree.
        dist = np.sqrt(np.square(cx - terminals.x) + np.square(cy - terminals.y))
        out.append(np.flatnonzero(dist < radius).tolist())
    return out


def _customer_transactions(
    customer_id: int,
    mean_amount: float,
    std_amount: float,
    rate: float,
    terminals: list[int],
    days: int,
    out: tuple[list[int], list[int], list[int], list[float]],
) -> int:
    # Own generators seeded as the handbook seeds the global ones: the same streams,
    # without disturbing a caller's global random state.
    rs = np.random.RandomState(customer_id)
    choice = random.Random(customer_id).choice
    normal, poisson, uniform = rs.normal, rs.poisson, rs.uniform
    seconds, tx_days, tx_terminals, amounts = out
    before = len(seconds)
    for day in range(days):
        for _ in range(poisson(rate)):
            time_tx = int(normal(SECONDS_PER_DAY / 2, 20000))
            if 0 < time_tx < SECONDS_PER_DAY:
                amount = normal(mean_amount, std_amount)
                if amount < 0:
                    amount = uniform(0, mean_amount * 2)
                # The draws above happen whether or not a terminal is in reach.
                if terminals:
                    seconds.append(time_tx + day * SECONDS_PER_DAY)
                    tx_days.append(day)
                    tx_terminals.append(choice(terminals))
                    amounts.append(float(amount))
    return len(seconds) - before


def _group_starts(keys: npt.NDArray[np.int32], size: int) -> tuple[IntArray, IntArray]:
    order = np.argsort(keys, kind="stable").astype(np.int64)
    starts = np.searchsorted(keys[order], np.arange(size + 1)).astype(np.int64)
    return order, starts


def _add_frauds(
    customers: int,
    terminals: int,
    day: IntArray,
    customer: npt.NDArray[np.int32],
    terminal: npt.NDArray[np.int32],
    amount: FloatArray,
) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.int8]]:
    """The three published scenarios in their published order; `amount` changes in place."""
    fraud = amount > FRAUD_AMOUNT
    scenario = np.where(fraud, 1, 0).astype(np.int8)
    # range(TX_TIME_DAYS.max()) as published: the last day starts no new compromise.
    last = int(day.max()) if day.size else 0
    by_terminal, terminal_starts = _group_starts(terminal, terminals)
    by_customer, customer_starts = _group_starts(customer, customers)
    for d in range(last):
        # pandas Series.sample(n, random_state=d) without weights is
        # RandomState(d).choice(len, n, replace=False), i.e. permutation(len)[:n].
        for t in np.random.RandomState(d).permutation(terminals)[:2].tolist():
            idx = by_terminal[terminal_starts[t] : terminal_starts[t + 1]]
            hit = idx[(day[idx] >= d) & (day[idx] < d + TERMINAL_WINDOW_DAYS)]
            fraud[hit] = True
            scenario[hit] = 2
    for d in range(last):
        picked = np.random.RandomState(d).permutation(customers)[:3].tolist()
        idx = np.sort(
            np.concatenate(
                [by_customer[customer_starts[c] : customer_starts[c + 1]] for c in picked]
            )
        )
        idx = idx[(day[idx] >= d) & (day[idx] < d + CARD_WINDOW_DAYS)]
        # random.seed(d); random.sample(ids in TRANSACTION_ID order, int(n / 3)) as published.
        chosen = random.Random(d).sample(idx.tolist(), k=idx.size // 3)
        if chosen:
            rows = np.asarray(chosen, dtype=np.int64)
            amount[rows] *= 5
            fraud[rows] = True
            scenario[rows] = 3
    return fraud, scenario


def generate(
    customers: int = 5000,
    terminals: int = 10000,
    days: int = 183,
    start: str = "2018-04-01",
    radius: float = 5.0,
) -> Transactions:
    """The handbook's labelled transactions; the defaults give its published data set."""
    if customers < 3 or terminals < 2 or days < 1:
        # The published scenarios sample 3 customers and 2 terminals a day.
        raise ValueError("need at least 3 customers, 2 terminals and 1 day")
    date.fromisoformat(start)
    profiles = customer_profiles(customers)
    reach = available_terminals(profiles, terminal_profiles(terminals), radius)
    out: tuple[list[int], list[int], list[int], list[float]] = ([], [], [], [])
    counts = [
        _customer_transactions(cid, mean, std, rate, reach[cid], days, out)
        for cid, (mean, std, rate) in enumerate(
            zip(
                profiles.mean_amount.tolist(),
                profiles.std_amount.tolist(),
                profiles.mean_nb_tx_per_day.tolist(),
                strict=True,
            )
        )
    ]
    seconds = np.asarray(out[0], dtype=np.int64)
    # np.round per value, as published, is the same rounding as on the whole array.
    amount = np.asarray(out[3], dtype=np.float64).round(2)
    customer = np.repeat(np.arange(customers, dtype=np.int32), counts)
    # pandas sorts by time with an unstable quicksort; ties here keep generation order.
    order = np.argsort(seconds, kind="stable")
    seconds = seconds[order]
    day = np.asarray(out[1], dtype=np.int64)[order]
    customer = customer[order]
    terminal = np.asarray(out[2], dtype=np.int32)[order]
    amount = amount[order]
    fraud, scenario = _add_frauds(customers, terminals, day, customer, terminal, amount)
    return Transactions(
        transaction_id=np.arange(seconds.size, dtype=np.int64),
        seconds=seconds,
        day=day,
        customer=customer,
        terminal=terminal,
        amount=amount,
        fraud=fraud,
        scenario=scenario,
        start=start,
    )


# Field order and names follow contract.messages; these carry `ts` already formatted
# because the contract's own structs would encode UTC as `Z`, not `+00:00`.
class _PaymentLine(msgspec.Struct):
    event_id: str
    ts: str
    account_id: str
    amount: float
    channel: str
    txn_type: str
    currency: str
    terminal_id: str
    customer_id: str


class _FeedbackLine(msgspec.Struct):
    event_id: str
    account_id: str
    label: str
    ts: str
    source: str


class _TruthLine(msgspec.Struct):
    event_id: str
    account_id: str
    scenario: str
    is_fraud: bool
    ts: float


_CHUNK: Final = 50_000
_SCENARIOS: Final = ("", "handbook_1", "handbook_2", "handbook_3")


def _timestamps(base: np.datetime64, offsets_us: IntArray, whole_seconds: bool) -> list[str]:
    at = base + offsets_us.astype("timedelta64[us]")
    text = np.datetime_as_string(at, unit="s" if whole_seconds else "us")
    return [t + "+00:00" for t in text.tolist()]


def write_files(
    out_dir: Path,
    tx: Transactions,
    *,
    start: str | None = None,
    label_delay_days: float = 7.0,
) -> dict[str, int]:
    """payments.jsonl, feedback.jsonl and truth.jsonl for a backtest; lines per file.

    `start` defaults to the date `tx` was generated from. Amounts of 0.00 (the
    handbook rounds to cents) become 0.01: the contract requires amount > 0.
    """
    start = start or tx.start
    out_dir.mkdir(parents=True, exist_ok=True)
    base = np.datetime64(start, "us")
    epoch = datetime.fromisoformat(start).replace(tzinfo=UTC).timestamp()
    delay_us = round(label_delay_days * SECONDS_PER_DAY * 1_000_000)
    encoder = msgspec.json.Encoder()
    names = ("payments.jsonl", "feedback.jsonl", "truth.jsonl")
    counts = dict.fromkeys(names, 0)
    # A constant label delay keeps feedback in the payments' time order.
    with (
        open(out_dir / names[0], "wb") as payments,
        open(out_dir / names[1], "wb") as feedback,
        open(out_dir / names[2], "wb") as truth,
    ):
        for lo in range(0, len(tx), _CHUNK):
            hi = min(lo + _CHUNK, len(tx))
            offsets = tx.seconds[lo:hi] * 1_000_000
            at = _timestamps(base, offsets, whole_seconds=True)
            labelled = _timestamps(base, offsets + delay_us, delay_us % 1_000_000 == 0)
            ids = [f"hb-{i}" for i in tx.transaction_id[lo:hi].tolist()]
            cards = [f"card-{c}" for c in tx.customer[lo:hi].tolist()]
            terms = [f"term-{t}" for t in tx.terminal[lo:hi].tolist()]
            amounts = np.maximum(tx.amount[lo:hi], 0.01).tolist()
            frauds = tx.fraud[lo:hi].tolist()
            scenarios = tx.scenario[lo:hi].tolist()
            epochs = (epoch + tx.seconds[lo:hi].astype(np.float64)).tolist()
            payments.write(
                encoder.encode_lines(
                    [
                        _PaymentLine(e, t, c, a, "pos", "card", "EUR", term, c)
                        for e, t, c, a, term in zip(ids, at, cards, amounts, terms, strict=True)
                    ]
                )
            )
            feedback.write(
                encoder.encode_lines(
                    [
                        _FeedbackLine(
                            e,
                            c,
                            "fraud" if f else "legit",
                            t,
                            "chargeback" if f else "no_dispute",
                        )
                        for e, c, f, t in zip(ids, cards, frauds, labelled, strict=True)
                    ]
                )
            )
            truth.write(
                encoder.encode_lines(
                    [
                        _TruthLine(e, c, _SCENARIOS[s], f, ts)
                        for e, c, s, f, ts in zip(
                            ids, cards, scenarios, frauds, epochs, strict=True
                        )
                    ]
                )
            )
            for name in names:
                counts[name] += hi - lo
    return counts


@dataclass(frozen=True, slots=True)
class HandbookQuality:
    """Scores on the handbook's test set, computed as the handbook computes them."""

    roc_auc: float
    average_precision: float
    card_precision_at_k: float
    test_transactions: int
    test_frauds: int
    missing: int
    """Test transactions with no score: counted as score 0."""
    card_precision_per_day: tuple[float, ...] = ()
    scenario_roc_auc: dict[int, float] = field(default_factory=dict)
    """Per handbook scenario (1 large amounts, 2 compromised terminals, 3 compromised
    cards): ROC AUC of that scenario's test frauds against the legitimate test payments."""


def _ranking_curve(
    scores: FloatArray, labels: npt.NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray]:
    """True and false positives at each distinct threshold, highest first (sklearn's curve)."""
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    cut = np.r_[np.flatnonzero(np.diff(ranked)), ranked.size - 1]
    tps = np.cumsum(labels[order], dtype=np.float64)[cut]
    fps = (cut + 1) - tps
    return tps, fps


def _roc_auc(scores: FloatArray, labels: npt.NDArray[np.bool_]) -> float:
    if scores.size == 0 or labels.all() or not labels.any():
        return float("nan")
    tps, fps = _ranking_curve(scores, labels)
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    # Trapezoids over the ROC steps: ties between a fraud and a legit count half.
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def _average_precision(scores: FloatArray, labels: npt.NDArray[np.bool_]) -> float:
    if not labels.any():
        return float("nan")
    tps, fps = _ranking_curve(scores, labels)
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    # sklearn's step sum over distinct thresholds, not an interpolated area.
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def _card_precision_top_k(
    days: IntArray,
    cards: npt.NDArray[np.int32],
    scores: FloatArray,
    labels: npt.NDArray[np.bool_],
    k: int,
) -> tuple[float, ...]:
    detected: set[int] = set()
    out: list[float] = []
    for d in np.unique(days).tolist():
        today = days == d
        if detected:
            today &= ~np.isin(cards, np.fromiter(detected, dtype=np.int64))
        ids, inverse = np.unique(cards[today], return_inverse=True)
        best = np.full(ids.size, -np.inf)
        np.maximum.at(best, inverse, scores[today])
        compromised = np.zeros(ids.size, dtype=bool)
        np.logical_or.at(compromised, inverse, labels[today])
        # Ties put a legitimate card first: equal scores earn no credit by luck of order.
        top = np.lexsort((compromised, -best))[:k]
        found = ids[top][compromised[top]]
        out.append(found.size / k)
        detected.update(found.tolist())
    return tuple(out)


def _day_of(start: str, when: str) -> int:
    return (date.fromisoformat(when) - date.fromisoformat(start)).days


def _customers_with_fraud(tx: Transactions, mask: npt.NDArray[np.bool_]) -> set[int]:
    return set(np.unique(tx.customer[mask & tx.fraud]).tolist())


def evaluate(
    scores: Mapping[str, float],
    tx: Transactions,
    *,
    start: str | None = None,
    train_start: str = "2018-07-25",
    delta_train: int = 7,
    delta_delay: int = 7,
    delta_test: int = 7,
    top_k: int = 100,
) -> HandbookQuality:
    """ROC AUC, average precision and card precision@k on the handbook's test set.

    The test set is the handbook's `get_train_test_set`: the `delta_test` days after
    the training week and the delay period, without the transactions of customers
    already known to be defrauded (a fraud in the training week, or on a delay-period
    day whose label has arrived by that test day). `scores` maps `hb-{id}` event ids
    to decision scores; a test transaction without one scores 0.
    """
    start = start or tx.start
    first = _day_of(start, train_start)
    train = (tx.day >= first) & (tx.day < first + delta_train)
    # The published code counts from the first training day that has transactions.
    base = int(tx.day[train].min()) if train.any() else first
    known = _customers_with_fraud(tx, train)
    test = np.zeros(len(tx), dtype=bool)
    for d in range(delta_test):
        known |= _customers_with_fraud(tx, tx.day == base + delta_train + d - 1)
        today = tx.day == base + delta_train + delta_delay + d
        if known:
            today &= ~np.isin(tx.customer, np.fromiter(known, dtype=np.int64))
        test |= today
    rows = np.flatnonzero(test)
    found = [scores.get(f"hb-{i}") for i in tx.transaction_id[rows].tolist()]
    missing = sum(s is None for s in found)
    score = np.asarray([0.0 if s is None else s for s in found], dtype=np.float64)
    labels = tx.fraud[rows]
    per_day = _card_precision_top_k(tx.day[rows], tx.customer[rows], score, labels, top_k)
    kinds = tx.scenario[rows]
    legit = ~labels
    by_scenario: dict[int, float] = {}
    for kind in sorted(set(kinds[labels].tolist())):
        mine = labels & (kinds == kind)
        keep = mine | legit
        by_scenario[int(kind)] = _roc_auc(score[keep], mine[keep])
    return HandbookQuality(
        roc_auc=_roc_auc(score, labels),
        average_precision=_average_precision(score, labels),
        card_precision_at_k=float(np.mean(per_day)) if per_day else float("nan"),
        test_transactions=int(rows.size),
        test_frauds=int(labels.sum()),
        missing=missing,
        card_precision_per_day=per_day,
        scenario_roc_auc=by_scenario,
    )
