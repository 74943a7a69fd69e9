"""What several scenarios share: mules, far cities, other customers."""

from __future__ import annotations

from riskflow.features.geo import haversine_km
from riskflow.simulator.bank import Bank, Customer
from riskflow.simulator.emitter import Emitter
from riskflow.simulator.geography import CITIES

__all__ = ["far_city", "other_customer", "unlisted_mule"]


def unlisted_mule(em: Emitter, bank: Bank) -> str:
    """A mule account nobody has reported yet."""
    fresh = bank.mules[len(bank.listed_mules) :]
    return fresh[em.rng.randrange(len(fresh))]


def far_city(home: int, rng_index: int) -> int:
    """A city more than 1,000 km from `home`, chosen by `rng_index`."""
    _, lat, lon = CITIES[home]
    far = [i for i, (_, la, lo) in enumerate(CITIES) if haversine_km(lat, lon, la, lo) > 1000]
    return far[rng_index % len(far)]


def other_customer(em: Emitter, bank: Bank, c: Customer) -> Customer:
    """Some customer of the bank other than `c`."""
    while True:
        j = em.rng.randrange(bank.size)
        if j != c.index:
            return bank.customer(j)
