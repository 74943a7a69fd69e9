"""One account's state and the features it yields for each event.

Each `on_*` method first computes the features from the history before the
event (plus the event itself for payment windows), then absorbs the event.
The state is the source of truth inside the dataflow; `to_bytes` is what
bytewax snapshots at every epoch for each touched account, so it is a compact
pickle rather than a deep copy.
"""

from __future__ import annotations

import hashlib
import pickle
from bisect import bisect_right
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from riskflow.contract.messages import Feedback, Login, Payment
from riskflow.features.catalog import NO_LOGIN_MINUTES, Features
from riskflow.features.geo import haversine_km
from riskflow.features.profile import AmountProfile, HourHabit
from riskflow.features.recency import LastSeen
from riskflow.features.windows import BucketedWindow, SlidingWindow

__all__ = ["AccountState", "FeatureConfig"]

MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
WEEK = 7 * DAY
MONTH = 30 * DAY
WEEK_BUCKET = 6 * HOUR
"""The 7-day window counts whole 6-hour buckets at its old edge: at most 6 h too wide."""
MONTH_BUCKET = DAY
"""The 30-day window counts whole (UTC) days at its old edge: at most a day too wide."""
_SHORT_WIDTHS = (5 * MINUTE, HOUR, DAY)
_SNAPSHOT_VERSION = 5
_V2_FIELDS = 19
"""Snapshot version 2 (before the long windows) is this many fields; version 3 appends to it."""
_V3_FIELDS = 25
"""Version 3 is this many fields; version 4 appends the recent event ids and the idle clock."""
_V4_FIELDS = 27
"""Version 4 is this many fields; version 5 appends the history digest."""


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    small_card_amount: float = 10.0
    """Card payments at or under this amount count towards card-testing bursts."""
    window_cap: int = 2000
    """Most payments kept in the 24 h window per account."""
    known_payees_cap: int = 256
    known_devices_cap: int = 32
    known_ips_cap: int = 64
    failed_logins_cap: int = 64
    fraud_label_days: float = 30.0
    timezone: str = "Asia/Shanghai"
    """Where "today" is for daily limits: the cumulative amount resets at local midnight here."""
    lock_after_failures: int = 5
    """Consecutive failed logins after which the account is locked."""
    lock_minutes: float = 30.0
    """A lock expires this long after the last failure."""
    unlock_methods: tuple[str, ...] = ("token", "usb_key", "biometric")
    """A successful login with one of these lifts a lock at once."""
    session_minutes: float = 30.0
    """A payment this long after the last accepted login belongs to that login's session."""
    tenure_cap_days: float = 365.0
    """`days_since_first_payment` stops here: past a year an account is simply established."""
    recent_ids_cap: int = 256
    """Most event ids an account remembers, to recognise a redelivered event."""
    recent_ids_days: float = 7.0
    """Event ids this much event time older than the account's newest are forgotten."""
    decisions_kept_cap: int = 64
    """Most decisions an account keeps, as published, to answer a redelivered event."""
    decisions_kept_days: float = 2.0
    """Decisions this much event time older than the account's newest are forgotten. A
    retry or a replay after a crash comes within seconds and a re-published batch within
    a day or so; a kept decision costs ~300 bytes of the account's snapshot, an id ~40."""
    idle_expiry_days: float = 35.0
    """A live run discards an account's state after this much wall-clock time without events:
    longer than the 30-day windows, so an expired account had nothing left in them."""
    ip_stage: bool = True
    """Per-IP features across accounts (features/ip.py) between the account step and decide;
    off, every event gets their neutral values."""
    ip_idle_expiry_days: float = 1.0
    """A live run discards an IP's state after this much wall-clock time without events: its
    longest window is an hour."""
    ip_accounts_cap: int = 64
    """Most accounts an IP remembers (`ip_accounts_1h` saturates here)."""
    device_stage: bool = True
    """Per-device features across accounts (features/device.py) after the ip stage; off,
    every event gets their neutral values."""
    payee_stage: bool = True
    """Per-payee features across senders (features/payee.py) and what each account received
    (features/receiver.py); false gives their neutral values."""
    payee_idle_expiry_days: float = 7.0
    """Live runs: a payee's state is dropped after this long without payments to or from it."""
    terminal_stage: bool = True
    """Per-terminal (else per-merchant) features across cards (features/terminal.py), after
    the payee and receiver stages; off, every event gets their neutral values."""
    terminal_idle_expiry_days: float = 1.0
    """A live run discards a terminal's state after this much wall-clock time without
    payments: its longest window is an hour."""
    terminal_small_amount: float = 10.0
    """Payments at or under this amount count towards `terminal_small_cards_10m`."""
    terminal_payments_cap: int = 256
    """Most payments of the last hour a terminal remembers (its counts saturate here)."""


