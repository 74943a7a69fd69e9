"""Logistic regression and boosted trees side by side, their log-odds averaged.

The two fail differently: the weighted sum learns from its first labels and generalises
from few frauds (the ULB stream's 492), the trees find thresholds and interactions once
there are enough labels to split on (the handbook's fixed amount limit, a terminal's
fraud rate). Averaging their log-odds keeps the ranking of whichever knows more. Trees
fitted on a few thousand labels rank worse than the regression (docs/performance.md,
`riskflow bench models`), so until they have been fitted on `trees_after_labels` labels
with `trees_after_frauds` frauds among them the score is the regression's alone.
"""

from __future__ import annotations

from typing import Any

from riskflow.scoring.models.boosted import BoostedTrees
from riskflow.scoring.models.logit import logit, sigmoid

__all__ = ["Blend"]


class Blend:
    """`learn_one` / `predict_proba_one` as River's classifiers; both parts learn every label."""

    def __init__(
        self,
        linear: Any,
        trees: BoostedTrees,
        trees_after_labels: int = 5000,
        trees_after_frauds: int = 50,
    ) -> None:
        self.linear = linear
        self.trees = trees
        self.trees_after_labels = trees_after_labels
        self.trees_after_frauds = trees_after_frauds

    @property
    def trees_join(self) -> bool:
        t = self.trees
        return (
            bool(t.model)
            and t.fitted_rows >= self.trees_after_labels
            and t.fitted_frauds >= self.trees_after_frauds
        )

    def learn_one(self, x: dict[str, float], y: bool, w: float = 1.0) -> None:
        self.linear.learn_one(x, y, w=w)
        self.trees.learn_one(x, y, w=w)

    def predict_proba_one(self, x: dict[str, float]) -> dict[bool, float]:
        p = float(self.linear.predict_proba_one(x).get(True, 0.0))
        if self.trees_join:
            q = self.trees.predict_proba_one(x)[True]
            p = sigmoid((logit(p, 1e-9) + logit(q, 1e-9)) / 2.0)
        return {False: 1.0 - p, True: p}
