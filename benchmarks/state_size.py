"""Bytes of per-account state: what bytewax snapshots for each touched account."""

from __future__ import annotations

import statistics
from typing import Any

import msgspec

from contract.messages import Login, Payment
from features.account import AccountState
from simulator.config import SimConfig
from simulator.stream import generate

__all__ = ["bench_state_size"]


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
    }
