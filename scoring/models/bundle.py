"""A versioned set of trained models, and its snapshot: the models as data.

One bundle holds, per event type, a classifier (a River recipe) that makes the risk.
It reads the event's vector and, beside it, the evidence: the anomaly rank's logit,
the prior's logit (the evidence's worth as configured, `scoring.priors`) and one
indicator per rule hit, list hit and weak signal, so it learns from labels how far
each moves the odds of fraud. Its odds are learned on the labelled mix, with fraud
labels weighted up, and shifted back to odds on traffic by that weight and by the
labelling shares estimated from the stream (`scoring.models.label_rates`): a fixed
monotone correction, so the score ranks exactly as the classifier does. (A second,
online-learned stacker over the classifier's output ranked worse than the classifier
alone on the handbook and ULB streams: its weights drift between snapshots.) A head scores
once it has seen enough labels of both classes; its weight against the prior then
grows with the frauds it has learned from, so the handover from priors to the
learned model has no step.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from riskflow.scoring.models.counterparties import CounterpartyStats
from riskflow.scoring.models.label_rates import LabelRates
from riskflow.scoring.models.learners import RECIPES, WEIGHTED_RECIPES, classifier
from riskflow.scoring.models.logit import logit, sigmoid
from riskflow.scoring.models.scaling import IndicatorScaler, is_indicator
from riskflow.scoring.models.snapshot import (
    FORMAT,
    BundleState,
    HeadState,
    NotShareable,
    SnapshotDataError,
    decode_classifier,
    decode_counterparties,
    decode_rates,
    encode_classifier,
    encode_counterparties,
    encode_rates,
)
from riskflow.scoring.models.vectors import Vector

__all__ = ["COLD", "FrozenBundle", "ModelBundle", "Snapshot", "SnapshotError", "evidence_inputs"]

COLD: Final = "cold"
_EPS: Final = 1e-9
"""Probabilities are clipped this close to 0 and 1 before their logit is taken."""


class SnapshotError(ValueError):
    """A snapshot refused: unsigned, badly signed, malformed, of an unknown format or recipe.

    `reason` is one of a small closed set (a metric label); the message never quotes the
    snapshot's bytes."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def evidence_inputs(anomaly: float, evidence: Sequence[str], prior: float) -> dict[str, float]:
    """What the classifier reads beside the event's vector: the anomaly rank's logit, the
    prior's logit (its weight learns how much of the configured prior the labels bear
    out) and an indicator per rule hit, list hit and weak signal."""
    z = {"anomaly_logit": logit(anomaly), "prior_logit": logit(prior)}
    for key in evidence:
        z[key] = 1.0
    return z


def _inputs(x: Vector, anomaly: float, evidence: Sequence[str], prior: float) -> Vector:
    return {**x, **evidence_inputs(anomaly, evidence, prior)}


@dataclass
class _Head:
    """The models for one event type."""

    classifier: Any
    recipe: str = "logistic"
    rates: LabelRates = field(default_factory=LabelRates)
    labels: int = 0
    positives: int = 0

    def raw(self, z: Vector) -> float:
        """The classifier's probability on the labelled mix (fraud weighted up)."""
        return float(self.classifier.predict_proba_one(z).get(True, 0.0))

    def offset(self, fraud_weight: float) -> float:
        """Added to the classifier's logit, it gives the log-odds on traffic."""
        weight = fraud_weight if self.recipe in WEIGHTED_RECIPES else 1.0
        return -math.log(weight) - self.rates.shift

    def frozen(self, trust: float, fraud_weight: float) -> _FrozenHead:
        weights: dict[str, tuple[float, float]] | None = None
        bias = 0.0
        model = None
        if self.recipe == "logistic":
            weights, bias = _folded(self.classifier)
        elif self.recipe == "blend":
            # The regression folded as above; the trees, once they join, on the same inputs.
            weights, bias = _folded(self.classifier.linear)
            model = self.classifier.trees if self.classifier.trees_join else None
        else:
            model = self.classifier  # a loaded snapshot is this worker's own copy
        return _FrozenHead(weights, bias, model, self.offset(fraud_weight), trust)


def _folded(pipeline: Any) -> tuple[dict[str, tuple[float, float]], float]:
    """A scaled logistic regression as one weighted sum per event: the scaler folded into
    each input's (slope, offset), so an input the event lacks adds nothing, as unscaled it
    would not. (Snapshots from before the one-hot-aware scaler name River's own.)"""
    scaler, lr = pipeline.steps.values()
    keeps_indicators = isinstance(scaler, IndicatorScaler)
    terms: dict[str, tuple[float, float]] = {}
    for name, w in lr.weights.items():
        var = scaler.vars.get(name, 0.0)
        if var:
            slope = w / var**0.5
            terms[name] = (slope, -slope * scaler.means[name])
        elif keeps_indicators and is_indicator(scaler.means.get(name, 0.0), var):
            terms[name] = (w, 0.0)
    return terms, float(lr.intercept)


