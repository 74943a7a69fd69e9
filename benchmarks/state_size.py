"""Bytes of per-account state: what bytewax snapshots for each touched account."""

from __future__ import annotations

import statistics
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

from riskflow.contract.messages import Decision, Login, Payment
from riskflow.features.account import AccountState, FeatureConfig
from riskflow.scoring.decide import Verdict
from riskflow.scoring.redelivery import DecisionMemory
from riskflow.simulator.config import SimConfig
from riskflow.simulator.stream import generate

__all__ = ["bench_state_size", "steady_account", "steady_memory"]

_START = datetime(2026, 1, 1, 8, 0, tzinfo=timezone(timedelta(hours=8)))


def steady_account(per_day: int, days: int = 60) -> AccountState:
    """An account with one login a day and `per_day` payments spread over the day.

    The long windows are the state that grows with activity, so these two (1 and 20
    payments a day, six payees, one device) are the sizes the 2 KB budget is set by.
    """
    state = AccountState()
    gap = timedelta(minutes=14 * 60 // max(per_day, 1))
    for d in range(days):
        day = _START + timedelta(days=d)
        login = Login(
            event_id=f"l{d}",
            ts=day,
            account_id="A",
            channel="mobile",
            success=True,
            device_id="phone-1",
            ip="10.0.0.1",
            auth_method="password",
        )
        state.on_login(login, login.ts.timestamp(), login.ts.hour)
        for i in range(per_day):
            ts = day + timedelta(minutes=5) + i * gap
            payment = Payment(
                event_id=f"p{d}-{i}",
                ts=ts,
                account_id="A",
                amount=20.0 + (i * 7 + d) % 90,
                channel="mobile",
                txn_type="card" if i % 2 else "transfer",
                payee_account=f"P{i % 6}",
                device_id="phone-1",
                ip="10.0.0.1",
                branch_id="B01",
            )
            state.on_payment(payment, ts.timestamp(), ts.hour)
    return state


def steady_memory(per_day: int, days: int = 60) -> DecisionMemory:
    """The decision memory (`scoring.redelivery`) of `steady_account`'s events, as decided."""
    memory = DecisionMemory(FeatureConfig())
    gap = timedelta(minutes=14 * 60 // max(per_day, 1))
    for d in range(days):
        day = _START + timedelta(days=d)
        events = [("login", f"L{d:07d}", day)] + [
            ("payment", f"P{d:04d}{i:03d}", day + timedelta(minutes=5) + i * gap)
            for i in range(per_day)
        ]
        for kind, event_id, ts in events:
            stamp = ts.isoformat(timespec="milliseconds")
            decision = Decision(
                event_id=event_id,
                account_id="A0000001",
                event_type="payment" if kind == "payment" else "login",
                event_ts=stamp,
                ts=stamp,
                action="allow",
                score=0.0123,
                reasons=[],
                rules_version="2026.11.2",
                model_version="m-000123",
                latency_ms=3.217,
            )
            memory.on_batch([Verdict(decision=decision, alert=None, features={})])
    return memory


def bench_state_size(events: int = 300_000, customers: int = 5000, seed: int = 7) -> dict[str, Any]:
    decoders: dict[str, msgspec.json.Decoder[Payment] | msgspec.json.Decoder[Login]] = {
        "payment": msgspec.json.Decoder(Payment),
        "login": msgspec.json.Decoder(Login),
    }
    states: dict[str, AccountState] = {}
    for record in generate(
        SimConfig(seed=seed, customers=customers, max_events=events, days=3650.0)
    ):
        decoder = decoders.get(record.kind)
        if decoder is None:
            continue
        try:
            event = decoder.decode(record.payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        state = states.setdefault(event.account_id, AccountState())
        t, hour = event.ts.timestamp(), event.ts.hour
        if isinstance(event, Payment):
            state.on_payment(event, t, hour)
        else:
            state.on_login(event, t, hour)
    sizes = sorted(len(s.to_bytes()) for s in states.values())
    return {
        "benchmark": "state_size",
        "events": events,
        "accounts": len(sizes),
        "bytes_mean": round(statistics.fmean(sizes)),
        "bytes_p50": sizes[len(sizes) // 2],
        "bytes_p99": sizes[min(len(sizes) - 1, int(len(sizes) * 0.99))],
        "bytes_max": sizes[-1],
        "empty_account_bytes": len(AccountState().to_bytes()),
        "bytes_1_per_day_60d": len(steady_account(1).to_bytes()),
        "bytes_20_per_day_60d": len(steady_account(20).to_bytes()),
        # The decision memory is a second keyed state of the same account.
        "decision_memory_bytes_1_per_day": len(steady_memory(1).snapshot()),
        "decision_memory_bytes_20_per_day": len(steady_memory(20).snapshot()),
    }
