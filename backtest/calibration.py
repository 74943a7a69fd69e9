"""Is the score a probability? Reliability bins, expected calibration error, Brier score.

Bins are fixed edges spaced roughly evenly in log-odds (0.01%, 0.03%, 0.1%, ... 50% ...
99%), not quantiles. Fraud is rare, so nearly every payment scores low: ten quantile bins
would spend nine on scores below the alert thresholds and lump everything a branch ever sees
into the top tenth. Log-odds edges resolve the rare-event region (0.01% to 10%) and the
decision region near 1 alike, and the same edges for every run let two runs be read bin by
bin. A bin with no payments is listed with nulls so tables line up.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["EDGES", "Calibration", "ReliabilityBin", "reliability", "wilson"]

EDGES: tuple[float, ...] = (
    0.0,
    1e-4,
    3e-4,
    1e-3,
    3e-3,
    0.01,
    0.03,
    0.1,
    0.3,
    0.5,
    0.7,
    0.9,
    0.97,
    0.99,
    1.0,
)
"""Bin edges: [low, high) each, the last bin [0.99, 1] closed."""

_Z95 = 1.959963984540054


@dataclass(frozen=True, slots=True)
class ReliabilityBin:
    low: float
    high: float
    count: int
    frauds: int
    mean_score: float | None
    observed: float | None
    """Share of the bin's payments that were fraud."""
    observed_low: float | None
    observed_high: float | None
    """95% Wilson interval of `observed`: a bin with 3 frauds says little, and this shows it."""


@dataclass(frozen=True, slots=True)
class Calibration:
    payments: int
    frauds: int
    base_rate: float | None
    brier: float | None
    """Mean squared difference between score and outcome (0 is perfect)."""
    brier_base_rate: float | None
    """Brier of always predicting the base rate: what a score must beat to carry information."""
    brier_skill: float | None
    """1 - brier / brier_base_rate: above 0 is better than the base rate."""
    ece: float | None
    """Expected calibration error: count-weighted mean |observed - mean score| over the bins."""
    bins: tuple[ReliabilityBin, ...]


def wilson(successes: int, n: int, z: float = _Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion; sane at 0 and n successes, unlike p ± z·se."""
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    # The interval always holds p; computed apart from it, its ends can miss by a rounding
    # error (at n of n successes the top came out 0.9999999999999999).
    return min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))


def reliability(
    scores: Sequence[float], labels: Sequence[bool], edges: Sequence[float] = EDGES
) -> Calibration:
    if len(scores) != len(labels):
        raise ValueError("scores and labels differ in length")
    bins = len(edges) - 1
    counts = [0] * bins
    frauds = [0] * bins
    sums = [0.0] * bins
    squared = 0.0
    for score, fraud in zip(scores, labels, strict=True):
        # Clamped: the last bin holds 1.0 itself, the first anything at or below 0.
        i = min(max(bisect_right(edges, score) - 1, 0), bins - 1)
        counts[i] += 1
        frauds[i] += fraud
        sums[i] += score
        squared += (score - fraud) ** 2
    n = len(scores)
    positives = sum(frauds)
    out: list[ReliabilityBin] = []
    gap = 0.0
    for i in range(bins):
        if counts[i] == 0:
            out.append(ReliabilityBin(edges[i], edges[i + 1], 0, 0, None, None, None, None))
            continue
        mean, observed = sums[i] / counts[i], frauds[i] / counts[i]
        low, high = wilson(frauds[i], counts[i])
        out.append(
            ReliabilityBin(edges[i], edges[i + 1], counts[i], frauds[i], mean, observed, low, high)
        )
        gap += counts[i] * abs(observed - mean)
    if n == 0:
        return Calibration(0, 0, None, None, None, None, None, tuple(out))
    base = positives / n
    brier = squared / n
    reference = base * (1 - base)
    return Calibration(
        payments=n,
        frauds=positives,
        base_rate=base,
        brier=brier,
        brier_base_rate=reference,
        brier_skill=1 - brier / reference if reference > 0 else None,
        ece=gap / n,
        bins=tuple(out),
    )