def _blend(raw: float, offset: float, prior: float, trust: float) -> float:
    base = logit(prior)
    learned = logit(raw, _EPS) + offset
    return sigmoid(base + trust * (learned - base))


@dataclass(frozen=True, slots=True)
class _FrozenHead:
    weights: dict[str, tuple[float, float]] | None
    """Input -> (slope, offset) of the folded regression; None: the model predicts."""
    bias: float
    model: Any
    offset: float
    """From the classifier's logit to log-odds on traffic."""
    trust: float
    """0..1: how much of the learned departure from the prior is used."""

    def raw(self, x: Vector, anomaly: float, evidence: Sequence[str], prior: float) -> float:
        w = self.weights
        if w is None:
            z = _inputs(x, anomaly, evidence, prior)
            return float(self.model.predict_proba_one(z).get(True, 0.0))
        s = self.bias
        extra = evidence_inputs(anomaly, evidence, prior)
        for inputs in (x, extra):
            for name, value in inputs.items():
                term = w.get(name)
                if term is not None:
                    s += term[0] * value + term[1]
        p = sigmoid(s)
        if self.model is None:
            return p
        # A blend whose trees have joined: the two log-odds averaged, as `Blend` does.
        q = float(self.model.predict_proba_one({**x, **extra})[True])
        return sigmoid((logit(p, _EPS) + logit(q, _EPS)) / 2.0)

    def predict(self, x: Vector, anomaly: float, evidence: Sequence[str], prior: float) -> float:
        raw = self.raw(x, anomaly, evidence, prior)
        return _blend(raw, self.offset, prior, self.trust)


@dataclass(frozen=True, slots=True)
class FrozenBundle:
    """A published bundle as scoring workers use it: read-only and fast."""

    version: str
    as_of: float
    heads: dict[str, _FrozenHead | None]
    """None for an event type that is still cold."""
    counterparties: CounterpartyStats

    def predict(
        self, event_type: str, x: Vector, anomaly: float, evidence: Sequence[str], prior: float
    ) -> float | None:
        head = self.heads.get(event_type)
        return head.predict(x, anomaly, evidence, prior) if head is not None else None


@dataclass
class ModelBundle:
    name: str = "champion"
    learning_rate: float = 0.01
    recipe: str = "logistic"
    origin: str = ""
    """Set when promoted from a challenger, so the version says where it came from."""
    counterparties: CounterpartyStats = field(default_factory=CounterpartyStats)
    heads: dict[str, _Head] = field(default_factory=dict)
    as_of: float = 0.0
    """Label time of the newest label learned: the bundle knows nothing later."""
    min_labels: int = 50
    min_positives: int = 5
    ramp_positives: int = 50
    """Frauds learned from after which the learned model is trusted fully over the prior."""
    fraud_weight: float = 3.0
    """Fraud labels weigh this much more when the classifier learns to rank."""
    fraud_label_share: float = 1.0
    """Share of fraudulent events that get a label (config)."""
    legit_label_share: float | None = None
    """Share of legitimate events that get a label: None estimates it from the stream."""

    def __post_init__(self) -> None:
        for event_type in ("payment", "login"):
            self.heads.setdefault(
                event_type,
                _Head(
                    classifier(self.recipe, self.learning_rate),
                    self.recipe,
                    rates=LabelRates(
                        fraud_share=self.fraud_label_share, legit_override=self.legit_label_share
                    ),
                ),
            )

    received: int = 0
    """Label messages learned: the version's number (labels a session passed on to its
    login are learned too, but are not counted here)."""

    @property
    def labels(self) -> int:
        return sum(h.labels for h in self.heads.values())

    @property
    def version(self) -> str:
        return f"{self.name}-{self.received}{self.origin}"

    def warm(self, event_type: str) -> bool:
        head = self.heads[event_type]
        return head.labels >= self.min_labels and head.positives >= self.min_positives

    def _trust(self, event_type: str) -> float:
        return min(1.0, self.heads[event_type].positives / max(1, self.ramp_positives))

    def predict(
        self, event_type: str, x: Vector, anomaly: float, evidence: Sequence[str], prior: float
    ) -> float | None:
        """Fraud probability on traffic, or None while this event type is still cold."""
        if not self.warm(event_type):
            return None
        head = self.heads[event_type]
        raw = head.raw(_inputs(x, anomaly, evidence, prior))
        return _blend(raw, head.offset(self.fraud_weight), prior, self._trust(event_type))

    def learn(
        self,
        event_type: str,
        x: Vector,
        anomaly: float,
        evidence: Sequence[str],
        prior: float,
        fraud: bool,
        at: float,
        parties: Sequence[str] = (),
        seq: int = 0,
        *,
        derived: bool = False,
    ) -> float | None:
        """Learn one label; returns the prediction made just before (prequential)."""
        head = self.heads[event_type]
        z = _inputs(x, anomaly, evidence, prior)
        before = None
        if self.warm(event_type):
            before = _blend(
                head.raw(z), head.offset(self.fraud_weight), prior, self._trust(event_type)
            )
        if head.recipe in WEIGHTED_RECIPES:
            head.classifier.learn_one(z, fraud, w=self.fraud_weight if fraud else 1.0)
        else:
            head.classifier.learn_one(z, fraud)
        head.rates.learn(seq, fraud)
        head.labels += 1
        head.positives += fraud
        self.received += not derived
        self.counterparties.learn(list(parties), fraud, at)
        self.as_of = max(self.as_of, at)
        return before

    def frozen(self) -> FrozenBundle:
        return FrozenBundle(
            self.version,
            self.as_of,
            {
                t: (h.frozen(self._trust(t), self.fraud_weight) if self.warm(t) else None)
                for t, h in self.heads.items()
            },
            self.counterparties,
        )

    def to_snapshot(self) -> Snapshot:
        """The bundle as data; a recipe that cannot be written as data (a forest) gives a
        snapshot that only this process can load, a private copy, with no bytes."""
        try:
            heads = {
                t: HeadState(
                    recipe=h.recipe,
                    classifier=encode_classifier(h.recipe, h.classifier),
                    rates=encode_rates(h.rates),
                    labels=h.labels,
                    positives=h.positives,
                )
                for t, h in self.heads.items()
            }
        except NotShareable:
            return Snapshot(self.version, self.as_of, None, copy.deepcopy(self))
        state = BundleState(
            name=self.name,
            recipe=self.recipe,
            learning_rate=self.learning_rate,
            origin=self.origin,
            as_of=self.as_of,
            received=self.received,
            min_labels=self.min_labels,
            min_positives=self.min_positives,
            ramp_positives=self.ramp_positives,
            fraud_weight=self.fraud_weight,
            fraud_label_share=self.fraud_label_share,
            legit_label_share=self.legit_label_share,
            heads=heads,
            counterparties=encode_counterparties(self.counterparties),
        )
        return Snapshot(self.version, self.as_of, _encoder.encode(state))


