"""Each worker's in-memory copy of the risk lists, and screening an event against it.

Precedence, strongest first:

1. **deny** blocks; nothing overrides it.
2. **allow** (always with an expiry) silences the rules it names, or watch
   hits with `suppress: [watch]`, for its entity: the tool against repeated
   false positives on a known-good customer, device or merchant.
3. **watch** asks for review or a challenge, optionally only on some
   channels or from some amount.

Expired entries are ignored at lookup, so an expiry takes effect the moment
it passes, without a restart or a sweep.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from riskflow.contract.masking import mask_id, mask_text
from riskflow.contract.messages import Login, Payment, Reason
from riskflow.scoring.lists.entries import ENTITIES, ListEntry, entry_id, normal_ip

__all__ = ["ListIndex", "Screening", "list_reason"]

_Net = ipaddress.IPv4Network | ipaddress.IPv6Network


CLEAR_ENTITIES = frozenset({"merchant", "terminal"})
"""Listed entities named in clear in a hit's detail: businesses, not customers."""


def list_reason(entry: ListEntry) -> Reason:
    """The reason of a hit: it reaches alerts, decisions and Redis, so a customer's
    account, payee, device or IP in it is masked (`contract.masking`)."""
    until = f", until {entry.expires_at.isoformat()}" if entry.expires_at else ""
    shown = entry.value if entry.entity in CLEAR_ENTITIES else mask_id(entry.value)
    return Reason(
        f"{entry.kind.upper()}_{entry.entity.upper()}",
        f"{entry.entity} {shown} on the {entry.kind} list "
        f"(entry {entry_id(entry.kind, entry.entity, shown)}, "
        f"source {entry.source}, by {entry.created_by}{until}): {mask_text(entry.reason)}",
    )


@dataclass(frozen=True, slots=True)
class Screening:
    deny: tuple[ListEntry, ...] = ()
    watch: tuple[ListEntry, ...] = ()
    """Watch entries that apply to this event and are not silenced by an allow entry."""
    allow: tuple[ListEntry, ...] = ()
    suppressed_rules: frozenset[str] = frozenset()


_NOTHING = Screening()
_EMPTY: dict[str, ListEntry] = {}
_FLAGS = {entity: f"{entity}_listed" for entity in ENTITIES}


def _address(value: str) -> tuple[int, int] | None:
    """(version, integer) of an IP address; inet_pton is several times faster than ipaddress."""
    family, version = (socket.AF_INET6, 6) if ":" in value else (socket.AF_INET, 4)
    try:
        return version, int.from_bytes(socket.inet_pton(family, value), "big")
    except OSError:
        return None


class ListIndex:
    def __init__(self, entries: Iterable[ListEntry] = ()) -> None:
        self._exact: dict[tuple[str, str], dict[str, ListEntry]] = {}
        # (ip version, prefix length) -> network address -> entries; one dict probe per length.
        self._nets: dict[tuple[int, int], dict[int, dict[str, ListEntry]]] = {}
        self._ids: dict[str, ListEntry] = {}
        for entry in entries:
            self.put(entry)

    def __len__(self) -> int:
        return len(self._ids)

    def entries(self) -> list[ListEntry]:
        return list(self._ids.values())

    def get(self, entry_id: str) -> ListEntry | None:
        return self._ids.get(entry_id)

    def put(self, entry: ListEntry) -> None:
        self.remove(entry.id)
        self._ids[entry.id] = entry
        network = self._network(entry)
        if network is None:
            self._exact.setdefault((entry.entity, entry.value), {})[entry.kind] = entry
        else:
            slot = self._nets.setdefault((network.version, network.prefixlen), {})
            slot.setdefault(int(network.network_address), {})[entry.id] = entry

    def remove(self, entry_id: str) -> bool:
        entry = self._ids.pop(entry_id, None)
        if entry is None:
            return False
        network = self._network(entry)
        if network is None:
            bucket = self._exact.get((entry.entity, entry.value), {})
            bucket.pop(entry.kind, None)
            if not bucket:
                self._exact.pop((entry.entity, entry.value), None)
        else:
            key = (network.version, network.prefixlen)
            slot = self._nets.get(key, {})
            nets = slot.get(int(network.network_address), {})
            nets.pop(entry.id, None)
            if not nets:
                slot.pop(int(network.network_address), None)
            if not slot:
                self._nets.pop(key, None)
        return True

    @staticmethod
    def _network(entry: ListEntry) -> _Net | None:
        if entry.entity != "ip" or "/" not in entry.value:
            return None
        return ipaddress.ip_network(entry.value, strict=False)

    def lookup(self, entity: str, value: str, now: float) -> list[ListEntry]:
        bucket = self._exact.get((entity, value))
        found = [e for e in bucket.values() if e.active(now)] if bucket else []
        if entity == "ip" and self._nets:
            found += self._in_ranges(value, now)
        return found

    def _in_ranges(self, value: str, now: float) -> list[ListEntry]:
        parsed = _address(value)
        if parsed is None:
            return []
        version, as_int = parsed
        bits = 32 if version == 4 else 128
        found = []
        for (net_version, length), slot in self._nets.items():
            if net_version == version:
                shift = bits - length
                for e in slot.get(as_int >> shift << shift, _EMPTY).values():
                    if e.active(now):
                        found.append(e)
        return found

    def screen(self, event: Payment | Login, features: dict[str, Any], now: float) -> Screening:
        """Set the `*_listed` (deny) features and return what the lists say about the event."""
        if isinstance(event, Payment):
            candidates = (
                ("account", event.account_id),
                ("payee", event.payee_account),
                ("device", event.device_id),
                ("ip", event.ip),
                ("merchant", event.merchant_id),
                ("terminal", event.terminal_id),
            )
            amount = event.amount
        else:
            candidates = (
                ("account", event.account_id),
                ("payee", None),
                ("device", event.device_id),
                ("ip", event.ip),
                ("merchant", None),
                ("terminal", None),
            )
            amount = 0.0
        if not self._ids:
            for entity, _ in candidates:
                features[_FLAGS[entity]] = False
            return _NOTHING
        deny: list[ListEntry] = []
        watch: list[ListEntry] = []
        allow: list[ListEntry] = []
        exact = self._exact
        for entity, value in candidates:
            listed = False
            if entity == "ip" and value is not None and ":" in value:
                value = normal_ip(value)
            if value is not None and ((entity, value) in exact or (entity == "ip" and self._nets)):
                for entry in self.lookup(entity, value, now):
                    if entry.kind == "deny":
                        deny.append(entry)
                        listed = True
                    elif entry.kind == "allow":
                        allow.append(entry)
                    elif (entry.channels is None or event.channel in entry.channels) and (
                        entry.min_amount is None or amount >= entry.min_amount
                    ):
                        watch.append(entry)
            features[_FLAGS[entity]] = listed
        if not (deny or watch or allow):
            return _NOTHING
        suppressed = frozenset(rule for entry in allow for rule in entry.suppress)
        if "watch" in suppressed:
            # An allow entry silences watch hits on its own entity only (the event's device,
            # say, however the watch entry matched it: exactly or by range).
            quiet = {e.entity for e in allow if "watch" in e.suppress}
            watch = [w for w in watch if w.entity not in quiet]
        return Screening(tuple(deny), tuple(watch), tuple(allow), suppressed)
