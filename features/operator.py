"""The per-account bytewax logic: one `AccountState` per account key."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bytewax.operators import StatefulBatchLogic

from contract.messages import Login, Payment
from contract.parse import Envelope
from features.account import AccountState, FeatureConfig
from features.catalog import Features

__all__ = ["AccountLogic", "Featured", "account_logic"]


@dataclass(frozen=True, slots=True)
class Featured:
    """A payment or login with the features its account's history gives it."""

    event: Payment | Login
    features: Features
    home_branch: str | None
    received_at: float


class AccountLogic(StatefulBatchLogic[Envelope, Featured, bytes]):
    def __init__(self, state: AccountState) -> None:
        self.state = state

    def on_batch(self, values: list[Envelope]) -> tuple[list[Featured], bool]:
        state = self.state
        out: list[Featured] = []
        for envelope in values:
            event = envelope.event
            ts = event.ts
            t = ts.timestamp()
            if isinstance(event, Payment):
                f = state.on_payment(event, t, ts.hour)
            elif isinstance(event, Login):
                f = state.on_login(event, t, ts.hour)
            else:
                state.on_feedback(event, t)
                continue
            out.append(Featured(event, f, state.home_branch, envelope.received_at))
        return out, StatefulBatchLogic.RETAIN

    def snapshot(self) -> bytes:
        # Immutable bytes: cheaper than the deep copy bytewax would otherwise need.
        return self.state.to_bytes()


def account_logic(cfg: FeatureConfig) -> Callable[[bytes | None], AccountLogic]:
    def build(snapshot: bytes | None) -> AccountLogic:
        if snapshot is None:
            return AccountLogic(AccountState(cfg))
        return AccountLogic(AccountState.from_bytes(snapshot, cfg))

    return build
