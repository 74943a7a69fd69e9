"""Where snapshots are published and found: one interface, a memory and a Redis backend."""

from __future__ import annotations

import bisect
import hashlib
import threading
from dataclasses import dataclass
from typing import Protocol

from riskflow.scoring.models.bundle import Snapshot

__all__ = ["MemoryModelStore", "ModelStore", "Promotion", "promote", "promote_newest"]


class ModelStore(Protocol):
    def publish(self, name: str, snapshot: Snapshot) -> None: ...

    def newest(self, name: str) -> tuple[str, float] | None:
        """(version, as_of) of the newest snapshot, cheaply."""
        ...

    def since(self, name: str, as_of: float) -> list[Snapshot]:
        """Snapshots newer than `as_of`, oldest first."""
        ...

    def promote(self, challenger: str, champion: str) -> str:
        """Make the newest `challenger` snapshot the newest `champion` one; returns its version."""
        ...


class MemoryModelStore:
    """In-process store for backtests and tests; keeps the last `keep` snapshots per name."""

    def __init__(self, keep: int = 16) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._snaps: dict[str, list[Snapshot]] = {}

    def publish(self, name: str, snapshot: Snapshot) -> None:
        with self._lock:
            snaps = self._snaps.setdefault(name, [])
            if snaps and snaps[-1].version == snapshot.version:
                return  # a replay republishing the same version
            keys = [s.as_of for s in snaps]
            snaps.insert(bisect.bisect_right(keys, snapshot.as_of), snapshot)
            del snaps[: max(0, len(snaps) - self.keep)]

    def newest(self, name: str) -> tuple[str, float] | None:
        snaps = self._snaps.get(name)
        return (snaps[-1].version, snaps[-1].as_of) if snaps else None

    def since(self, name: str, as_of: float) -> list[Snapshot]:
        return [s for s in self._snaps.get(name, []) if s.as_of > as_of]

    def promote(self, challenger: str, champion: str) -> str:
        return promote(self, challenger, champion)


@dataclass(frozen=True, slots=True)
class Promotion:
    """What a promotion changed, for its audit record."""

    version: str
    """The new champion's version."""
    source: str
    """The challenger version it was made from."""
    previous: str
    """The champion version it replaced ("" when there was none)."""
    sha256: str
    """Of the new champion snapshot's data."""


def promote(store: ModelStore, challenger: str, champion: str) -> str:
    """Publish the newest challenger as the newest champion; returns the new version."""
    return promote_newest(store, challenger, champion).version


def promote_newest(store: ModelStore, challenger: str, champion: str) -> Promotion:
    """`promote`, telling what it replaced."""
    snaps = store.since(challenger, -1.0)
    if not snaps:
        raise KeyError(f"no {challenger} snapshot to promote")
    source = snaps[-1].version
    bundle = snaps[-1].load()
    bundle.origin = f".from-{bundle.version}"
    bundle.name = champion
    current = store.newest(champion)
    # The promoted model must be the newest champion, or workers would not switch to it.
    bundle.as_of = max(bundle.as_of, current[1] if current else 0.0)
    snap = bundle.to_snapshot()
    store.publish(champion, snap)
    digest = hashlib.sha256(snap.blob).hexdigest() if snap.blob is not None else ""
    return Promotion(snap.version, source, current[0] if current else "", digest)
