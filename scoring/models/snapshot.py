"""The model snapshot format: a bundle as plain data (msgpack), rebuilt on load.

A snapshot crosses processes through Redis, so it must never carry code: it holds the
recipe's name and parameters and the numbers learned, and the reader rebuilds River's
objects from them. Loading a snapshot therefore runs no code chosen by its writer,
whatever its bytes; the store also signs it (`scoring.models.signing`).

Layout (msgpack map, `BundleState`; every field added later must have a default, so a
newer reader loads an older snapshot):

- `format` (1), bundle settings (`name`, `recipe`, `learning_rate`, `origin`, `as_of`,
  `received`, `min_labels`, `min_positives`, `ramp_positives`, `fraud_weight`,
  `fraud_label_share`, `legit_label_share`);
- `heads`: per event type a `HeadState`: `recipe`, label counts, the label-rate window
  (`LabelRatesState`) and `classifier`, the recipe's own state, decoded by the recipe
  named (`logistic`: `LogisticState`: the scaler's counts, means and variances, the
  weights, intercept, learning rates, L2, gradient clip and the optimizer's step count;
  `boosted`: `BoostedState`: the tree parameters, the input names in column order and
  LightGBM's text model; `blend`: `BlendState`, the two side by side);
- `counterparties`: the hashed counterparty table as two little-endian arrays
  (float32 decayed counts, float64 times).

Only recipes whose estimator is expressible as data can be written (`SHAREABLE`); a
forest's trees are not, and a bundle of one has no snapshot bytes (it still runs with
the in-process memory store).
"""

from __future__ import annotations

import sys
from array import array
from collections import deque
from typing import Any, Final

import msgspec
from river import linear_model, optim, utils

from riskflow.scoring.models.counterparties import HORIZONS, CounterpartyStats
from riskflow.scoring.models.label_rates import LabelRates
from riskflow.scoring.models.learners import classifier as build_classifier
from riskflow.scoring.models.scaling import IndicatorScaler

__all__ = [
    "FORMAT",
    "SHAREABLE",
    "BundleState",
    "NotShareable",
    "SnapshotDataError",
    "decode_classifier",
    "decode_counterparties",
    "decode_rates",
    "encode_classifier",
    "encode_counterparties",
    "encode_rates",
]

FORMAT: Final = 1
"""The newest snapshot format this code writes and reads (it reads every older one)."""


class NotShareable(ValueError):
    """A model that cannot be written as data (a forest), or not in the shape its recipe
    builds: it has no snapshot bytes."""


class SnapshotDataError(ValueError):
    """Snapshot data that does not describe a model this code can rebuild."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class _Data(msgspec.Struct, kw_only=True, omit_defaults=False):
    pass


class ScalerState(_Data):
    counts: dict[str, int] = {}
    means: dict[str, float] = {}
    vars: dict[str, float] = {}


class LogisticState(_Data):
    """`IndicatorScaler | LogisticRegression(SGD, log loss, zero init, no L1)`."""

    learning_rate: float
    """SGD's constant step size."""
    intercept_lr: float = 0.01
    l2: float = 1e-3
    clip_gradient: float = 1e12
    intercept: float = 0.0
    weights: dict[str, float] = {}
    n_iterations: int = 0
    """The optimizer's step count (a constant rate does not use it; kept so it continues)."""
    scaler: ScalerState = msgspec.field(default_factory=ScalerState)


class LabelRatesState(_Data):
    window: int = 5000
    fraud_share: float = 1.0
    legit_override: float | None = None
    recent: list[tuple[int, bool]] = []
    frauds: int = 0
    cached: float = 1.0
    since: int = 0


class CounterpartyState(_Data):
    slots: int = 0
    fraud: int = 0
    labels: int = 0
    counts: bytes = b""
    """float32 little-endian, per slot: decayed frauds then decayed labels per horizon."""
    last: bytes = b""
    """float64 little-endian, per slot: label time the counters were decayed to."""


class HeadState(_Data):
    recipe: str
    classifier: msgspec.Raw
    """The recipe's own state, decoded by the recipe named (an unknown one is refused)."""
    rates: LabelRatesState = msgspec.field(default_factory=LabelRatesState)
    labels: int = 0
    positives: int = 0


class BundleState(_Data):
    format: int = FORMAT
    name: str = "champion"
    recipe: str = "logistic"
    learning_rate: float = 0.01
    origin: str = ""
    as_of: float = 0.0
    received: int = 0
    min_labels: int = 50
    min_positives: int = 5
    ramp_positives: int = 50
    fraud_weight: float = 3.0
    fraud_label_share: float = 1.0
    legit_label_share: float | None = None
    heads: dict[str, HeadState] = {}
    counterparties: CounterpartyState = msgspec.field(default_factory=CounterpartyState)


_encoder: Final = msgspec.msgpack.Encoder()


def _encode_logistic(model: Any) -> bytes:
    steps = list(getattr(model, "steps", {}).values())
    if len(steps) != 2:
        raise NotShareable("a logistic recipe is a scaler and a logistic regression")
    scaler, lr = steps
    # Anything but the exact shape the recipe builds would be rebuilt differently.
    if (
        type(scaler) is not IndicatorScaler
        or not scaler.with_std
        or scaler.window_size is not None
        or type(lr) is not linear_model.LogisticRegression
        or type(lr.optimizer) is not optim.SGD
        or type(lr.optimizer.lr) is not optim.schedulers.Constant
        or type(lr.intercept_lr) is not optim.schedulers.Constant
        or type(lr.loss) is not optim.losses.Log
        or type(lr.initializer) is not optim.initializers.Zeros
        or lr.l1 != 0
    ):
        raise NotShareable("a logistic model not in the shape its recipe builds")
    state = LogisticState(
        learning_rate=float(lr.optimizer.lr.learning_rate),
        intercept_lr=float(lr.intercept_lr.learning_rate),
        l2=float(lr.l2),
        clip_gradient=float(lr.clip_gradient),
        intercept=float(lr.intercept),
        weights={str(k): float(v) for k, v in lr.weights.items()},
        n_iterations=int(lr.optimizer.n_iterations),
        scaler=ScalerState(
            counts={str(k): int(v) for k, v in scaler.counts.items()},
            means={str(k): float(v) for k, v in scaler.means.items()},
            vars={str(k): float(v) for k, v in scaler.vars.items()},
        ),
    )
    return _encoder.encode(state)


