"""How fast each fraud scenario is caught: from an incident's first fraudulent event to the
first one that was challenged, reviewed or blocked, in time and in events let through."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import median

__all__ = ["FraudEvent", "Incident", "detection_latency", "incidents"]

STOPPING = frozenset({"challenge", "review", "block"})
INCIDENT_GAP_S = 86400.0
"""Fraud on one account more than a day after the last is a new incident."""


@dataclass(frozen=True, slots=True)
class FraudEvent:
    event_id: str
    account_id: str
    scenario: str
    ts: float


@dataclass(frozen=True, slots=True)
class Incident:
    scenario: str
    account_id: str
    events: tuple[FraudEvent, ...]


def incidents(events: Iterable[FraudEvent]) -> list[Incident]:
    by_account: dict[tuple[str, str], list[FraudEvent]] = defaultdict(list)
    for e in events:
        by_account[(e.account_id, e.scenario)].append(e)
    out: list[Incident] = []
    for (account, scenario), group in by_account.items():
        group.sort(key=lambda e: e.ts)
        current = [group[0]]
        for e in group[1:]:
            if e.ts - current[-1].ts > INCIDENT_GAP_S:
                out.append(Incident(scenario, account, tuple(current)))
                current = []
            current.append(e)
        out.append(Incident(scenario, account, tuple(current)))
    return out


def detection_latency(
    found: list[Incident], actions: Mapping[str, str]
) -> dict[str, dict[str, float]]:
    """Per scenario: incidents, share detected, median minutes and events let through."""
    per: dict[str, list[tuple[float, int] | None]] = defaultdict(list)
    for incident in found:
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
    return out
