"""From an event's features to the numeric vector the models read.

The vector is what the feature log keeps per `event_id`, so a label arriving
weeks later trains on exactly what the model saw at decision time.
"""

from __future__ import annotations

import math
from typing import Final

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import FEATURES, Features

__all__ = ["ANOMALY_INPUTS", "Vector", "vector"]

Vector = dict[str, float]

_SKIP: Final = frozenset({"event_type", "channel", "txn_type", "auth_method", "hour"})
_BOUNDED: Final = frozenset({"hour_share"})
# (name, squash): booleans and shares as they are; counts, sums, ratios and z-scores on a
# signed log scale, so that one honest but extreme value (a 50-sigma purchase) cannot swamp
# a linear model learning online.
_NUMERIC: Final[tuple[tuple[str, bool], ...]] = tuple(
    (name, kind is not bool and name not in _BOUNDED)
    for name, (kind, _) in FEATURES.items()
    if kind in (int, float, bool) and name not in _SKIP
)
_PLAIN: Final = tuple(name for name, squash in _NUMERIC if not squash)
_SQUASHED: Final = tuple(name for name, squash in _NUMERIC if squash)

ANOMALY_INPUTS: Final[tuple[str, ...]] = (
    "amount",
    "amount_zscore",
    "amount_ratio_to_max",
    "pay_count_1h",
    "distinct_payees_24h",
    "failed_logins_1h",
    "travel_kmh",
    "hour_share",
    "is_new_payee",
    "is_new_device",
    "is_new_ip",
    "is_night",
)
"""The few inputs the anomaly detector reads: it is costed per event, unlike the classifier."""


def vector(event: Payment | Login, features: Features) -> Vector:
    """Numbers only: booleans as 0/1, magnitudes on a signed log scale, categories and amount
    bins one-hot."""
    x: Vector = {}
    log1p = math.log1p
    get = features.get
    for name in _PLAIN:
        value = get(name)
        if value is not None:
            x[name] = float(value)
    for name in _SQUASHED:
        value = get(name)
        if value is not None:
            v = float(value)
            x[name] = log1p(v) if v >= 0.0 else -log1p(-v)
    amount = float(features.get("amount", 0.0))
    if amount > 0.0:
        # Quarter-octave bins: a linear model can learn a threshold on the amount itself
        # (a card scheme's limit, a fraud ring's favourite sum), not only a slope on its log.
        x[f"amount_bin={math.floor(4.0 * math.log2(amount))}"] = 1.0
    x[f"channel={features.get('channel', '')}"] = 1.0
    x[f"auth={features.get('auth_method', '')}"] = 1.0
    if isinstance(event, Payment):
        x[f"txn={event.txn_type}"] = 1.0
        for key, value in (event.attributes or {}).items():
            if math.isfinite(value):
                x[f"attr.{key}"] = math.copysign(log1p(abs(value)), value)
    return x
