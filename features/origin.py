"""Where an event comes from, across accounts: the state behind the IP and device stages.

An *origin* is something many accounts' events can come from (an IP address, a device). One
`OriginState` per origin value holds, bounded whatever the traffic:

- failed logins from it per minute bucket, for the last hour (at most 61 buckets);
- the accounts seen from it, as 64-bit hashes with the last time each was seen and the
  minute buckets of its own recent failures: at most `accounts_cap` of them, the least
  recently seen dropped first;
- only where the origin has a `<name>_device_rotation_1h` feature: logins per minute bucket
  and how many of them came with a device missing or new to the origin, and the devices seen
  from it (hashes, last second seen: at most `devices_cap`, none older than a day).

Windows are in event time and bucketed by the minute, like the account's long windows
(features/windows.py): the bucket holding the window's old edge counts whole, so a window
may reach back up to one minute further; the recent edge stops at the event's own minute,
and a failed login counts for the events after it, not for itself.

Adding an origin is a declaration: its features in the catalogue under `ENTITY_OF` (named
`<name>_failed_logins_1h` and so on: the state fills the ones listed), an `OriginState`
subclass naming its `Origin`, and an `Entity` from `origin_entity`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar, Final, TypeVar

import msgspec

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import ENTITY_OF, Features
from riskflow.features.entity import Entity
from riskflow.features.ids import id_hash

__all__ = ["Origin", "OriginConfig", "OriginState", "origin_entity"]

MINUTE: Final = 60.0
HOUR_BUCKETS: Final = 60
"""Minute buckets before the event's own in the 1 h window (61 with it)."""
SHORT_BUCKETS: Final = 5
"""Minute buckets before the event's own in the 5 min window."""
HORIZON_S: Final = (HOUR_BUCKETS + 1) * MINUTE
"""The longest window with its bucket slack: older history is dropped."""
ROTATION_MIN_LOGINS: Final = 3
"""Fewer logins in the hour give a device rotation of 0: an origin's first login always
brings a device new to it, so one or two logins say nothing about rotating."""
DEVICE_MEMORY_S: Final = 86400
"""A device unseen from the origin this long is new to it again (a live origin's state is
itself dropped after a day idle, so a replay forgets alike)."""


@dataclass(frozen=True, slots=True)
class Origin:
    """An origin's name (its `ENTITY_OF` entity and its features' prefix) and key."""

    name: str
    key: Callable[[Payment | Login], str | None]
    features: tuple[str, ...] = field(init=False)
    """Its features, in catalogue order."""
    _names: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        names = tuple(n for n, e in ENTITY_OF.items() if e == self.name)
        object.__setattr__(self, "features", names)
        prefix = f"{self.name}_"
        object.__setattr__(self, "_names", {n.removeprefix(prefix): n for n in names})

    def neutral(self) -> Features:
        """The features of an event without this origin, or one the stage failed on."""
        return dict.fromkeys(self.features, 0)

    def named(self, suffix: str) -> str | None:
        """`<name>_<suffix>` when the catalogue lists it, else None (not computed)."""
        return self._names.get(suffix)


class OriginConfig(msgspec.Struct, frozen=True, kw_only=True):
    accounts_cap: int = 64
    """Most accounts an origin remembers: `<name>_accounts_1h` saturates here."""
    own_failure_buckets_cap: int = 8
    """Most minute buckets of one account's own failures kept (older ones merge forward)."""
    devices_cap: int = 16
    """Most devices an origin remembers for its device rotation; past it the least recently
    seen is forgotten and counts as new if it comes back, so a flood of devices reads as
    rotation rather than growing the state."""


class _Snapshot(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False):
    """The stored form. Fields only ever get added, each with a default, so a snapshot of an
    older version still loads; bucket numbers are minutes since the epoch."""

    newest: int = 0
    """Newest event minute seen."""
    fails: dict[int, int] = {}
    """Failed logins from the origin per minute bucket."""
    seen: dict[int, int] = {}
    """Account hash -> last second it was seen from the origin."""
    own: dict[int, list[tuple[int, int]]] = {}
    """Account hash -> (minute, failed logins) of its own recent failures from the origin."""
    logins: dict[int, int] = {}
    """Logins per minute bucket (only with a device rotation feature)."""
    rotated: dict[int, int] = {}
    """Logins per minute bucket with a device missing or new to the origin."""
    devices: dict[int, int] = {}
    """Device hash -> last second it was seen from the origin."""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Snapshot)

St = TypeVar("St", bound="OriginState")


