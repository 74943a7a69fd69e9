"""Which model store, feature log, scorer and learner a flow is built with."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from riskflow.connectors.redis_client import redis_client
from riskflow.contract import topics
from riskflow.flows.config import ConfigError, FileInput, ModelsSettings, Settings, SimulatorInput
from riskflow.scoring.models.featurelog import FeatureLog
from riskflow.scoring.models.holder import ModelHolder
from riskflow.scoring.models.learning import Learner, LearnerConfig
from riskflow.scoring.models.refit_thread import fit_in_background
from riskflow.scoring.models.scorer import ModelScorer
from riskflow.scoring.models.signing import SigningKeyError, SnapshotSigner, read_keys
from riskflow.scoring.models.spilled_log import SpilledFeatureLog
from riskflow.scoring.models.store import MemoryModelStore, ModelStore

__all__ = ["Models", "build_models", "snapshot_signer"]


@dataclass(frozen=True)
class Models:
    store: ModelStore
    log: FeatureLog
    scorer: ModelScorer
    config: LearnerConfig

    def learner(self) -> Learner:
        return Learner(self.store, self.log, self.config)


def _feedback_source(settings: Settings) -> str:
    """The name dead letters give the labels' source, as the parser names it."""
    source = settings.input
    if isinstance(source, FileInput):
        return Path(source.feedback).name if source.feedback else "feedback"
    if isinstance(source, SimulatorInput):
        return topics.FEEDBACK
    return settings.kafka.topics.feedback


def snapshot_signer(conf: ModelsSettings, env: Mapping[str, str] | None = None) -> SnapshotSigner:
    """The configured snapshot keys, or a one-line ConfigError that never shows a key."""
    try:
        return read_keys(
            conf.signing_key_env, conf.signing_key_file, os.environ if env is None else env
        )
    except SigningKeyError as exc:
        raise ConfigError(str(exc)) from None


def build_models(settings: Settings) -> Models | None:
    conf = settings.models
    if not conf.enabled:
        return None
    store: ModelStore
    log: FeatureLog
    if conf.backend == "redis":
        if settings.redis is None:
            raise ValueError("models.backend 'redis' needs a redis section (or REDIS_URL)")
        from riskflow.connectors.models_redis import RedisFeatureLog, RedisModelStore

        client = redis_client(settings.redis)
        prefix = settings.redis.key_prefix
        store = RedisModelStore(client, prefix, signer=snapshot_signer(conf))
        log = RedisFeatureLog(client, prefix, ttl_s=int(conf.feature_log_ttl_days * 86400))
    else:
        store = MemoryModelStore()
        log = SpilledFeatureLog(conf.feature_log_cap, hot=conf.feature_log_in_memory)
    replay = isinstance(settings.input, FileInput | SimulatorInput)
    config = LearnerConfig(
        every_labels=conf.every_labels,
        every_s=conf.every_s,
        hold_s=conf.hold_s,
        # A replay is in event-time order and must be deterministic: label time only.
        hold_wall_s=None if replay else conf.hold_wall_s,
        challenger="challenger" if conf.challenger else None,
        recipe=conf.recipe,
        fraud_label_share=conf.fraud_label_share,
        legit_label_share=conf.legit_label_share,
        learning_rate=conf.learning_rate,
        challenger_learning_rate=conf.challenger_learning_rate,
        counterparty_slots=conf.counterparty_slots if conf.counterparty_features else 0,
        feedback_source=_feedback_source(settings),
    )
    # Live, a refit of the trees on a full window takes seconds: off the flow's thread.
    fit_in_background(not replay)
    # A replay runs months in minutes: look for a newer snapshot before every event.
    holder = partial(
        ModelHolder,
        store,
        check_interval_s=0.0 if replay else conf.check_interval_s,
        background=not replay,
    )
    scorer = ModelScorer(
        holder(config.champion),
        holder(config.challenger) if config.challenger else None,
        priors=settings.priors,
        holdout_share=conf.holdout_share,
        counterparty_inputs=frozenset(conf.counterparty_features),
        detector=conf.detector,
    )
    return Models(store, log, scorer, config)
