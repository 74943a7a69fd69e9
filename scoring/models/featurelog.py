"""The feature log: what each decision saw, kept by `event_id` until its label arrives."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Sequence
from typing import Protocol

import msgspec

from riskflow.scoring.models.vectors import Vector

__all__ = [
    "FeatureLog",
    "LoggedEvent",
    "MemoryFeatureLog",
    "decode",
    "encode",
    "encode_with_outcome",
]


class LoggedEvent(msgspec.Struct, frozen=True, array_like=True):
    event_type: str
    ts: float
    account_id: str
    x: Vector
    anomaly: float
    """The anomaly detector's rank of the event, in [0, 1) (0.5 when not scored)."""
    rules: float
    """The prior at decision time (`scoring.priors`): a classifier input, and what the
    risk is blended from while the model is still earning trust."""
    parties: list[str] = []
    """The event's counterparties (`payee:X`, ...): the label teaches about them too."""
    action: str = ""
    """What was decided: with `branch_id`, a label on an alerted event is its disposition."""
    branch_id: str = ""
    rule_ids: list[str] = []
    """Rules that fired, so each label also measures their precision."""
    evidence: list[str] = []
    """Stacker inputs that fired: `rule:ID`, `watch:ENTITY`, `deny:ENTITY`, `signal:CODE`."""
    seq: int = 0
    """Ordinal of the event among the events of its type this process scored (label rates)."""
    session_login: str = ""
    """A payment's session: the event_id of the login that opened it, so its label
    teaches the login head too."""


encode = msgspec.msgpack.Encoder().encode


def encode_with_outcome(
    record: LoggedEvent, action: str, branch_id: str, rule_ids: list[str]
) -> bytes:
    """The record as stored: the model inputs plus what was decided about the event."""
    return encode(
        msgspec.structs.replace(record, action=action, branch_id=branch_id, rule_ids=rule_ids)
    )


decode = msgspec.msgpack.Decoder(LoggedEvent).decode


class FeatureLog(Protocol):
    def put_many(self, records: Iterable[tuple[str, bytes]]) -> None: ...

    def get_many(self, event_ids: Sequence[str]) -> list[bytes | None]: ...


class MemoryFeatureLog:
    """For backtests and tests: the newest `cap` records, oldest evicted first."""

    def __init__(self, cap: int = 2_000_000) -> None:
        self.cap = cap
        self._records: OrderedDict[str, bytes] = OrderedDict()

    def put_many(self, records: Iterable[tuple[str, bytes]]) -> None:
        store = self._records
        for event_id, blob in records:
            store[event_id] = blob
        while len(store) > self.cap:
            store.popitem(last=False)

    def get_many(self, event_ids: Sequence[str]) -> list[bytes | None]:
        return [self._records.get(e) for e in event_ids]
