"""The simulated bank: customers with habits, branches, mule accounts and a deny list."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from simulator.config import SimConfig
from simulator.geography import CITIES

__all__ = ["Bank", "Customer"]

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


@dataclass
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
    channels: tuple[str, ...]
    channel_weights: tuple[float, ...]
    payees: list[str]
    strong_auth: str
    """The customer's strongest tool, used for large payments."""
    last_login: float = -1e18
    last_place: int = -1
    new_devices: int = 0
    extra: dict[str, float] = field(default_factory=dict)

    def active_at(self, hour: int) -> bool:
        return self.active_from <= hour < self.active_to


class Bank:
    """Customers and the fraud ecosystem around them, built deterministically from the seed."""

    def __init__(self, config: SimConfig) -> None:
        rng = random.Random(f"bank-{config.seed}")
        self.config = config
        self.branches = [f"BR{i:03d}" for i in range(1, config.branches + 1)]
        # Each branch serves one city, so a customer's branch and home agree.
        self.branch_city = {b: rng.randrange(len(CITIES)) for b in self.branches}
        self.customers = [self._customer(rng, i) for i in range(config.customers)]
        self.mules = [f"M{900000 + i:06d}" for i in range(config.mules)]
        self.listed_mules = self.mules[: config.mules // 2]
        self.attacker_ips = [f"203.0.113.{i}" for i in range(1, 41)]
        self.listed_ips = self.attacker_ips[:10]
        self.attacker_devices = [f"emu-{i:04d}" for i in range(200)]
        self.listed_devices = self.attacker_devices[:20]
        self.merchants = [f"MER{i:05d}" for i in range(2000)]

    def _customer(self, rng: random.Random, i: int) -> Customer:
        branch = rng.choice(self.branches)
        city = self.branch_city[branch]
        start = rng.choice((6, 7, 7, 8, 8, 9))
        channels = ("mobile", "online", "pos", "atm", "branch", "phone", "self_service")
        weights = tuple(
            w * rng.uniform(0.5, 1.5) for w in (0.40, 0.15, 0.20, 0.08, 0.07, 0.04, 0.06)
        )
        return Customer(
            index=i,
            account_id=f"A{i:07d}",
            customer_id=f"C{i:07d}",
            branch_id=branch,
            city=city,
            devices=[f"dev-{i:07d}-{d}" for d in range(rng.choice((1, 1, 2, 2, 3)))],
            home_ip=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}",
            active_from=start,
            active_to=min(24, start + rng.choice((12, 13, 14, 15, 16))),
            typical_amount=round(rng.lognormvariate(5.3, 0.8), 2),
            channels=channels,
            channel_weights=weights,
            payees=[f"B{rng.randrange(10_000_000):07d}" for _ in range(rng.randint(2, 8))],
            strong_auth=rng.choice(("token", "usb_key", "biometric", "sms_otp")),
        )

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
