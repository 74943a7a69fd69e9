"""Scoring one event with the models: champion, shadow challenger and anomaly detector."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Final

from contract.messages import Login, Payment
from features.catalog import Features
from scoring.models.counterparties import parties
from scoring.models.featurelog import LoggedEvent
from scoring.models.holder import ModelHolder
from scoring.models.learners import anomaly_detector
from scoring.models.vectors import ANOMALY_INPUTS, vector

__all__ = ["ModelScore", "ModelScorer"]

_BUCKETS: Final = 100_000


@dataclass(frozen=True, slots=True)
class ModelScore:
    version: str | None
    """The champion snapshot that scored, or None while cold."""
    probability: float | None
    anomaly: float
    challenger: str | None
    challenger_probability: float | None
    logged: LoggedEvent
    """The feature-log record for this event (the flow adds the decision, then stores it)."""


class ModelScorer:
    def __init__(
        self,
        champion: ModelHolder,
        challenger: ModelHolder | None = None,
        *,
        holdout_share: float = 0.005,
        shadow_share: float = 0.1,
        anomaly_learn_every: int = 4,
        counterparty_inputs: frozenset[str] = frozenset(),
        anomaly_seed: int = 42,
    ) -> None:
        self.champion = champion
        self.challenger = challenger
        self.holdout_share = holdout_share
        self.shadow_share = shadow_share
        self.counterparty_inputs = counterparty_inputs
        # Each process's detector learns from the events it sees; it needs no labels. Learning
        # from one event in a few keeps its picture of normal at a quarter of the cost.
        self._detector = anomaly_detector(anomaly_seed)
        self._learn_every = anomaly_learn_every
        self._seen = 0

    @staticmethod
    def _bucket(event_id: str) -> float:
        """A fixed pseudo-random number in [0, 1) per event, the same on every replay."""
        return (zlib.crc32(event_id.encode()) % _BUCKETS) / _BUCKETS

    def holdout(self, event_id: str) -> bool:
        return self._bucket(event_id) < self.holdout_share

    def score(self, event: Payment | Login, features: Features, rules: float) -> ModelScore:
        event_type = "payment" if isinstance(event, Payment) else "login"
        x = vector(event, features)
        anomaly = 0.0
        if event_type == "payment":
            # Payments only: what is anomalous about a login (failures, new device, travel)
            # is already in its features, and the detector is the costliest step here.
            small = {k: x[k] for k in ANOMALY_INPUTS if k in x}
            anomaly = float(self._detector.score_one(small))
            self._seen += 1
            if self._seen % self._learn_every == 0:
                self._detector.learn_one(small)
        ts = event.ts.timestamp()
        bundle = self.champion.for_event(ts)
        # Counterparties are only logged when their labels are counted (they are an input).
        keys = parties(event) if self.counterparty_inputs else []
        if bundle is not None and self.counterparty_inputs:
            # Counterparty fraud rates as of the snapshot: logged with x, so learning sees them too.
            x.update(bundle.counterparties.features(keys, self.counterparty_inputs))
        probability = bundle.predict(event_type, x, anomaly, rules) if bundle else None
        shadow = None
        if self.challenger is not None and self._bucket(event.event_id) < self.shadow_share:
            # Shadow scores on a sample show the challenger's alert mix; its quality is
            # measured on every label, prequentially, by the learner.
            shadow = self.challenger.for_event(ts)
        shadow_p = shadow.predict(event_type, x, anomaly, rules) if shadow else None
        record = LoggedEvent(event_type, ts, event.account_id, x, anomaly, rules, keys)
        return ModelScore(
            bundle.version if bundle and probability is not None else None,
            probability,
            anomaly,
            shadow.version if shadow and shadow_p is not None else None,
            shadow_p,
            record,
        )