class AccountState:
    """Everything riskflow remembers about one account, kept small and bounded."""

    __slots__ = (
        "active_at",
        "amounts",
        "cfg",
        "consecutive_failures",
        "day",
        "day_total",
        "devices",
        "fail_times",
        "failures_before_login",
        "first_payment",
        "fraud_label_times",
        "history",
        "home_branch",
        "hours",
        "ips",
        "last_failure",
        "last_login",
        "last_login_id",
        "last_login_new_device",
        "last_login_otp_night",
        "last_place",
        "month",
        "new_device_login",
        "payees",
        "payments",
        "recent_ids",
        "recent_newest",
        "small_cards",
        "week",
    )

    def __init__(self, cfg: FeatureConfig | None = None) -> None:
        cfg = cfg or FeatureConfig()
        self.cfg = cfg
        self.payments = SlidingWindow(DAY, cfg.window_cap)
        self.small_cards = SlidingWindow(5 * MINUTE, cfg.window_cap)
        self.week = BucketedWindow(WEEK, WEEK_BUCKET)
        self.month = BucketedWindow(MONTH, MONTH_BUCKET)
        self.first_payment: float | None = None
        self.payees = LastSeen(cfg.known_payees_cap)
        self.devices = LastSeen(cfg.known_devices_cap)
        self.ips = LastSeen(cfg.known_ips_cap)
        self.amounts = AmountProfile()
        self.hours = HourHabit()
        self.fail_times: list[float] = []
        self.last_login: float | None = None
        self.last_login_new_device = False
        self.last_login_id = ""
        """event_id of the newest accepted login: payments in its session name it."""
        self.last_login_otp_night = False
        """The newest accepted login was a new device by SMS OTP at night, no failures before."""
        self.new_device_login: float | None = None
        """Time of the newest accepted login from a device new to the account."""
        self.failures_before_login = 0
        self.last_place: tuple[float, float, float] | None = None
        """(lat, lon, time) of the last successful login that carried a location."""
        self.home_branch: str | None = None
        self.fraud_label_times: list[float] = []
        self.day = 0
        """Local calendar day (proleptic ordinal) that `day_total` belongs to."""
        self.day_total = 0.0
        self.consecutive_failures = 0
        self.last_failure: float | None = None
        self.recent_ids: dict[str, float] = {}
        """event_id -> event time of the payments and logins absorbed lately, oldest first."""
        self.recent_newest = float("-inf")
        self.active_at: float | None = None
        """Wall-clock time of the account's last event, kept here by the live idle expiry."""
        self.history = b""
        """Digest of every message absorbed, in order: equal digests, equal histories."""

    # ---- redelivery --------------------------------------------------------

    def absorbed(self, event_id: str) -> bool:
        """Whether the event with this id was already absorbed (while it is remembered)."""
        return event_id in self.recent_ids

    def remember(self, event_id: str, t: float) -> None:
        """Remember an absorbed event's id; forget the oldest beyond the cap or the horizon.

        Oldest means first absorbed: a dict keeps that order, so forgetting is a pop from
        the front and never a sort. A late event stays until its turn comes, which bounds
        the memory all the same.
        """
        ids = self.recent_ids
        ids[event_id] = t
        if t > self.recent_newest:
            self.recent_newest = t
        cap = self.cfg.recent_ids_cap
        while len(ids) > cap:
            del ids[next(iter(ids))]
        horizon = self.recent_newest - self.cfg.recent_ids_days * DAY
        while ids:
            oldest = next(iter(ids))
            if ids[oldest] >= horizon:
                break
            del ids[oldest]

    def record(self, message_id: str) -> None:
        """Fold an absorbed message into the history digest.

        Two runs that leave an account with the same digest absorbed the same messages in
        the same order, so its features must be equal: that is how a replay after a crash
        is checked against a clean run without knowing the order messages arrived in.
        """
        self.history = hashlib.blake2b(self.history + message_id.encode(), digest_size=8).digest()

    # ---- features ----------------------------------------------------------

    def _login_context(self, t: float, f: Features) -> None:
        fails = self.fail_times
        f["failed_logins_15m"] = sum(1 for x in fails if t - 15 * MINUTE < x <= t)
        f["failed_logins_1h"] = sum(1 for x in fails if t - HOUR < x <= t)
        if self.last_login is None:
            f["minutes_since_login"] = NO_LOGIN_MINUTES
        else:
            f["minutes_since_login"] = max(0.0, (t - self.last_login) / MINUTE)
        f["last_login_new_device"] = self.last_login_new_device
        f["failures_before_login"] = self.failures_before_login
        new_device = self.new_device_login
        if new_device is None:
            f["minutes_since_new_device_login"] = NO_LOGIN_MINUTES
        else:
            f["minutes_since_new_device_login"] = max(0.0, (t - new_device) / MINUTE)

    def _session(self, t: float, f: Features) -> None:
        """The payment's session: the newest accepted login, if at most `session_minutes` old."""
        last = self.last_login
        if last is not None and 0.0 <= t - last <= self.cfg.session_minutes * MINUTE:
            f["session_login_id"] = self.last_login_id
            f["new_device_otp_night"] = self.last_login_otp_night
        else:
            f["session_login_id"] = ""
            f["new_device_otp_night"] = False

    def _travel(self, t: float, lat: float | None, lon: float | None, f: Features) -> None:
        place = self.last_place
        if place is None or lat is None or lon is None:
            f["travel_km"] = 0.0
            f["travel_kmh"] = 0.0
            return
        km = haversine_km(place[0], place[1], lat, lon)
        # A one-minute floor keeps near-simultaneous events finite but still absurd.
        hours = max(abs(t - place[2]), MINUTE) / HOUR
        f["travel_km"] = km
        f["travel_kmh"] = km / hours

    def _novelty(
        self, t: float, device: str | None, ip: str | None, f: Features, *, trusted: bool
    ) -> None:
        f["is_new_device"] = device is not None and device not in self.devices
        f["known_devices"] = len(self.devices.seen)
        f["is_new_ip"] = ip is not None and ip not in self.ips
        # Only successful activity makes a device familiar: otherwise an attacker's
        # failed guesses would make their own device look known by the time they get in.
        if trusted:
            if device is not None:
                self.devices.touch(device, t)
            if ip is not None:
                self.ips.touch(ip, t)
        since = t - DAY
        f["distinct_devices_24h"] = self.devices.distinct_since(since)
        f["distinct_ips_24h"] = self.ips.distinct_since(since)

    def _locked(self, t: float) -> bool:
        cfg = self.cfg
        return (
            self.consecutive_failures >= cfg.lock_after_failures
            and self.last_failure is not None
            and t - self.last_failure < cfg.lock_minutes * MINUTE
        )

    def _lock_features(self, t: float, f: Features) -> None:
        f["consecutive_failures"] = self.consecutive_failures
        f["account_locked"] = self._locked(t)

    def _daily(self, ts: datetime, amount: float) -> float:
        """Today's cumulative amount with this payment; today ends at local midnight."""
        day = ts.astimezone(_zone(self.cfg.timezone)).toordinal()
        if day > self.day:
            self.day, self.day_total = day, 0.0
        elif day < self.day:
            # A straggler from an earlier day: that day's total is no longer kept.
            return amount
        self.day_total += amount
        return self.day_total

    def _today(self, ts: datetime) -> float:
        day = ts.astimezone(_zone(self.cfg.timezone)).toordinal()
        return self.day_total if day == self.day else 0.0

    def _common(self, t: float, hour: int, f: Features) -> None:
        f["hour"] = hour
        f["is_night"] = hour < 6
        labels = self.fraud_label_times  # kept sorted
        f["account_fraud_labels_30d"] = (
            bisect_right(labels, t) - bisect_right(labels, t - self.cfg.fraud_label_days * DAY)
            if labels
            else 0
        )

    def _windows(self, t: float, f: Features) -> None:
        (count_5m, sum_5m), (count_1h, sum_1h), (count_24h, sum_24h) = self.payments.nested(
            t, _SHORT_WIDTHS
        )
        f["pay_count_5m"] = count_5m
        f["pay_count_1h"] = count_1h
        f["pay_count_24h"] = count_24h
        f["pay_sum_5m"] = sum_5m
        f["pay_sum_1h"] = sum_1h
        f["pay_sum_24h"] = sum_24h
        f["pay_mean_1h"] = sum_1h / count_1h if count_1h else 0.0
        f["pay_mean_24h"] = sum_24h / count_24h if count_24h else 0.0
        f["small_card_count_5m"] = self.small_cards.count(t, 5 * MINUTE)

    def _long_windows(self, t: float, f: Features, amount: float | None) -> None:
        """7 and 30 days, with a payment's `amount` (counted, then absorbed) or none (a login).

        Must run before the payment enters the exact window: the history before
        it gives the ratios, and the window with it is that plus the payment.
        """
        exact = self.payments
        week, month = self.week, self.month
        count_7d, sum_7d = week.window(t, exact)
        count_30d, sum_30d = month.window(t, exact)
        if amount is None:
            f["amount_to_mean_7d"] = 0.0
            f["amount_to_mean_30d"] = 0.0
        else:
            # amount / (sum / count), guarded: no history in the window means no ratio.
            f["amount_to_mean_7d"] = amount * count_7d / sum_7d if sum_7d > 0.0 else 0.0
            f["amount_to_mean_30d"] = amount * count_30d / sum_30d if sum_30d > 0.0 else 0.0
            if week.add(t, amount):
                count_7d += 1
                sum_7d += amount
            if month.add(t, amount):
                count_30d += 1
                sum_30d += amount
        f["pay_count_7d"] = count_7d
        f["pay_sum_7d"] = sum_7d
        f["pay_mean_7d"] = sum_7d / count_7d if count_7d else 0.0
        f["pay_count_30d"] = count_30d
        f["pay_sum_30d"] = sum_30d
        f["pay_mean_30d"] = sum_30d / count_30d if count_30d else 0.0

    def _tenure(self, t: float, f: Features) -> None:
        first = self.first_payment
        if first is None or t <= first:
            f["days_since_first_payment"] = 0.0
        else:
            f["days_since_first_payment"] = min((t - first) / DAY, self.cfg.tenure_cap_days)

    def on_payment(self, p: Payment, t: float, hour: int) -> Features:
        """Features of a payment at epoch time `t`, local `hour`; then remember it."""
        amount = p.amount
        f: Features = {
            "event_type": "payment",
            "channel": p.channel,
            "txn_type": p.txn_type,
            "amount": amount,
            "auth_method": p.auth_method,
            "login_success": False,
            "has_payee": p.payee_account is not None,
        }
        self._common(t, hour, f)
        profile = self.amounts
        f["payment_history_count"] = profile.n
        f["amount_zscore"] = profile.zscore(amount)
        f["amount_ratio_to_max"] = profile.ratio_to_max(amount)
        share = self.hours.share(hour)
        f["hour_share"] = share
        f["hour_unusual"] = share < 0.05
        self._login_context(t, f)
        self._session(t, f)
        self._lock_features(t, f)
        self._travel(t, p.lat, p.lon, f)
        f["daily_total"] = self._daily(p.ts, amount)
        self._tenure(t, f)
        if self.first_payment is None or t < self.first_payment:
            self.first_payment = t

        payee = p.payee_account
        f["is_new_payee"] = payee is not None and payee not in self.payees
        if payee is not None:
            self.payees.touch(payee, t)
        f["distinct_payees_24h"] = self.payees.distinct_since(t - DAY)
        self._novelty(t, p.device_id, p.ip, f, trusted=True)

        self._long_windows(t, f, amount)
        self.payments.add(t, amount)
        if p.txn_type == "card" and amount <= self.cfg.small_card_amount:
            self.small_cards.add(t, amount)
        self._windows(t, f)
        profile.add(amount)
        self.hours.add(hour)
        if p.branch_id:
            self.home_branch = p.branch_id
        return f

    def on_login(self, login: Login, t: float, hour: int) -> Features:
        """Features of a login attempt; then remember it."""
        f: Features = {
            "event_type": "login",
            "channel": login.channel,
            "txn_type": "",
            "amount": 0.0,
            "auth_method": login.auth_method,
            "login_success": login.success,
            "has_payee": False,
            "is_new_payee": False,
            "payment_history_count": self.amounts.n,
            "amount_zscore": 0.0,
            "amount_ratio_to_max": 0.0,
            "hour_share": self.hours.share(hour),
            "session_login_id": "",
        }
        f["hour_unusual"] = f["hour_share"] < 0.05  # type: ignore[operator]
        self._common(t, hour, f)
        self._login_context(t, f)
        self._lock_features(t, f)
        f["daily_total"] = self._today(login.ts)
        self._travel(t, login.lat, login.lon, f)
        f["distinct_payees_24h"] = self.payees.distinct_since(t - DAY)
        # While locked, the bank refuses a success with a weak method: it counts for nothing.
        strong = login.auth_method in self.cfg.unlock_methods
        accepted = login.success and (not f["account_locked"] or strong)
        if accepted:
            f["account_locked"] = False  # this very login lifts the lock
        self._novelty(t, login.device_id, login.ip, f, trusted=accepted)
        self._windows(t, f)
        self._long_windows(t, f, None)
        self._tenure(t, f)
        # The quiet takeover: a phished password plus an OTP from a swapped SIM gets in at
        # the first try, on a new device, while the customer sleeps.
        otp_night = (
            accepted
            and f["is_new_device"] is True
            and login.auth_method == "sms_otp"
            and hour < 6
            and f["failed_logins_1h"] == 0
        )
        f["new_device_otp_night"] = otp_night

        if accepted:
            self.consecutive_failures = 0
            self.failures_before_login = sum(1 for x in self.fail_times if t - HOUR < x <= t)
            if self.last_login is None or t >= self.last_login:
                # Only the newest login opens the session; a late one changes nothing.
                self.last_login_id = login.event_id
                self.last_login_otp_night = otp_night
            if f["is_new_device"] and (self.new_device_login is None or t > self.new_device_login):
                self.new_device_login = t
            self.last_login = t if self.last_login is None else max(self.last_login, t)
            self.last_login_new_device = bool(f["is_new_device"])
            if login.lat is not None and login.lon is not None:
                self.last_place = (login.lat, login.lon, t)
        elif not login.success:
            self.consecutive_failures += 1
            self.last_failure = t if self.last_failure is None else max(self.last_failure, t)
            fails = self.fail_times
            fails.append(t)
            fails.sort()
            cutoff = fails[-1] - HOUR
            keep = [x for x in fails if x > cutoff]
            self.fail_times = keep[-self.cfg.failed_logins_cap :]
        if login.branch_id:
            self.home_branch = login.branch_id
        return f

    def on_feedback(self, fb: Feedback, t: float) -> None:
        if fb.label != "fraud":
            return
        horizon = self.cfg.fraud_label_days * DAY
        labels = [x for x in self.fraud_label_times if x > t - horizon]
        labels.append(t)
        self.fraud_label_times = sorted(labels)[-64:]

    # ---- snapshot ----------------------------------------------------------

    def to_bytes(self) -> bytes:
        state = (
            _SNAPSHOT_VERSION,
            self.payments.to_state(),
            self.small_cards.to_state(),
            self.payees.seen,
            self.devices.seen,
            self.ips.seen,
            self.amounts.to_state(),
            self.hours.counts,
            self.fail_times,
            self.last_login,
            self.last_login_new_device,
            self.failures_before_login,
            self.last_place,
            self.home_branch,
            self.fraud_label_times,
            self.day,
            self.day_total,
            self.consecutive_failures,
            self.last_failure,
            # version 3
            self.week.to_state(),
            self.month.to_state(),
            self.first_payment,
            self.last_login_id,
            self.last_login_otp_night,
            self.new_device_login,
            # version 4
            list(self.recent_ids.items()),
            self.active_at,
            # version 5
            self.history,
        )
        return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)

    @classmethod
    def from_bytes(cls, blob: bytes, cfg: FeatureConfig | None = None) -> AccountState:
        """A state from `to_bytes` of this version, of version 4 (before the history digest),
        3 (before the recent event ids) or 2 (before the long windows)."""
        s = cls(cfg)
        state = pickle.loads(blob)
        version = state[0]
        if version not in (2, 3, 4, _SNAPSHOT_VERSION):
            raise ValueError(
                f"account snapshot version {version} is not 2, 3, 4 or {_SNAPSHOT_VERSION}"
            )
        (
            _,
            payments,
            small_cards,
            payees,
            devices,
            ips,
            amounts,
            hours,
            s.fail_times,
            s.last_login,
            s.last_login_new_device,
            s.failures_before_login,
            s.last_place,
            s.home_branch,
            s.fraud_label_times,
            s.day,
            s.day_total,
            s.consecutive_failures,
            s.last_failure,
        ) = state[:_V2_FIELDS]
        s.payments.load_state(payments)
        s.small_cards.load_state(small_cards)
        s.payees.seen = dict(payees)
        s.devices.seen = dict(devices)
        s.ips.seen = dict(ips)
        s.amounts.load_state(amounts)
        s.hours.counts = list(hours)
        if version == 2:
            s._upgrade_from_v2()
            return s
        (
            week,
            month,
            s.first_payment,
            s.last_login_id,
            s.last_login_otp_night,
            s.new_device_login,
        ) = state[_V2_FIELDS:_V3_FIELDS]
        s.week.load_state(week)
        s.month.load_state(month)
        if version == 3:
            # Ids were not kept: an event redelivered across the upgrade is absorbed again.
            return s
        recent, s.active_at = state[_V3_FIELDS:_V4_FIELDS]
        s.recent_ids = dict(recent)
        if recent:
            s.recent_newest = max(t for _, t in recent)
        if version == 5:
            (s.history,) = state[_V4_FIELDS:]
        # Version 4 had no digest: the history starts anew, as it would in any fresh run.
        return s

    def _upgrade_from_v2(self) -> None:
        """Fill what version 2 did not keep from what it did, else leave it empty.

        The long windows start from the last 24 h of payments (so that they are never
        below the 24 h window), tenure from the oldest of them (an underestimate:
        older payments were not kept), and the newest login's new-device flag gives
        the time of the last new-device login. The session's login id and the
        night-OTP flag were never recorded: the first login after the upgrade sets them.
        """
        payments = self.payments
        for t, amount in zip(payments.times, payments.amounts, strict=True):
            self.week.add(t, amount)
            self.month.add(t, amount)
        if payments.times:
            self.first_payment = payments.times[0]
        if self.last_login_new_device and self.last_login is not None:
            self.new_device_login = self.last_login
