"""Per-IP state across accounts: the first entity stage after the account (features/entity.py).

One `IPState` per IP address holds, bounded whatever the traffic:

- failed logins from the IP per minute bucket, for the last hour (at most 61 buckets);
- the accounts seen from the IP, as 64-bit hashes with the last time each was seen and the
  minute buckets of its own recent failures: at most `accounts_cap` of them, the least
  recently seen dropped first.

Windows are in event time and bucketed by the minute, like the account's long windows
(features/windows.py): the bucket holding the window's old edge counts whole, so a window
may reach back up to one minute further; the recent edge stops at the event's own minute,
and a failed login counts for the events after it, not for itself.
"""

from __future__ import annotations

import hashlib
import math
from typing import Final

import msgspec

from riskflow.contract.messages import Login, Payment
from riskflow.features.catalog import ENTITY_OF, Features
from riskflow.features.entity import Entity

__all__ = ["IP_FEATURES", "IPConfig", "IPState", "ip_entity", "ip_key", "neutral"]

MINUTE: Final = 60.0
HOUR_BUCKETS: Final = 60
"""Minute buckets before the event's own in the 1 h window (61 with it)."""
SHORT_BUCKETS: Final = 5
"""Minute buckets before the event's own in the 5 min window."""
HORIZON_S: Final = (HOUR_BUCKETS + 1) * MINUTE
"""The longest window with its bucket slack: older history is dropped."""

IP_FEATURES: Final = tuple(name for name, entity in ENTITY_OF.items() if entity == "ip")


def neutral() -> Features:
    """The IP features of an event with no IP, or one the stage failed on."""
    return dict.fromkeys(IP_FEATURES, 0)


def ip_key(event: Payment | Login) -> str | None:
    """The entity key: the event's IP, None when it has none."""
    return event.ip or None


class IPConfig(msgspec.Struct, frozen=True, kw_only=True):
    accounts_cap: int = 64
    """Most accounts an IP remembers: `ip_accounts_1h` saturates here."""
    own_failure_buckets_cap: int = 8
    """Most minute buckets of one account's own failures kept (older ones merge forward)."""


def _account_hash(account_id: str) -> int:
    return int.from_bytes(hashlib.blake2b(account_id.encode(), digest_size=8).digest(), "big")


class _Snapshot(msgspec.Struct, omit_defaults=True, forbid_unknown_fields=False):
    """The stored form. Fields only ever get added, each with a default, so a snapshot of an
    older version still loads; bucket numbers are minutes since the epoch."""

    newest: int = 0
    """Newest event minute seen."""
    fails: dict[int, int] = {}
    """Failed logins from the IP per minute bucket."""
    seen: dict[int, int] = {}
    """Account hash -> last second it was seen from the IP."""
    own: dict[int, list[tuple[int, int]]] = {}
    """Account hash -> (minute, failed logins) of its own recent failures from the IP."""


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(_Snapshot)


class IPState:
    """Everything riskflow remembers about one IP, bounded in size and in event time."""

    __slots__ = ("cfg", "fails", "newest", "own", "seen")

    def __init__(self, cfg: IPConfig | None = None) -> None:
        self.cfg = cfg or IPConfig()
        self.newest = 0
        self.fails: dict[int, int] = {}
        self.seen: dict[int, int] = {}
        self.own: dict[int, list[tuple[int, int]]] = {}

    def observe(self, event: Payment | Login) -> Features:
        """The IP features of `event` from the history before it, then the event absorbed."""
        t = event.ts.timestamp()
        minute = math.floor(t / MINUTE)
        account = _account_hash(event.account_id)
        fails = self.fails
        failed_5m = sum(fails.get(minute - i, 0) for i in range(SHORT_BUCKETS + 1))
        failed_1h = failed_5m + sum(
            fails.get(minute - i, 0) for i in range(SHORT_BUCKETS + 1, HOUR_BUCKETS + 1)
        )
        since = t - HOUR_BUCKETS * MINUTE
        accounts = sum(1 for a, last in self.seen.items() if last > since and a != account) + 1
        failed_login = isinstance(event, Login) and not event.success
        elsewhere = 0
        if not failed_login:
            first = minute - HOUR_BUCKETS
            mine = sum(n for m, n in self.own.get(account, ()) if first <= m <= minute)
            elsewhere = max(0, failed_1h - mine)
        features: Features = {
            "ip_failed_logins_5m": failed_5m,
            "ip_failed_logins_1h": failed_1h,
            "ip_accounts_1h": min(accounts, self.cfg.accounts_cap),
            "ip_failures_elsewhere_1h": elsewhere,
        }
        self._absorb(account, int(t), minute, failed_login)
        return features

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
        if minute > self.newest:
            self.newest = minute
        self._prune()

    def _prune(self) -> None:
        oldest = self.newest - HOUR_BUCKETS - 1
        fails = self.fails
        for m in [m for m in fails if m < oldest]:
            del fails[m]
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
        return _encoder.encode(_Snapshot(self.newest, self.fails, self.seen, self.own))

    @classmethod
    def from_bytes(cls, blob: bytes, cfg: IPConfig | None = None) -> IPState:
        snap = _decoder.decode(blob)
        state = cls(cfg)
        state.newest = snap.newest
        state.fails, state.seen, state.own = snap.fails, snap.seen, snap.own
        return state


def ip_entity(cfg: IPConfig | None = None) -> Entity[IPState]:
    """The IP entity, for `entity_stage`."""
    conf = cfg or IPConfig()
    return Entity(
        name="ip",
        key=ip_key,
        new=lambda: IPState(conf),
        load=lambda blob: IPState.from_bytes(blob, conf),
        neutral=neutral,
    )
