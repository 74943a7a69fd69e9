"""Online standardisation that keeps one-hot inputs.

River's `StandardScaler` keeps a mean and variance per input over the events where the
input is present. A one-hot input (an amount bin, a channel, a transaction type) is only
ever present as 1, so its variance stays 0 and it is scaled to 0: the classifier could
never learn a weight for it. This scaler passes such an input through as it is.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from river import preprocessing

__all__ = ["IndicatorScaler", "is_indicator"]


def is_indicator(mean: float, var: float) -> bool:
    """Every value seen was 1: a one-hot input, present or absent."""
    return var == 0.0 and mean == 1.0


class IndicatorScaler(preprocessing.StandardScaler):
    """`StandardScaler` for inputs that vary; one-hot inputs unscaled; other constants 0."""

    def transform_one(self, x: dict[Hashable, Any]) -> dict[Hashable, Any]:
        means, vars_ = self.means, self.vars
        out: dict[Hashable, Any] = {}
        for name, value in x.items():
            var = vars_[name]
            mean = means[name]
            if var:
                out[name] = (value - mean) / var**0.5
            else:
                out[name] = value if is_indicator(mean, var) else 0.0
        return out