class OriginState:
    """Everything riskflow remembers about one origin value, bounded in size and in event
    time. A subclass names its `Origin`."""

    origin: ClassVar[Origin]

    __slots__ = ("cfg", "devices", "fails", "logins", "newest", "own", "rotated", "seen")

    def __init__(self, cfg: OriginConfig | None = None) -> None:
        self.cfg = cfg or OriginConfig()
        self.newest = 0
        self.fails: dict[int, int] = {}
        self.seen: dict[int, int] = {}
        self.own: dict[int, list[tuple[int, int]]] = {}
        self.logins: dict[int, int] = {}
        self.rotated: dict[int, int] = {}
        self.devices: dict[int, int] = {}

    def observe(self, event: Payment | Login) -> Features:
        """The origin's features for `event` from the history before it, then the event
        absorbed."""
        origin = self.origin
        t = event.ts.timestamp()
        second = int(t)
        minute = math.floor(t / MINUTE)
        account = id_hash(event.account_id)
        failed_5m = failed_1h = 0
        # Over the buckets held (most origins have none) rather than the 61 the window spans.
        for m, n in self.fails.items():
            back = minute - m
            if 0 <= back <= HOUR_BUCKETS:
                failed_1h += n
                if back <= SHORT_BUCKETS:
                    failed_5m += n
        since = t - HOUR_BUCKETS * MINUTE
        accounts = sum(1 for a, last in self.seen.items() if last > since and a != account) + 1
        failed_login = isinstance(event, Login) and not event.success
        elsewhere = 0
        if not failed_login:
            first = minute - HOUR_BUCKETS
            mine = sum(n for m, n in self.own.get(account, ()) if first <= m <= minute)
            elsewhere = max(0, failed_1h - mine)
        values: dict[str | None, float | int] = {
            origin.named("failed_logins_5m"): failed_5m,
            origin.named("failed_logins_1h"): failed_1h,
            origin.named("accounts_1h"): min(accounts, self.cfg.accounts_cap),
            origin.named("failures_elsewhere_1h"): elsewhere,
        }
        rotation = origin.named("device_rotation_1h")
        if rotation is not None:
            values[rotation] = self._rotation(minute)
            if isinstance(event, Login):
                self._absorb_device(event.device_id, second, minute)
        features: Features = {name: v for name, v in values.items() if name is not None}
        self._absorb(account, second, minute, failed_login)
        return features

    def _rotation(self, minute: int) -> float:
        logins = self.logins
        first = minute - HOUR_BUCKETS
        total = sum(n for m, n in logins.items() if first <= m <= minute)
        if total < ROTATION_MIN_LOGINS:
            return 0.0
        rotated = sum(n for m, n in self.rotated.items() if first <= m <= minute)
        return min(1.0, rotated / total)

    def _absorb_device(self, device_id: str | None, second: int, minute: int) -> None:
        self.logins[minute] = self.logins.get(minute, 0) + 1
        devices = self.devices
        device = id_hash(device_id) if device_id else None
        known = device is not None and second - devices.get(device, -DEVICE_MEMORY_S - 1) < (
            DEVICE_MEMORY_S
        )
        if not known:
            self.rotated[minute] = self.rotated.get(minute, 0) + 1
        if device is not None and devices.get(device, -1) < second:
            devices[device] = second
            over = len(devices) - self.cfg.devices_cap
            if over > 0:
                # The least recently seen go first; ties by hash, so any replay drops the same.
                for _, d in sorted((last, d) for d, last in devices.items())[:over]:
                    del devices[d]

    def _absorb(self, account: int, second: int, minute: int, failed: bool) -> None:
        seen = self.seen
        if seen.get(account, -1) < second:
            seen[account] = second
        if failed:
            self.fails[minute] = self.fails.get(minute, 0) + 1
            mine = self.own.setdefault(account, [])
            if mine and mine[-1][0] == minute:
                mine[-1] = (minute, mine[-1][1] + 1)
            else:
                mine.append((minute, 1))
                mine.sort()
            while len(mine) > self.cfg.own_failure_buckets_cap:
                # Merged into the newer bucket: the account's own count is kept whole and
                # lasts a little longer, so "failures elsewhere" can only be under-counted.
                (_, a), (m, b) = mine[0], mine[1]
                mine[:2] = [(m, a + b)]
        advanced = minute > self.newest
        if advanced:
            self.newest = minute
        # Only a new minute, an event older than the window or one account too many can make
        # anything prunable: the other events skip the sweep and the state is the same.
        late = minute < self.newest - HOUR_BUCKETS - 1
        if advanced or late or len(seen) > self.cfg.accounts_cap:
            self._prune()

    def _prune(self) -> None:
        oldest = self.newest - HOUR_BUCKETS - 1
        for buckets in (self.fails, self.logins, self.rotated):
            for m in [m for m in buckets if m < oldest]:
                del buckets[m]
        devices = self.devices
        forget = self.newest * int(MINUTE) - DEVICE_MEMORY_S
        for d in [d for d, last in devices.items() if last < forget]:
            del devices[d]
        seen = self.seen
        cutoff = oldest * MINUTE
        stale = [a for a, last in seen.items() if last < cutoff]
        over = len(seen) - len(stale) - self.cfg.accounts_cap
        if over > 0:
            # The least recently seen go first; ties by hash, so any replay drops the same.
            live = sorted((last, a) for a, last in seen.items() if last >= cutoff)
            stale += [a for _, a in live[:over]]
        own = self.own
        for a in stale:
            del seen[a]
            own.pop(a, None)
        for a, mine in list(own.items()):
            kept = [(m, n) for m, n in mine if m >= oldest]
            if not kept:
                del own[a]
            elif len(kept) < len(mine):
                own[a] = kept

    @property
    def empty(self) -> bool:
        return not self.seen

    def to_bytes(self) -> bytes:
        return _encoder.encode(
            _Snapshot(
                self.newest,
                self.fails,
                self.seen,
                self.own,
                self.logins,
                self.rotated,
                self.devices,
            )
        )

    @classmethod
    def from_bytes(cls: type[St], blob: bytes, cfg: OriginConfig | None = None) -> St:
        snap = _decoder.decode(blob)
        state = cls(cfg)
        state.newest = snap.newest
        state.fails, state.seen, state.own = snap.fails, snap.seen, snap.own
        state.logins, state.rotated, state.devices = snap.logins, snap.rotated, snap.devices
        return state


def origin_entity(state: type[St], cfg: OriginConfig | None = None) -> Entity[St]:
    """The entity of an `OriginState` subclass, for `entity_stage`."""
    conf = cfg or OriginConfig()
    origin = state.origin
    return Entity(
        name=origin.name,
        key=origin.key,
        new=lambda: state(conf),
        load=lambda blob: state.from_bytes(blob, conf),
        neutral=origin.neutral,
    )