_encoder: Final = msgspec.msgpack.Encoder()


def _decode(blob: bytes, version: str, as_of: float) -> ModelBundle:
    # The version is whatever the store's index says: quoted, so a message stays one line.
    named = repr(version[:80])
    try:
        state = msgspec.msgpack.decode(blob, type=BundleState)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise SnapshotError("malformed", f"snapshot {named}: not a model snapshot") from None
    if not 1 <= state.format <= FORMAT:
        raise SnapshotError("unknown_format", f"snapshot {named}: unknown format")
    if state.recipe not in RECIPES:
        raise SnapshotError("unknown_recipe", f"snapshot {named}: unknown recipe")
    try:
        heads = {
            t: _Head(
                decode_classifier(h.recipe, h.classifier),
                h.recipe,
                rates=decode_rates(h.rates),
                labels=h.labels,
                positives=h.positives,
            )
            for t, h in state.heads.items()
        }
        counterparties = decode_counterparties(state.counterparties)
    except SnapshotDataError as exc:
        raise SnapshotError(exc.reason, f"snapshot {named}: {exc}") from None
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError, OverflowError):
        raise SnapshotError("malformed", f"snapshot {named}: not a model snapshot") from None
    bundle = ModelBundle(
        name=state.name,
        learning_rate=state.learning_rate,
        recipe=state.recipe,
        origin=state.origin,
        counterparties=counterparties,
        heads=heads,
        as_of=state.as_of,
        min_labels=state.min_labels,
        min_positives=state.min_positives,
        ramp_positives=state.ramp_positives,
        fraud_weight=state.fraud_weight,
        fraud_label_share=state.fraud_label_share,
        legit_label_share=state.legit_label_share,
        received=state.received,
    )
    # Version and time are what the store indexes it by: a snapshot copied under another
    # name or time would otherwise be taken for a newer model.
    if bundle.version != version or bundle.as_of != as_of:
        raise SnapshotError("mismatch", f"snapshot {named}: its content names another")
    return bundle


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: str
    as_of: float
    blob: bytes | None
    """The bundle as data (`scoring.models.snapshot`); None for a recipe that cannot be
    written as data."""
    local: ModelBundle | None = field(default=None, repr=False)
    """Without `blob`: a private copy, for the in-process memory store only."""

    def load(self) -> ModelBundle:
        """A fresh bundle, this caller's own; SnapshotError if the data is not one."""
        if self.blob is None:
            if self.local is None:
                raise SnapshotError("malformed", f"snapshot {self.version[:80]!r}: no data")
            return copy.deepcopy(self.local)
        return _decode(self.blob, self.version, self.as_of)
