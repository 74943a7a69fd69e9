"""A proposal: a list entry riskflow suggests from confirmed fraud labels, held for the risk team.

A payee named in several confirmed frauds from different victims is what the
shared risk-account databases of police and partner banks collect by hand; the
flow sees it first. A proposal is never screened on: it waits, `pending`, until
someone accepts it (it becomes an ordinary entry with source `model`, as a watch
entry or, with `--as deny`, a deny entry) or rejects it. Every step is audited.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec

from riskflow.scoring.lists.entries import Entity, ListEntry, ListKind, Value

__all__ = [
    "EVIDENCE_EVENTS",
    "Evidence",
    "Proposal",
    "ProposalStatus",
    "proposal_id",
]

ProposalStatus = Literal["pending", "accepted", "rejected"]
ZonedTime = Annotated[datetime, msgspec.Meta(tz=True)]

EVIDENCE_EVENTS: Final = 20
"""Most labelled event ids a proposal carries: enough to open the cases, bounded."""


def proposal_id(entity: str, value: str, crossing_event_id: str) -> str:
    """Named after the label that made the count: a replayed label gives the same id."""
    digest = hashlib.sha256(f"{entity}\x00{value}\x00{crossing_event_id}".encode()).hexdigest()
    return f"p-{digest[:16]}"


class Evidence(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    frauds: int
    """Confirmed fraud labels naming the entity within the window."""
    victims: int
    """Distinct accounts among them; the accounts themselves are not copied here."""
    event_ids: list[str]
    """The labelled events, newest last (at most `EVIDENCE_EVENTS`)."""
    first_at: ZonedTime
    last_at: ZonedTime


class Proposal(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    id: str
    entity: Entity
    value: Value
    kind: ListKind = msgspec.field(default="watch", name="list")
    action: Literal["challenge", "review"] = "review"
    reason: str
    evidence: Evidence
    proposed_at: ZonedTime
    """Label time of the label that made the count."""
    expires_at: ZonedTime
    """The expiry of the entry it becomes."""
    status: ProposalStatus = "pending"
    decided_by: str | None = None
    decided_at: ZonedTime | None = None
    why: str | None = None
    accepted_as: ListKind | None = None

    @property
    def entry_id(self) -> str:
        return f"{self.kind}:{self.entity}:{self.value}"

    def entry(
        self,
        *,
        kind: ListKind | None = None,
        actor: str,
        now: datetime,
        expires_at: datetime | None = None,
    ) -> ListEntry:
        """The list entry accepting it makes (as proposed, or as `kind`)."""
        ev = self.evidence
        return ListEntry(
            entity=self.entity,
            value=self.value,
            kind=kind or self.kind,
            reason=f"proposal {self.id}: {self.reason} ({ev.frauds} frauds, {ev.victims} victims)",
            source="model",
            created_by=actor,
            created_at=now,
            expires_at=expires_at or self.expires_at,
            action=self.action,
        ).validate()
