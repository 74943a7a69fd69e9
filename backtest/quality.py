"""Ranking quality of payments, grouped so each group holds enough fraud to mean something.

A learner publishing a snapshot every 200 labels leaves thousands of model versions with a
handful of frauds each: an AUC per version is noise. Quality is grouped instead by event day
(in the bank's zone) and by how many labels the scoring model had learned, read from the
version string (`champion-12345`, `champion-12345.from-challenger-...`); the per-version
table keeps only versions with enough fraud and says how many it left out.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable

from riskflow.backtest.metrics import ALERTING, STOPPING, Scored
from riskflow.scoring.models.prequential import average_precision, roc_auc

__all__ = [
    "BANDS",
    "MIN_FRAUDS_PER_VERSION",
    "by_day",
    "by_label_band",
    "by_model_version",
    "label_band",
    "labels_learned",
]

BANDS: tuple[str, ...] = ("rules-only", "cold", "<1k", "1k-10k", "10k-100k", ">=100k", "other")
"""Label-count bands in reading order; `other` holds versions that name no label count."""

MIN_FRAUDS_PER_VERSION = 20

# A model name (letters, maybe hyphenated) then the labels learned; what follows the number
# (".from-challenger-120", "+from-...") says where the snapshot came from, not how much it knows.
_VERSION = re.compile(r"^[A-Za-z_]+(?:-[A-Za-z_]+)*-(\d+)(?=$|[.+-])")


def labels_learned(version: str) -> int | None:
    """The label count in a model version string, or None when it names none."""
    match = _VERSION.match(version)
    return int(match.group(1)) if match else None


def label_band(version: str) -> str:
    if version in ("rules-only", "cold"):
        return version
    labels = labels_learned(version)
    if labels is None:
        return "other"
    if labels < 1_000:
        return "<1k"
    if labels < 10_000:
        return "1k-10k"
    if labels < 100_000:
        return "10k-100k"
    return ">=100k"


def _finite(value: float) -> float | None:
    # No fraud (or no legitimate payment) in a group leaves AUC and AP undefined: null, not NaN.
    return value if math.isfinite(value) else None


def _quality(group: list[Scored]) -> dict[str, float | int | None]:
    scores = [r.score for r in group]
    labels = [r.fraud for r in group]
    return {
        "payments": len(group),
        "frauds": sum(labels),
        "roc_auc": _finite(roc_auc(scores, labels)),
        "average_precision": _finite(average_precision(scores, labels)),
        "non_allow_share": sum(r.action in STOPPING for r in group) / len(group),
        "alert_rate": sum(r.action in ALERTING for r in group) / len(group),
    }


def by_day(rows: Iterable[Scored]) -> dict[str, dict[str, float | int | None]]:
    """Per event day: payments, frauds, ROC AUC, AP and the share challenged/reviewed/blocked."""
    groups: dict[str, list[Scored]] = defaultdict(list)
    for row in rows:
        groups[row.day].append(row)
    return {day: _quality(groups[day]) for day in sorted(groups)}


def by_label_band(rows: Iterable[Scored]) -> dict[str, dict[str, float | int | None]]:
    """Per band of labels learned by the scoring model, bands in BANDS order, empty ones left
    out; `versions` is how many model versions fell in the band."""
    groups: dict[str, list[Scored]] = defaultdict(list)
    for row in rows:
        groups[label_band(row.model_version)].append(row)
    out: dict[str, dict[str, float | int | None]] = {}
    for band in BANDS:
        if band in groups:
            group = groups[band]
            out[band] = {"versions": len({r.model_version for r in group}), **_quality(group)}
    return out


def by_model_version(
    rows: Iterable[Scored], min_frauds: int = MIN_FRAUDS_PER_VERSION
) -> tuple[list[dict[str, object]], dict[str, int]]:
    """Quality of each model version that scored at least `min_frauds` frauds, in the order
    the versions first scored; and what was left out (versions, payments, frauds)."""
    groups: dict[str, list[Scored]] = defaultdict(list)
    for row in rows:
        groups[row.model_version].append(row)
    kept: list[dict[str, object]] = []
    left = {"min_frauds": min_frauds, "versions": 0, "payments": 0, "frauds": 0}
    for version, group in sorted(groups.items(), key=lambda kv: min(r.ts for r in kv[1])):
        if sum(r.fraud for r in group) >= min_frauds:
            kept.append({"model_version": version, **_quality(group)})
        else:
            left["versions"] += 1
            left["payments"] += len(group)
            left["frauds"] += sum(r.fraud for r in group)
    return kept, left
