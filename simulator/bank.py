"""The simulated bank: customers derived from the seed, branches, mules and a deny list.

A customer's profile is a pure function of (seed, index), rebuilt whenever a
session needs it, so a bank of millions never sits in memory. What a customer
changes over time (new phones, new payees, the last login) lives in three
compact arrays, about ten bytes per customer.
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass
from functools import lru_cache

from riskflow.simulator.config import SimConfig
from riskflow.simulator.geography import CITIES

__all__ = [
    "AUTH_BY_STRENGTH",
    "CHANNEL_TXNS",
    "LOGIN_CHANNELS",
    "TRAVELLING",
    "Bank",
    "Customer",
]

# channel -> plausible transaction types, most likely first
CHANNEL_TXNS: dict[str, tuple[str, ...]] = {
    "mobile": ("transfer", "bill", "card"),
    "online": ("transfer", "bill", "card"),
    "branch": ("transfer", "deposit", "withdrawal"),
    "phone": ("transfer", "bill"),
    "atm": ("withdrawal", "deposit"),
    "pos": ("card",),
    "self_service": ("transfer", "bill", "deposit"),
}
LOGIN_CHANNELS = ("mobile", "online", "phone", "self_service")
AUTH_BY_STRENGTH = ("password", "sms_otp", "token", "usb_key", "biometric")
CHANNELS = ("mobile", "online", "pos", "atm", "branch", "phone", "self_service")
_CHANNEL_WEIGHTS = (0.40, 0.15, 0.20, 0.08, 0.07, 0.04, 0.06)
MAX_NEW_DEVICES = 3
MAX_NEW_PAYEES = 30
DAY = 86400.0
TRAVELLING = -1
"""`Bank.trip` while a customer is on the plane or train."""
CYCLE_DAYS = 28
"""Every customer's monthly cycle day (salary in, rent and bills out) is in 1..28."""


@dataclass(slots=True)
class Customer:
    index: int
    account_id: str
    customer_id: str
    branch_id: str
    city: int
    devices: list[str]
    home_ip: str
    active_from: int
    """First usual hour of activity, local time."""
    active_to: int
    typical_amount: float
    channel_weights: tuple[float, ...]
    payees: list[str]
    strong_auth: str
    """The customer's strongest tool, used for large payments."""
    cycle_day: int
    """Day of the month salary arrives; rent and bills follow within two days."""
    billers: tuple[tuple[str, float], ...]
    """(merchant, usual amount) of the bills paid every cycle; empty for some."""
    rent: float
    """Monthly transfer to the first known payee after payday (0 = none)."""
    last_login: float

    @property
    def channels(self) -> tuple[str, ...]:
        return CHANNELS

    def active_at(self, hour: int) -> bool:
        return self.active_from <= hour < self.active_to


def _payee(seed: int, index: int, k: int) -> str:
    """The k-th payee a customer adds, the same on every rebuild (a cheap integer hash)."""
    h = (index * 2_654_435_761 + k * 40_503 + seed * 97_531) % 10_000_000
    return f"B{h:07d}"


