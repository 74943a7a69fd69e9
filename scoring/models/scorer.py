"""Scoring one event with the models: champion, shadow challenger and anomaly detector."""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from typing import Final

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import Features
from riskflow.scoring.models.anomaly_rank import AnomalyRank
from riskflow.scoring.models.counterparties import parties
from riskflow.scoring.models.featurelog import LoggedEvent
from riskflow.scoring.models.holder import ModelHolder
from riskflow.scoring.models.learners import anomaly_detector
from riskflow.scoring.models.vectors import ANOMALY_INPUTS, vector
from riskflow.scoring.priors import Prior, Priors, anomaly_prior, prior
from riskflow.scoring.rules.ruleset import RuleHit

__all__ = ["ModelScore", "ModelScorer"]

_BUCKETS: Final = 100_000
_NEUTRAL_RANK: Final = 0.5


@dataclass(frozen=True, slots=True)
class ModelScore:
    version: str | None
    """The champion snapshot that scored, or None while cold."""
    probability: float
    """The risk: the learned model's probability, or the prior while cold."""
    prior: Prior
    learned: float | None
    """The champion's probability, None while cold."""
    anomaly: float
    """The detector's rank of the event in [0, 1)."""
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
        priors: Priors | None = None,
        holdout_share: float = 0.005,
        shadow_share: float = 0.1,
        anomaly_learn_every: int = 4,
        counterparty_inputs: frozenset[str] = frozenset(),
        detector: str = "distance",
        anomaly_seed: int = 42,
    ) -> None:
        self.champion = champion
        self.challenger = challenger
        self.priors = priors or Priors()
        self.holdout_share = holdout_share
        self.shadow_share = shadow_share
        self.counterparty_inputs = counterparty_inputs
        # Each process's detector learns from the events it sees; it needs no labels. Learning
        # from one event in a few keeps its picture of normal at a quarter of the cost.
        self._detector = anomaly_detector(detector, anomaly_seed)
        self._rank = AnomalyRank()
        self._learn_every = anomaly_learn_every
        self._seq = {"payment": 0, "login": 0}

    @staticmethod
    def _bucket(event_id: str) -> float:
        """A fixed pseudo-random number in [0, 1) per event, the same on every replay."""
        return (zlib.crc32(event_id.encode()) % _BUCKETS) / _BUCKETS

    def holdout(self, event_id: str) -> bool:
        return self._bucket(event_id) < self.holdout_share

    def _anomaly(self, x: dict[str, float], attributes: dict[str, float] | None) -> float:
        # The detector reads the few profile inputs plus the event's own attributes as they
        # came (a card data set's anonymised components are most of what is known about a
        # payment; the vector's log squash would hide how extreme they are).
        small = {k: x[k] for k in ANOMALY_INPUTS if k in x}
        for key, value in (attributes or {}).items():
            if math.isfinite(value):
                small[f"attr.{key}"] = value
        raw = float(self._detector.score_one(small))
        if not math.isfinite(raw):
            raw = 0.0
        rank = self._rank.rank(raw)
        self._rank.observe(raw)
        if self._seq["payment"] % self._learn_every == 0:
            self._detector.learn_one(small)
        return rank

    def score(
        self, event: Payment | Login, features: Features, hits: list[RuleHit], evidence: list[str]
    ) -> ModelScore:
        """`hits`: the evidence hits (rules, lists) for the prior; `evidence`: their
        classifier input names."""
        event_type = "payment" if isinstance(event, Payment) else "login"
        self._seq[event_type] += 1
        x = vector(event, features)
        if isinstance(event, Payment):
            # Payments only: what is anomalous about a login (failures, new device, travel)
            # is already in its features, and the detector is the costliest step here.
            rank = self._anomaly(x, event.attributes)
            term = anomaly_prior(rank, self._rank.seen, self.priors)
        else:
            rank, term = _NEUTRAL_RANK, None
        before = prior(hits, features, self.priors, term)
        keys = [*evidence, *before.signals]
        ts = event.ts.timestamp()
        bundle = self.champion.for_event(ts)
        # Logged whether or not they are model inputs: a fraud label's counterparties are
        # also what the risk-list proposer counts (scoring.lists.proposer).
        cp_keys = parties(event)
        if bundle is not None and self.counterparty_inputs:
            # Counterparty fraud rates as of the snapshot: logged with x, so learning sees them too.
            x.update(bundle.counterparties.features(cp_keys, self.counterparty_inputs, ts))
        learned = bundle.predict(event_type, x, rank, keys, before.value) if bundle else None
        shadow = None
        if self.challenger is not None and self._bucket(event.event_id) < self.shadow_share:
            # Shadow scores on a sample show the challenger's alert mix; its quality is
            # measured on every label, prequentially, by the learner.
            shadow = self.challenger.for_event(ts)
        shadow_p = shadow.predict(event_type, x, rank, keys, before.value) if shadow else None
        session = str(features.get("session_login_id", "")) if event_type == "payment" else ""
        record = LoggedEvent(
            event_type,
            ts,
            event.account_id,
            x,
            rank,
            before.value,
            cp_keys,
            evidence=keys,
            seq=self._seq[event_type],
            session_login=session,
        )
        return ModelScore(
            bundle.version if bundle and learned is not None else None,
            learned if learned is not None else before.value,
            before,
            learned,
            rank,
            shadow.version if shadow and shadow_p is not None else None,
            shadow_p,
            record,
        )