def _decode_logistic(raw: bytes) -> Any:
    state = msgspec.msgpack.decode(raw, type=LogisticState)
    model = build_classifier("logistic", state.learning_rate)
    scaler, lr = model.steps.values()
    lr.intercept_lr = optim.schedulers.Constant(state.intercept_lr)
    lr.l2 = state.l2
    lr.clip_gradient = state.clip_gradient
    lr.intercept = state.intercept
    lr._weights = utils.VectorDict(dict(state.weights))
    lr.optimizer.n_iterations = state.n_iterations
    scaler.counts.update(state.scaler.counts)
    scaler.means.update(state.scaler.means)
    scaler.vars.update(state.scaler.vars)
    return model


def _encode_boosted(model: Any) -> bytes:
    from riskflow.scoring.models.boosted import BoostedTrees

    if type(model) is not BoostedTrees:
        raise NotShareable("a boosted recipe is BoostedTrees")
    return _encoder.encode(model.state())


def _decode_boosted(raw: bytes) -> Any:
    from riskflow.scoring.models.boosted import BoostedState, BoostedTrees

    return BoostedTrees.from_state(msgspec.msgpack.decode(raw, type=BoostedState))


class BlendState(msgspec.Struct, kw_only=True):
    linear: bytes
    """The logistic part, as `LogisticState`."""
    trees: msgspec.Raw
    """The trees, as `BoostedState`."""
    trees_after_labels: int = 5000
    trees_after_frauds: int = 50


def _encode_blend(model: Any) -> bytes:
    from riskflow.scoring.models.blend import Blend

    if type(model) is not Blend:
        raise NotShareable("a blend recipe is Blend")
    return _encoder.encode(
        BlendState(
            linear=_encode_logistic(model.linear),
            trees=msgspec.Raw(_encode_boosted(model.trees)),
            trees_after_labels=model.trees_after_labels,
            trees_after_frauds=model.trees_after_frauds,
        )
    )


def _decode_blend(raw: bytes) -> Any:
    from riskflow.scoring.models.blend import Blend

    state = msgspec.msgpack.decode(raw, type=BlendState)
    return Blend(
        _decode_logistic(state.linear),
        _decode_boosted(bytes(state.trees)),
        state.trees_after_labels,
        state.trees_after_frauds,
    )


SHAREABLE: Final = frozenset({"logistic", "boosted", "blend"})
"""Recipes whose classifier a snapshot can carry as data; `amf` and `arf` (River's
forests) cannot."""

_CODECS: Final = {
    "logistic": (_encode_logistic, _decode_logistic),
    "boosted": (_encode_boosted, _decode_boosted),
    "blend": (_encode_blend, _decode_blend),
}


def encode_classifier(recipe: str, model: Any) -> msgspec.Raw:
    codec = _CODECS.get(recipe)
    if codec is None:
        raise NotShareable(f"recipe {recipe!r} cannot be written as data")
    return msgspec.Raw(codec[0](model))


def decode_classifier(recipe: str, raw: msgspec.Raw) -> Any:
    codec = _CODECS.get(recipe)
    if codec is None:
        raise SnapshotDataError("unknown_recipe", f"unknown recipe {recipe[:40]!r}")
    return codec[1](bytes(raw))


def encode_rates(rates: LabelRates) -> LabelRatesState:
    return LabelRatesState(
        window=rates.window,
        fraud_share=rates.fraud_share,
        legit_override=rates.legit_override,
        recent=[(int(s), bool(f)) for s, f in rates.recent],
        frauds=rates.frauds,
        cached=rates._cached,
        since=rates._since,
    )


def decode_rates(state: LabelRatesState) -> LabelRates:
    return LabelRates(
        window=state.window,
        fraud_share=state.fraud_share,
        legit_override=state.legit_override,
        recent=deque(state.recent),
        frauds=state.frauds,
        _cached=state.cached,
        _since=state.since,
    )


def _le(values: array) -> bytes:
    if sys.byteorder == "little":
        return values.tobytes()
    swapped = array(values.typecode, values)
    swapped.byteswap()
    return swapped.tobytes()


def _from_le(typecode: str, blob: bytes) -> array:
    values = array(typecode)
    values.frombytes(blob)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def encode_counterparties(stats: CounterpartyStats) -> CounterpartyState:
    return CounterpartyState(
        slots=stats.slots,
        fraud=stats.fraud,
        labels=stats.labels,
        counts=_le(stats.counts),
        last=_le(stats.last),
    )


def decode_counterparties(state: CounterpartyState) -> CounterpartyStats:
    slots = state.slots
    if slots < 0 or (slots & (slots - 1)):
        raise SnapshotDataError("malformed", "counterparty slots not a power of two")
    if len(state.counts) != 4 * 2 * len(HORIZONS) * slots or len(state.last) != 8 * slots:
        raise SnapshotDataError("malformed", "counterparty table of the wrong size")
    if not slots:
        return CounterpartyStats(0, state.fraud, state.labels)
    return CounterpartyStats(
        slots,
        state.fraud,
        state.labels,
        _from_le("f", state.counts),
        _from_le("d", state.last),
    )
