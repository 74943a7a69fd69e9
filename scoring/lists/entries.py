"""A list entry: who or what is listed, on which list, by whom, why and until when."""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec

__all__ = [
    "ENTITIES",
    "LIST_KINDS",
    "Entity",
    "ListChange",
    "ListEntry",
    "ListKind",
    "entry_id",
    "normal_ip",
]

Entity = Literal["account", "payee", "device", "ip", "merchant", "terminal"]
ListKind = Literal["deny", "watch", "allow"]
Source = Literal["police", "partner_bank", "internal", "branch", "model"]
"""`model`: proposed by riskflow from confirmed fraud labels, accepted by the risk team."""
ENTITIES: Final[tuple[str, ...]] = ("account", "payee", "device", "ip", "merchant", "terminal")
LIST_KINDS: Final[tuple[str, ...]] = ("deny", "watch", "allow")

Value = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
ZonedTime = Annotated[datetime, msgspec.Meta(tz=True)]


def normal_ip(value: str) -> str:
    """One spelling per address or range (`2001:DB8::1` and `2001:db8::1` are one address)."""
    if "/" in value:
        return ipaddress.ip_network(value, strict=False).compressed
    try:
        return ipaddress.ip_address(value).compressed
    except ValueError:
        return value  # not an address: listed as written, matched as written


def entry_id(kind: str, entity: str, value: str) -> str:
    return f"{kind}:{entity}:{value}"


class ListEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    entity: Entity
    value: Value
    """The listed account id, device id, IP or CIDR range (`203.0.113.0/24`), ..."""
    kind: ListKind = msgspec.field(name="list")
    """deny, watch or allow (named `list` in JSON and CSV)."""
    reason: str
    source: Source
    created_by: str
    created_at: ZonedTime
    expires_at: ZonedTime | None = None
    """Required for allow entries, optional otherwise."""
    action: Literal["challenge", "review"] = "review"
    """Watch entries: what a hit asks for."""
    channels: list[str] | None = None
    """Watch entries: only these channels (None = every channel)."""
    min_amount: float | None = None
    """Watch entries: only payments of at least this amount."""
    suppress: list[str] = msgspec.field(default_factory=list)
    """Allow entries: rule ids to silence for this entity; "watch" silences watch hits."""

    @property
    def id(self) -> str:
        return entry_id(self.kind, self.entity, self.value)

    def active(self, now: float) -> bool:
        return self.expires_at is None or self.expires_at.timestamp() > now

    def validate(self) -> ListEntry:
        if self.kind == "allow":
            if self.expires_at is None:
                raise ValueError("allow entries must have an expiry")
            if not self.suppress:
                raise ValueError("allow entries must name what they suppress")
        if self.channels is not None and not self.channels:
            # An empty list would read back from CSV as "every channel".
            raise ValueError("channels, when given, must name at least one channel")
        if self.entity == "ip":
            return msgspec.structs.replace(self, value=normal_ip(self.value))
        return self


class ListChange(msgspec.Struct, frozen=True, kw_only=True):
    """A message on the control topic: every worker applies it to its copy."""

    op: Literal["add", "remove", "sync"]
    entry: ListEntry | None = None
    entry_id: str | None = None