class Bank:
    """Customers and the fraud ecosystem around them, built deterministically from the seed."""

    def __init__(self, config: SimConfig) -> None:
        rng = random.Random(f"bank-{config.seed}")
        self.config = config
        self.size = config.customers
        self.branches = [f"BR{i:03d}" for i in range(1, config.branches + 1)]
        # Each branch serves one city, so a customer's branch and home agree.
        self.branch_city = {b: rng.randrange(len(CITIES)) for b in self.branches}
        self.mules = [f"M{900000 + i:06d}" for i in range(config.mules)]
        self.listed_mules = self.mules[: config.mules // 2]
        self.attacker_ips = [f"203.0.113.{i}" for i in range(1, 41)]
        self.listed_ips = self.attacker_ips[:10]
        self.attacker_devices = [f"emu-{i:04d}" for i in range(200)]
        self.listed_devices = self.attacker_devices[:20]
        self.merchants = [f"MER{i:05d}" for i in range(2000)]
        self.billers = [f"BILL{i:03d}" for i in range(60)]
        n = config.customers
        # Rebuilding a profile costs ~20 µs; a bounded cache of recent customers saves most of
        # it in small banks (the demo's 5,000 fit) without ever holding a large bank.
        self.customer = lru_cache(maxsize=config.customer_cache)(self._build)
        self._trip_plan = lru_cache(maxsize=config.customer_cache)(self._plan)
        self._last_login = array("d", [-1e18]) * n
        self._new_devices = bytearray(n)
        self._new_payees = bytearray(n)

    def _build(self, i: int) -> Customer:
        """Customer `i` as of now: the profile from the seed plus what changed since.

        Changes go through `Bank` methods, which update both the arrays and the object,
        so a cached customer and a rebuilt one are always equal.
        """
        seed = self.config.seed
        rng = random.Random(seed * 4_294_967_296 + i)
        branch = self.branches[rng.randrange(len(self.branches))]
        start, stop = self.active_hours(i)
        weights = tuple(w * rng.uniform(0.5, 1.5) for w in _CHANNEL_WEIGHTS)
        account = f"A{i:07d}"
        devices = [f"dev-{i:07d}-{d}" for d in range(rng.choice((1, 1, 2, 2, 3)))]
        devices += [f"{account}-new{k}" for k in range(1, self._new_devices[i] + 1)]
        payees = [f"B{rng.randrange(10_000_000):07d}" for _ in range(rng.randint(2, 8))]
        payees += [_payee(seed, i, k) for k in range(self._new_payees[i])]
        typical = round(rng.lognormvariate(5.3, 0.8), 2)
        bills = rng.choice((0, 1, 1, 2, 2, 3))
        billers = tuple(
            (
                self.billers[rng.randrange(len(self.billers))],
                round(rng.lognormvariate(4.8, 0.6), 2),
            )
            for _ in range(bills)
        )
        rent = round(typical * rng.uniform(4, 12), 2) if rng.random() < 0.35 else 0.0
        return Customer(
            index=i,
            account_id=account,
            customer_id=f"C{i:07d}",
            branch_id=branch,
            city=self.branch_city[branch],
            devices=devices,
            home_ip=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
            active_from=start,
            active_to=stop,
            typical_amount=typical,
            channel_weights=weights,
            payees=payees,
            strong_auth=rng.choice(("token", "usb_key", "biometric", "sms_otp")),
            cycle_day=(i + seed) % CYCLE_DAYS + 1,
            billers=billers,
            rent=rent,
            last_login=self._last_login[i],
        )

    def active_hours(self, i: int) -> tuple[int, int]:
        """Customer `i`'s usual hours, cheap enough to thin sessions before building anyone."""
        h = (i * 2_246_822_519 + self.config.seed * 3_266_489_917) % 4_294_967_291
        start = (6, 7, 7, 8, 8, 9)[h % 6]
        return start, min(24, start + (12, 13, 14, 15, 16)[(h // 6) % 5])

    def on_cycle_day(self, day: int) -> range:
        """Indexes of the customers whose monthly cycle falls on day-of-month `day` (1..28)."""
        first = (day - 1 - self.config.seed) % CYCLE_DAYS
        return range(first, self.size, CYCLE_DAYS)

    def logged_in(self, c: Customer, t: float) -> None:
        c.last_login = t
        self._last_login[c.index] = t

    def new_device(self, c: Customer) -> str | None:
        """A new phone for `c`, remembered; None once they have had enough."""
        k = self._new_devices[c.index]
        if k >= MAX_NEW_DEVICES:
            return None
        self._new_devices[c.index] = k + 1
        device = f"{c.account_id}-new{k + 1}"
        c.devices.append(device)
        return device

    def new_payee(self, c: Customer) -> str | None:
        """A payee `c` pays for the first time, remembered; None once the book is full."""
        k = self._new_payees[c.index]
        if k >= MAX_NEW_PAYEES:
            return None
        self._new_payees[c.index] = k + 1
        payee = _payee(self.config.seed, c.index, k)
        c.payees.append(payee)
        return payee

    def trip(self, c: Customer, t: float) -> int | None:
        """Where `c` is at `t` if away: a trip of 2-6 days in some months.

        None means at home and TRAVELLING (-1) means on the way there or back,
        when nothing happens, so an honest traveller never outruns an airliner.
        """
        plan = self._trip_plan(c.index, int(t // (30 * DAY)))
        if plan is None:
            return None
        leave, back, city = plan
        if not leave <= t < back + 8 * 3600.0:
            return None
        if t < leave + 8 * 3600.0 or t >= back - 4 * 3600.0:
            return TRAVELLING
        return city if city < c.city else city + 1

    def _plan(self, index: int, block: int) -> tuple[float, float, int] | None:
        """The trip customer `index` takes in 30-day block `block`, if any."""
        rng = random.Random((self.config.seed * 4_294_967_296 + index) * 64 + block % 64)
        if rng.random() >= 0.15:
            return None
        # Local midnight of a day in this block, then 2-6 nights away.
        leave = block * 30 * DAY + rng.randrange(26) * DAY + 16 * 3600.0
        back = leave + rng.randint(2, 6) * DAY
        return leave, back, rng.randrange(len(CITIES) - 1)

    def denylist_rows(self) -> list[dict[str, str]]:
        """The risk list the bank already shares with the police and partner banks."""
        rows = [
            {"entity": "payee", "value": m, "reason": "mule account", "source": "police"}
            for m in self.listed_mules
        ]
        rows += [
            {"entity": "ip", "value": ip, "reason": "credential stuffing", "source": "partner_bank"}
            for ip in self.listed_ips
        ]
        rows += [
            {"entity": "device", "value": d, "reason": "emulator farm", "source": "internal"}
            for d in self.listed_devices
        ]
        return rows
