"""Prequential quality: every label is first predicted, then learned, and scored here.

Rolling windows of the last `window` labelled predictions per (role, event
type): ROC AUC, average precision and precision at the top `k`, computed
exactly on the window.
"""

from __future__ import annotations

from collections import deque

__all__ = ["Prequential", "average_precision", "precision_at_k", "roc_auc"]


def average_precision(scores: list[float], labels: list[bool]) -> float:
    """Mean of precision at each positive, ranking by score (ties broken pessimistically)."""
    ranked = sorted(zip(scores, labels, strict=True), key=lambda sl: (-sl[0], sl[1]))
    hits, total = 0, 0.0
    for rank, (_, positive) in enumerate(ranked, start=1):
        if positive:
            hits += 1
            total += hits / rank
    return total / hits if hits else float("nan")


def precision_at_k(scores: list[float], labels: list[bool], k: int) -> float:
    """Fraud share among the `k` highest scores (ties broken pessimistically)."""
    ranked = sorted(zip(scores, labels, strict=True), key=lambda sl: (-sl[0], sl[1]))[:k]
    return sum(y for _, y in ranked) / len(ranked) if ranked else float("nan")


def roc_auc(scores: list[float], labels: list[bool]) -> float:
    """Probability a random positive outscores a random negative (ties count half)."""
    pos = sorted(s for s, y in zip(scores, labels, strict=True) if y)
    neg = sorted(s for s, y in zip(scores, labels, strict=True) if not y)
    if not pos or not neg:
        return float("nan")
    wins = 0.0
    i = j = 0
    # For each positive, count negatives below it and ties at it, walking both sorted lists.
    for p in pos:
        while i < len(neg) and neg[i] < p:
            i += 1
        j = max(j, i)
        while j < len(neg) and neg[j] == p:
            j += 1
        wins += i + (j - i) / 2
    return wins / (len(pos) * len(neg))


class Prequential:
    """Rolling-window metrics, recomputed every `every` labels (a window sort is not free)."""

    def __init__(self, window: int = 2000, every: int = 50, k: int = 50) -> None:
        self.window = window
        self.every = every
        self.k = k
        self._seen: dict[tuple[str, str], deque[tuple[float, bool]]] = {}
        self._count: dict[tuple[str, str], int] = {}

    def add(
        self, role: str, event_type: str, score: float, fraud: bool
    ) -> tuple[float, float, float] | None:
        """Record one prediction; every `every` labels, the window's (ROC AUC, AP, P@k)."""
        key = (role, event_type)
        seen = self._seen.setdefault(key, deque(maxlen=self.window))
        seen.append((score, fraud))
        self._count[key] = count = self._count.get(key, 0) + 1
        if count % self.every:
            return None
        scores = [s for s, _ in seen]
        labels = [y for _, y in seen]
        return (
            roc_auc(scores, labels),
            average_precision(scores, labels),
            precision_at_k(scores, labels, self.k),
        )
