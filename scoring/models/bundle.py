"""A versioned set of trained models, and its checksummed snapshot bytes.

One bundle holds a classifier and a calibrating stacker per event type. It
scores only once it has seen enough labels of both classes; before that the
decision is the rules' alone and `model_version` says so.
"""

from __future__ import annotations

import hashlib
import math
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from scoring.models.counterparties import CounterpartyStats
from scoring.models.learners import classifier, stacker
from scoring.models.vectors import Vector

__all__ = ["COLD", "FrozenBundle", "ModelBundle", "Snapshot", "SnapshotError"]

COLD: Final = "cold"
_FORMAT: Final = 1


class SnapshotError(ValueError):
    """A snapshot whose bytes do not match its checksum, or of an unknown format."""


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass
class _Head:
    """The models for one event type."""

    classifier: Any = field(default_factory=classifier)
    stacker: Any = field(default_factory=stacker)
    labels: int = 0
    positives: int = 0

    def raw(self, x: Vector) -> float:
        return float(self.classifier.predict_proba_one(x).get(True, 0.0))

    def stacked(self, raw: float, anomaly: float, rules: float) -> dict[str, float]:
        return {"logit": _logit(raw), "anomaly": anomaly}

    def frozen(self, prior_shift: float) -> _FrozenHead:
        """The same predictions as one weighted sum: scaling folded into the weights."""
        scaler, model = self.classifier["StandardScaler"], self.classifier["LogisticRegression"]
        weights: dict[str, float] = {}
        bias = float(model.intercept)
        for name, w in model._weights.items():
            var = scaler.vars.get(name, 0.0)
            if var:
                scaled = w / var**0.5
                weights[name] = scaled
                bias -= scaled * scaler.means[name]
        st = self.stacker
        w_logit, w_anomaly = (float(st._weights.get(k, 0.0)) for k in _STACKED)
        return _FrozenHead(weights, bias, (float(st.intercept) - prior_shift, w_logit, w_anomaly))


_STACKED: Final = ("logit", "anomaly")


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@dataclass(frozen=True, slots=True)
class _FrozenHead:
    weights: dict[str, float]
    bias: float
    stack: tuple[float, float, float]

    def predict(self, x: Vector, anomaly: float, rules: float) -> float:
        w = self.weights
        z = self.bias
        for name, value in x.items():
            weight = w.get(name)
            if weight is not None:
                z += weight * value
        b, w_logit, w_anomaly = self.stack
        return _sigmoid(b + w_logit * _logit(_sigmoid(z)) + w_anomaly * anomaly)


@dataclass(frozen=True, slots=True)
class FrozenBundle:
    """A published bundle as scoring workers use it: read-only and fast."""

    version: str
    as_of: float
    heads: dict[str, _FrozenHead | None]
    """None for an event type that is still cold."""
    counterparties: CounterpartyStats

    def predict(self, event_type: str, x: Vector, anomaly: float, rules: float) -> float | None:
        head = self.heads.get(event_type)
        return head.predict(x, anomaly, rules) if head is not None else None


@dataclass
class ModelBundle:
    name: str = "champion"
    learning_rate: float = 0.01
    origin: str = ""
    """Set when promoted from a challenger, so the version says where it came from."""
    counterparties: CounterpartyStats = field(default_factory=CounterpartyStats)
    heads: dict[str, _Head] = field(default_factory=dict)
    as_of: float = 0.0
    """Label time of the newest label learned: the bundle knows nothing later."""
    min_labels: int = 50
    min_positives: int = 5
    fraud_weight: float = 3.0
    """Fraud labels weigh this much more when the classifier learns to rank."""
    legit_weight: float = 50.0
    """A legitimate label stands for this many unlabelled legitimate events: 1 / the share
    of legitimate events that ever get a label. Calibration divides the odds by it."""

    def __post_init__(self) -> None:
        for event_type in ("payment", "login"):
            self.heads.setdefault(event_type, _Head(classifier(self.learning_rate)))

    @property
    def labels(self) -> int:
        return sum(h.labels for h in self.heads.values())

    @property
    def version(self) -> str:
        return f"{self.name}-{self.labels}{self.origin}"

    def warm(self, event_type: str) -> bool:
        head = self.heads[event_type]
        return head.labels >= self.min_labels and head.positives >= self.min_positives

    def predict(self, event_type: str, x: Vector, anomaly: float, rules: float) -> float | None:
        """Calibrated fraud probability, or None while this event type is still cold."""
        if not self.warm(event_type):
            return None
        head = self.heads[event_type]
        z = head.stacked(head.raw(x), anomaly, rules)
        labelled = float(head.stacker.predict_proba_one(z).get(True, 0.0))
        return _sigmoid(_logit(labelled) - self.prior_shift)

    @property
    def prior_shift(self) -> float:
        """Labels over-represent fraud: the odds learned on them, divided back to traffic's."""
        return math.log(self.legit_weight)

    def learn(
        self,
        event_type: str,
        x: Vector,
        anomaly: float,
        rules: float,
        fraud: bool,
        at: float,
        parties: Sequence[str] = (),
    ) -> float | None:
        """Learn one label; returns the prediction made just before (prequential)."""
        head = self.heads[event_type]
        before = self.predict(event_type, x, anomaly, rules)
        raw = head.raw(x)
        head.classifier.learn_one(x, fraud, w=self.fraud_weight if fraud else 1.0)
        # The stacker learns from the classifier's output before this label, as it will see it.
        # It learns on the labelled mix, unweighted (large weights make SGD unstable), and the
        # prior shift at prediction time turns its odds into odds on real traffic.
        head.stacker.learn_one(head.stacked(raw, anomaly, rules), fraud)
        head.labels += 1
        head.positives += fraud
        self.counterparties.learn(list(parties), fraud)
        self.as_of = max(self.as_of, at)
        return before

    def frozen(self) -> FrozenBundle:
        return FrozenBundle(
            self.version,
            self.as_of,
            {
                t: (h.frozen(self.prior_shift) if self.warm(t) else None)
                for t, h in self.heads.items()
            },
            self.counterparties,
        )

    def to_snapshot(self) -> Snapshot:
        blob = pickle.dumps((_FORMAT, self), protocol=pickle.HIGHEST_PROTOCOL)
        return Snapshot(self.version, self.as_of, hashlib.sha256(blob).hexdigest(), blob)


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: str
    as_of: float
    checksum: str
    """sha256 of `blob`, checked before anything is unpickled."""
    blob: bytes

    def load(self) -> ModelBundle:
        if hashlib.sha256(self.blob).hexdigest() != self.checksum:
            raise SnapshotError(f"snapshot {self.version}: checksum mismatch")
        fmt, bundle = pickle.loads(self.blob)  # checksummed, and only from the configured store
        if fmt != _FORMAT or not isinstance(bundle, ModelBundle):
            raise SnapshotError(f"snapshot {self.version}: unknown format {fmt!r}")
        return bundle
