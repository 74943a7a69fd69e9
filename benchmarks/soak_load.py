"""A steady load for the soak: valid payments and logins over a pool of accounts, in turn.

Each account is visited once per pass over the pool: a login, then one or two payments,
interleaved with the other open visits. Visits go through the pool in order, so a run of
enough events touches every account, and the accounts active within any recent span are
simply the visits opened in it. A share of payments gets a label a fixed delay later (so
the models learn as they do live), and a small share of messages is redelivered, so the
decision memory answers repeats too.
"""

from __future__ import annotations

import random
from collections import deque
from datetime import UTC, datetime

import msgspec

from riskflow.contract.messages import Feedback, Label, Login, Payment, TxnType

__all__ = ["Message", "SteadyLoad"]

Message = tuple[str, str, bytes]
"""(kind, key, payload): kind is payment, login or feedback; key is the account id."""

_encode = msgspec.json.encode
_BRANCHES = 50
_PAYEES = 20_000
_MERCHANTS = 2_000


class _Visit:
    __slots__ = ("account", "index", "left", "started")

    def __init__(self, index: int, account: str, left: int) -> None:
        self.index = index
        self.account = account
        self.left = left
        self.started = False


class SteadyLoad:
    """Messages for `accounts` accounts; `open_visits` accounts are being visited at a time."""

    def __init__(
        self,
        accounts: int,
        *,
        tag: str,
        seed: int = 0,
        open_visits: int = 64,
        label_share: float = 0.03,
        fraud_share: float = 0.1,
        label_delay_s: float = 30.0,
        repeat_share: float = 0.005,
    ) -> None:
        if accounts < 1:
            raise ValueError("the soak needs at least one account")
        self.accounts = accounts
        self._tag = tag
        self._rng = random.Random(seed)
        self._open_visits = max(1, min(open_visits, accounts))
        self._visits: list[_Visit] = []
        self._label_share = label_share
        self._fraud_share = fraud_share
        self._label_delay_s = label_delay_s
        self._repeat_share = repeat_share
        self._labels: deque[tuple[float, str, str]] = deque()
        self._recent: deque[Message] = deque(maxlen=256)
        self._opened_at: deque[float] = deque()
        self.visits_opened = 0
        self.events = 0
        self.labels = 0
        self.repeats = 0

    @property
    def accounts_seen(self) -> int:
        """Distinct accounts sent so far: visits go through the pool in order."""
        return min(self.visits_opened, self.accounts)

    def accounts_within(self, span_s: float, now: float) -> int:
        """Distinct accounts visited in the last `span_s` seconds, as long as the span is
        shorter than a pass over the pool. Visits older than the span are let go: ask with
        one span as time goes forward."""
        opened = self._opened_at
        while opened and opened[0] < now - span_s:
            opened.popleft()
        return min(len(opened), self.accounts)

    def _open(self, now: float) -> _Visit:
        index = self.visits_opened % self.accounts
        self.visits_opened += 1
        self._opened_at.append(now)
        return _Visit(index, f"A{index:07d}", 1 + self._rng.randint(1, 2))

    def next_message(self, now: float) -> Message:
        """The next message to send at wall-clock time `now`."""
        rng = self._rng
        if self._recent and rng.random() < self._repeat_share:
            self.repeats += 1
            return self._recent[rng.randrange(len(self._recent))]
        if self._labels and self._labels[0][0] <= now:
            _, event_id, account = self._labels.popleft()
            self.labels += 1
            label: Label = "fraud" if rng.random() < self._fraud_share else "legit"
            fb = Feedback(
                event_id=event_id,
                account_id=account,
                label=label,
                ts=datetime.fromtimestamp(now, UTC),
                source="chargeback" if label == "fraud" else "no_dispute",
            )
            return "feedback", account, _encode(fb)
        while len(self._visits) < self._open_visits:
            self._visits.append(self._open(now))
        slot = rng.randrange(len(self._visits))
        visit = self._visits[slot]
        message = self._event(visit, now)
        visit.left -= 1
        if visit.left == 0:
            self._visits[slot] = self._open(now)
        self.events += 1
        self._recent.append(message)
        return message

    def _event(self, visit: _Visit, now: float) -> Message:
        rng = self._rng
        i = visit.index
        event_id = f"{self._tag}-{self.events}"
        ts = datetime.fromtimestamp(now, UTC)
        device = f"D{i}" if rng.random() < 0.95 else f"D{i}-{rng.randrange(4)}"
        ip = f"10.{i % 200}.{(i // 200) % 250}.{1 + i % 250}"
        branch = f"B{i % _BRANCHES:03d}"
        if not visit.started:
            visit.started = True
            login = Login(
                event_id=event_id,
                ts=ts,
                account_id=visit.account,
                channel=rng.choice(("online", "mobile")),
                success=rng.random() < 0.95,
                device_id=device,
                ip=ip,
                auth_method=rng.choice(("password", "sms_otp", "biometric")),
                branch_id=branch,
            )
            return "login", visit.account, _encode(login)
        txn: TxnType = rng.choice(("transfer", "transfer", "card", "bill"))
        payment = Payment(
            event_id=event_id,
            ts=ts,
            account_id=visit.account,
            amount=round(rng.lognormvariate(5.0, 1.2), 2),
            channel=rng.choice(("online", "mobile", "pos")) if txn == "card" else "mobile",
            txn_type=txn,
            payee_account=f"P{rng.randrange(_PAYEES)}" if txn == "transfer" else None,
            merchant_id=f"M{rng.randrange(_MERCHANTS)}" if txn != "transfer" else None,
            device_id=device,
            ip=ip,
            auth_method="password",
            branch_id=branch,
        )
        if rng.random() < self._label_share:
            self._labels.append((now + self._label_delay_s, event_id, visit.account))
        return "payment", visit.account, _encode(payment)
