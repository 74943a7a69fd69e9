"""Logistic regression and boosted trees side by side, their log-odds averaged.

The two fail differently: the weighted sum learns from its first labels and generalises
from few frauds (the ULB stream's 492), the trees find thresholds and interactions once
there are enough labels to split on (the handbook's fixed amount limit, a terminal's
fraud rate). Averaging their log-odds keeps the ranking of whichever knows more, and
while the trees have not been fitted yet the score is the regression's alone.
"""

from __future__ import annotations

from typing import Any

from riskflow.scoring.models.boosted import BoostedTrees
from riskflow.scoring.models.logit import logit, sigmoid

__all__ = ["Blend"]


class Blend:
    """`learn_one` / `predict_proba_one` as River's classifiers; both parts learn every label."""

    def __init__(self, linear: Any, trees: BoostedTrees) -> None:
        self.linear = linear
        self.trees = trees

    def learn_one(self, x: dict[str, float], y: bool, w: float = 1.0) -> None:
        self.linear.learn_one(x, y, w=w)
        self.trees.learn_one(x, y, w=w)

    def predict_proba_one(self, x: dict[str, float]) -> dict[bool, float]:
        p = float(self.linear.predict_proba_one(x).get(True, 0.0))
        if self.trees.model:
            q = self.trees.predict_proba_one(x)[True]
            p = sigmoid((logit(p, 1e-9) + logit(q, 1e-9)) / 2.0)
        return {False: 1.0 - p, True: p}
