"""How fast each fraud scenario is caught: from an incident's first fraudulent event to the
first one that was challenged, reviewed or blocked, in time and in events let through.

An incident is one account's fraud of one scenario, unless the truth names a burst: a card
testing burst across many stolen cards is one attack, and counting it per card would count
each card's one or two tries as an incident that no rule could have stopped sooner."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import median

__all__ = ["EARLY_SHARE", "FIRST_TESTS", "FraudEvent", "Incident", "detection_latency", "incidents"]

STOPPING = frozenset({"challenge", "review", "block"})
INCIDENT_GAP_S = 86400.0
"""Fraud on one account more than a day after the last is a new incident."""
FIRST_TESTS = 10
"""A burst is stopped in time when one of its first this many tests is: a fraudster
testing cards learns from the first declines which cards are live."""
EARLY_SHARE = f"stopped_within_{FIRST_TESTS}_share"
"""The `detection_latency` key of the share of bursts stopped within their first tests."""


@dataclass(frozen=True, slots=True)
class FraudEvent:
    event_id: str
    account_id: str
    scenario: str
    ts: float
    burst: str = ""
    """The attack across accounts it belongs to, from the truth; empty for most scenarios."""


@dataclass(frozen=True, slots=True)
class Incident:
    scenario: str
    account_id: str
    """The account of a one-account incident; a burst's first account."""
    events: tuple[FraudEvent, ...]
    burst: str = ""


def incidents(events: Iterable[FraudEvent]) -> list[Incident]:
    groups: dict[tuple[str, str, str], list[FraudEvent]] = defaultdict(list)
    for e in events:
        groups[(e.burst, "" if e.burst else e.account_id, e.scenario)].append(e)
    out: list[Incident] = []
    for (burst, _, scenario), group in groups.items():
        group.sort(key=lambda e: e.ts)
        current = [group[0]]
        for e in group[1:]:
            if e.ts - current[-1].ts > INCIDENT_GAP_S:
                out.append(Incident(scenario, current[0].account_id, tuple(current), burst))
                current = []
            current.append(e)
        out.append(Incident(scenario, current[0].account_id, tuple(current), burst))
    return out


def detection_latency(
    found: list[Incident], actions: Mapping[str, str]
) -> dict[str, dict[str, float]]:
    """Per scenario: incidents, share detected, median minutes and events let through; for
    a scenario whose incidents are bursts, also the share stopped within the first tests."""
    per: dict[str, list[tuple[float, int] | None]] = defaultdict(list)
    bursts: set[str] = set()
    for incident in found:
        if incident.burst:
            bursts.add(incident.scenario)
        first = incident.events[0].ts
        hit = None
        for passed, e in enumerate(incident.events):
            if actions.get(e.event_id) in STOPPING:
                hit = ((e.ts - first) / 60.0, passed)
                break
        per[incident.scenario].append(hit)
    out: dict[str, dict[str, float]] = {}
    for scenario, hits in sorted(per.items()):
        caught = [h for h in hits if h is not None]
        out[scenario] = {
            "incidents": len(hits),
            "detected_share": len(caught) / len(hits),
            "median_minutes": median(m for m, _ in caught) if caught else float("nan"),
            "median_events_let_through": median(n for _, n in caught) if caught else float("nan"),
        }
        if scenario in bursts:
            early = sum(1 for _, n in caught if n < FIRST_TESTS)
            out[scenario][EARLY_SHARE] = early / len(hits)
    return out
