"""Priors: what each piece of evidence is worth before labels say otherwise.

The decision's score is a probability of fraud. Before a model has learned from
labels, it is this prior: each fired rule or list hit contributes the probability
its severity stands for, a few weak signals contribute small amounts, and the
anomaly detector's rank contributes base-rate odds multiplied by how rare the event
looks (one event in a thousand: a thousand times the odds). They combine as
independent evidence (a noisy-OR), so the prior is explainable term by term. Every
term is explicit in config (`priors:`), and every term is also an input of the
classifier (`scoring.models.bundle`), which learns from labels what it is really worth
on this bank's traffic. Policy is not evidence: a limit step-up or a lock decides an
action and never enters here.
"""

from __future__ import annotations

import math
from typing import Final

import msgspec

from riskflow.contract.messages import Reason
from riskflow.features.catalog import Features
from riskflow.scoring.rules.ruleset import RuleHit

__all__ = ["SEVERITY_RANK", "Prior", "Priors", "anomaly_prior", "prior"]

SEVERITY_RANK: Final = {"low": 0, "medium": 1, "high": 2, "critical": 3}


class Priors(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    severity: dict[str, float] = msgspec.field(
        default_factory=lambda: {"low": 0.01, "medium": 0.10, "high": 0.65, "critical": 0.95}
    )
    """Probability of fraud that one fired rule of each severity stands for: on the policy's
    default thresholds a low rule alone allows, a medium one challenges, a high one reviews
    and a critical one blocks."""
    base_rate: float = 0.002
    """Probability of fraud of an event nothing is known about."""
    anomaly_power: float = 1.0
    """Odds multiplier = (1 / (1 - anomaly rank)) ** anomaly_power."""
    anomaly_cap: float = 0.5
    """The anomaly term saturates smoothly below this probability: rarity alone asks
    for a challenge at most."""
    weak_signals: bool = True
    """Amount far above the profile, new device, unusual hour, login failures."""

    def __post_init__(self) -> None:
        if set(self.severity) != set(SEVERITY_RANK):
            raise ValueError(f"priors.severity needs exactly {sorted(SEVERITY_RANK)}")
        if not all(0.0 <= w < 1.0 for w in self.severity.values()):
            raise ValueError("priors.severity weights must be in [0, 1)")
        if not 0.0 < self.base_rate < 0.5 or not 0.0 < self.anomaly_cap < 1.0:
            raise ValueError("priors.base_rate must be in (0, 0.5), anomaly_cap in (0, 1)")


class Prior(msgspec.Struct, frozen=True):
    value: float
    reasons: list[Reason]
    """Ordered by weight, heaviest first."""
    signals: list[str]
    """Stacker input names of the weak signals that fired (`signal:CODE`)."""


def _weak_signals(f: Features) -> list[tuple[float, Reason]]:
    out: list[tuple[float, Reason]] = []
    z = float(f["amount_zscore"])
    if z >= 3.0:
        weight = min(0.03, 0.005 * z)
        out.append((weight, Reason("AMOUNT_ANOMALY", f"amount is {z:.1f} std above the profile")))
    if f["is_new_payee"] and float(f["amount_ratio_to_max"]) > 1.5:
        out.append((0.01, Reason("NEW_PAYEE_LARGE", "new payee and above the largest past amount")))
    if f["is_new_device"] and f["event_type"] == "payment":
        out.append((0.008, Reason("NEW_DEVICE", "payment from a device never used before")))
    if f["hour_unusual"] and f["event_type"] == "payment":
        out.append((0.005, Reason("UNUSUAL_HOUR", f"hour {f['hour']} is unusual for the account")))
    fails = int(f["failed_logins_1h"])
    if fails >= 2:
        out.append((min(0.02, 0.004 * fails), Reason("LOGIN_FAILURES", f"{fails} failed logins")))
    return out


def anomaly_prior(rank: float, seen: int, priors: Priors) -> float:
    """Base-rate odds times the event's rarity, saturating below `anomaly_cap`.

    Rarity is 1 / (1 - rank), divided by its mean over the ranks seen (ln n for
    n scores), so that, knowing nothing yet of how telling the detector is, the prior
    still averages the base rate: a typical payment gets less than the base rate,
    one in a thousand gets about a thousand / ln n times its odds.
    """
    n = max(seen, 2)
    rarity = 1.0 / max(1.0 - rank, 1.0 / (n + 1.0))
    power = priors.anomaly_power
    mean = math.log(n + 1.0) if power == 1.0 else _mean_rarity(n, power)
    odds = priors.base_rate / (1.0 - priors.base_rate) * rarity**power / mean
    p = odds / (1.0 + odds)
    cap = priors.anomaly_cap
    return cap * (1.0 - math.exp(-p / cap))


def _mean_rarity(n: int, power: float) -> float:
    """Mean of (1 / (1 - r)) ** power for r uniform on [0, 1 - 1/(n+1)]."""
    top = (n + 1.0) ** (power - 1.0)
    return (top - 1.0) / (power - 1.0) if power != 1.0 else math.log(n + 1.0)


def prior(hits: list[RuleHit], f: Features, priors: Priors, anomaly: float | None = None) -> Prior:
    """Combine rule hits, weak signals and the anomaly term (`anomaly_prior`) as a noisy-OR."""
    weighted: list[tuple[float, Reason]] = [
        (priors.severity.get(h.severity, priors.severity["medium"]), Reason(h.reason, h.detail))
        for h in hits
    ]
    weak = _weak_signals(f) if priors.weak_signals else []
    weighted.extend(weak)
    keep = 1.0 - (priors.base_rate if anomaly is None else anomaly)
    for weight, _ in weighted:
        keep *= 1.0 - weight
    weighted.sort(key=lambda wr: -wr[0])
    return Prior(1.0 - keep, [r for _, r in weighted], [f"signal:{r.code}" for _, r in weak])
