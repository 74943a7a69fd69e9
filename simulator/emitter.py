"""Builds contract messages and releases them in event-time order.

Sessions and scenarios schedule events at future times (a takeover's
transfers follow its logins by minutes, a chargeback follows a payment by
weeks); a heap releases them in time order, so the stream interleaves
payments, logins and labels exactly as a bank's pipeline would see them.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass
from typing import Any

import msgspec

from riskflow.contract import topics
from riskflow.simulator.bank import Customer
from riskflow.simulator.geography import CITIES
from riskflow.simulator.timefmt import Stamper

__all__ = ["Emitter", "Pending", "SimRecord"]

_encode = msgspec.json.encode
TOPIC = {"payment": topics.PAYMENTS, "login": topics.LOGINS, "feedback": topics.FEEDBACK}


@dataclass(frozen=True, slots=True)
class SimRecord:
    """One message as the bank's pipeline would publish it."""

    kind: str
    """`payment`, `login` or `feedback`."""
    topic: str
    key: str
    """The account id: the Kafka key."""
    payload: bytes
    ts: float
    """Event time, epoch seconds."""


@dataclass(slots=True)
class Pending:
    kind: str
    key: str
    body: dict[str, Any]
    truth: dict[str, Any] | None


class Emitter:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.stamp = Stamper()
        self.heap: list[tuple[float, int, Pending]] = []
        self._seq = 0
        self._ids = {"P": 0, "L": 0, "F": 0}

    def _next_id(self, prefix: str) -> str:
        self._ids[prefix] += 1
        return f"{prefix}{self._ids[prefix]:09d}"

    def _push(self, t: float, pending: Pending) -> None:
        self._seq += 1
        heapq.heappush(self.heap, (t, self._seq, pending))

    def place(self, city: int) -> tuple[float, float]:
        _, lat, lon = CITIES[city]
        rng = self.rng
        return round(lat + rng.uniform(-0.05, 0.05), 4), round(lon + rng.uniform(-0.05, 0.05), 4)

    @staticmethod
    def truth(
        event_id: str, c: Customer, kind: str, scenario: str, details: dict[str, Any] | None
    ) -> dict[str, Any]:
        truth = {
            "event_id": event_id,
            "account_id": c.account_id,
            "kind": kind,
            "scenario": scenario,
            "is_fraud": True,
        }
        if details:
            truth["details"] = details
        return truth

    def login(
        self,
        c: Customer,
        t: float,
        *,
        success: bool,
        channel: str = "mobile",
        device: str | None = None,
        ip: str | None = None,
        city: int | None = None,
        auth: str = "password",
        scenario: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> str:
        event_id = self._next_id("L")
        body: dict[str, Any] = {
            "event_id": event_id,
            "ts": self.stamp(t),
            "account_id": c.account_id,
            "channel": channel,
            "success": success,
            "auth_method": auth,
            "branch_id": c.branch_id,
        }
        if not success:
            body["failure_reason"] = "bad_password"
        if device is not None:
            body["device_id"] = device
        if ip is not None:
            body["ip"] = ip
        if city is not None:
            body["lat"], body["lon"] = self.place(city)
        truth = self.truth(event_id, c, "login", scenario, details) if scenario else None
        self._push(t, Pending("login", c.account_id, body, truth))
        return event_id

    def payment(
        self,
        c: Customer,
        t: float,
        *,
        amount: float,
        channel: str,
        txn_type: str,
        auth: str,
        payee: str | None = None,
        merchant: str | None = None,
        terminal: str | None = None,
        device: str | None = None,
        ip: str | None = None,
        city: int | None = None,
        scenario: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> str:
        event_id = self._next_id("P")
        body: dict[str, Any] = {
            "event_id": event_id,
            "ts": self.stamp(t),
            "account_id": c.account_id,
            "amount": round(max(amount, 0.01), 2),
            "channel": channel,
            "txn_type": txn_type,
            "auth_method": auth,
            "branch_id": c.branch_id,
            "customer_id": c.customer_id,
        }
        for name, value in (
            ("payee_account", payee),
            ("merchant_id", merchant),
            ("terminal_id", terminal),
            ("device_id", device),
            ("ip", ip),
        ):
            if value is not None:
                body[name] = value
        if city is not None:
            body["lat"], body["lon"] = self.place(city)
        truth = self.truth(event_id, c, "payment", scenario, details) if scenario else None
        self._push(t, Pending("payment", c.account_id, body, truth))
        return event_id

    def feedback(self, c: Customer, event_id: str, t: float, label: str, source: str) -> None:
        body = {
            "event_id": event_id,
            "account_id": c.account_id,
            "label": label,
            "ts": self.stamp(t),
            "source": source,
        }
        self._next_id("F")
        self._push(t, Pending("feedback", c.account_id, body, None))

    def pop(self) -> tuple[float, Pending]:
        t, _, pending = heapq.heappop(self.heap)
        return t, pending

    @staticmethod
    def record(t: float, pending: Pending, payload: bytes | None = None) -> SimRecord:
        return SimRecord(
            pending.kind,
            TOPIC[pending.kind],
            pending.key,
            _encode(pending.body) if payload is None else payload,
            t,
        )
