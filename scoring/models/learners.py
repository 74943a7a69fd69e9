"""The model recipes: a supervised classifier per event type, named in config, and a detector.

A recipe is a River estimator, or a class with River's `learn_one` /
`predict_proba_one`. The flow's default (`models.recipe` in config) is `blend`: the
scaled logistic regression (`logistic`, a few microseconds as one weighted sum once
frozen) beside gradient-boosted trees refitted on the recent labels (`boosted`), their
log-odds averaged. On the public benchmarks the blend met every target where each part
alone missed one (docs/performance.md). River's forests (`amf`, `arf`) cost a
millisecond per event and are kept for comparison. Fraud is rare, so fraud labels weigh
more when the classifier learns to rank; the bundle (`scoring.models.bundle`) takes that
weight back out of its odds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from river import anomaly, compose, forest, linear_model, optim, preprocessing

from riskflow.scoring.models.distance import StandardizedDistance
from riskflow.scoring.models.scaling import IndicatorScaler

__all__ = ["DETECTORS", "RECIPES", "WEIGHTED_RECIPES", "anomaly_detector", "classifier"]


def _logistic(learning_rate: float, seed: int) -> Any:
    return IndicatorScaler() | linear_model.LogisticRegression(
        optimizer=optim.SGD(learning_rate), l2=1e-3
    )


def _amf(learning_rate: float, seed: int) -> Any:
    return forest.AMFClassifier(n_estimators=10, use_aggregation=True, dirichlet=0.5, seed=seed)


def _arf(learning_rate: float, seed: int) -> Any:
    return forest.ARFClassifier(n_models=10, seed=seed)


def _boosted(learning_rate: float, seed: int) -> Any:
    # Imported here: LightGBM is loaded only by flows that name the recipe.
    from riskflow.scoring.models.boosted import BoostedTrees, TreeParams

    return BoostedTrees(TreeParams(seed=seed))


def _blend(learning_rate: float, seed: int) -> Any:
    from riskflow.scoring.models.blend import Blend
    from riskflow.scoring.models.boosted import BoostedTrees, TreeParams

    return Blend(_logistic(learning_rate, seed), BoostedTrees(TreeParams(seed=seed)))


RECIPES: Final[dict[str, Callable[[float, int], Any]]] = {
    "logistic": _logistic,
    "amf": _amf,
    "arf": _arf,
    "boosted": _boosted,
    "blend": _blend,
}
"""Recipe name -> factory(learning_rate, seed)."""

WEIGHTED_RECIPES: Final = frozenset({"logistic", "arf", "boosted", "blend"})
"""Recipes whose `learn_one` takes a sample weight."""


def classifier(recipe: str = "logistic", learning_rate: float = 0.01, seed: int = 42) -> Any:
    try:
        factory = RECIPES[recipe]
    except KeyError:
        raise ValueError(f"unknown model recipe {recipe!r}; known: {sorted(RECIPES)}") from None
    return factory(learning_rate, seed)


DETECTORS: Final = ("distance", "hst")


def anomaly_detector(kind: str = "distance", seed: int = 42) -> Any:
    """`distance`: standardised distance from the typical event (the default: it ranked
    fraud better on every benchmark, docs/performance.md); `hst`: River's half-space
    trees over min-max scaled inputs."""
    if kind == "distance":
        return StandardizedDistance()
    if kind == "hst":
        return compose.Pipeline(
            preprocessing.MinMaxScaler(),
            anomaly.HalfSpaceTrees(n_trees=8, height=6, window_size=250, seed=seed),
        )
    raise ValueError(f"unknown anomaly detector {kind!r}; known: {list(DETECTORS)}")
