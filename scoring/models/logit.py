"""Logits, and a small online logistic regression with an offset.

`OnlineLogit` was the stacker over the classifier's output; the classifier now reads
the evidence itself (`scoring.models.bundle`). It stays so that snapshots published
before can still be read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

__all__ = ["OnlineLogit", "logit", "sigmoid"]

_CLIP = 30.0
_EPS = 1e-8


def sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-min(z, _CLIP)))
    e = math.exp(max(z, -_CLIP))
    return e / (1.0 + e)


def logit(p: float, eps: float = 1e-6) -> float:
    p = min(max(p, eps), 1.0 - eps)
    return math.log(p / (1.0 - p))


@dataclass
class OnlineLogit:
    """`p = sigmoid(offset + b + w·x)`, learned by RMSProp with L2 on the weights.

    RMSProp rather than AdaGrad: fraud drifts, and AdaGrad's steps shrink for ever; each
    weight's own gradient scale still lets a rare rule learn as fast as a common input.
    """

    learning_rate: float = 0.01
    l2: float = 1e-4
    decay: float = 0.999
    weights: dict[str, float] = field(default_factory=dict)
    bias: float = 0.0
    _g2: dict[str, float] = field(default_factory=dict)
    _g2_bias: float = 0.0

    def decision(self, x: dict[str, float], offset: float = 0.0) -> float:
        w = self.weights
        z = offset + self.bias
        for name, value in x.items():
            z += w.get(name, 0.0) * value
        return z

    def predict(self, x: dict[str, float], offset: float = 0.0) -> float:
        return sigmoid(self.decision(x, offset))

    def learn(self, x: dict[str, float], y: bool, offset: float = 0.0, weight: float = 1.0) -> None:
        g = (self.predict(x, offset) - float(y)) * weight
        lr, l2, w, g2, rho = self.learning_rate, self.l2, self.weights, self._g2, self.decay
        self._g2_bias = rho * self._g2_bias + (1.0 - rho) * g * g
        self.bias -= lr * g / math.sqrt(self._g2_bias + _EPS)
        for name, value in x.items():
            grad = g * value + l2 * w.get(name, 0.0)
            acc = rho * g2.get(name, 0.0) + (1.0 - rho) * grad * grad
            g2[name] = acc
            w[name] = w.get(name, 0.0) - lr * grad / math.sqrt(acc + _EPS)
