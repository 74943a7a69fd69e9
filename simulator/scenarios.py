"""Fraud scenarios, each writing its events with ground truth and later labels.

Each scenario is a function `(em, bank, victim, t) -> None` registered in
`SCENARIOS` with a relative weight; docs/simulator.md describes each one.
"""

from __future__ import annotations

from collections.abc import Callable

from features.geo import haversine_km
from simulator.bank import Bank, Customer
from simulator.emitter import Emitter
from simulator.geography import CITIES
from simulator.sessions import DAY, HOUR, label_payment

__all__ = ["SCENARIOS", "Scenario", "far_city"]

Scenario = Callable[[Emitter, Bank, Customer, float], None]


def _unlisted_mule(em: Emitter, bank: Bank) -> str:
    fresh = bank.mules[len(bank.listed_mules) :]
    return fresh[em.rng.randrange(len(fresh))]


def account_takeover(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """Password guessing from an attacker's IP, a new-device login, then transfers to mules."""
    rng = em.rng
    name = "account_takeover"
    ip = bank.attacker_ips[rng.randrange(len(bank.attacker_ips))]
    device = bank.attacker_devices[rng.randrange(len(bank.attacker_devices))]
    for _ in range(rng.randint(3, 8)):
        em.login(c, t, success=False, device=device, ip=ip, scenario=name)
        t += rng.uniform(5, 40)
    auth = rng.choice(("sms_otp", "password"))
    em.login(c, t, success=True, device=device, ip=ip, auth=auth, scenario=name)
    t += rng.uniform(5, 25) * 60
    for _ in range(rng.randint(1, 3)):
        event_id = em.payment(
            c,
            t,
            amount=c.typical_amount * rng.uniform(3, 20),
            channel="mobile",
            txn_type="transfer",
            auth=auth,
            payee=_unlisted_mule(em, bank),
            device=device,
            ip=ip,
            scenario=name,
        )
        label_payment(
            em,
            c,
            event_id,
            t,
            fraud=True,
            source="customer_report",
            delay=rng.uniform(2, 48) * HOUR,
        )
        t += rng.uniform(30, 240)


def card_testing(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """Stolen card details tried with many tiny payments, then one that counts."""
    rng = em.rng
    channel = rng.choice(("pos", "online"))

    def charge(when: float, amount: float) -> None:
        event_id = em.payment(
            c,
            when,
            amount=amount,
            channel=channel,
            txn_type="card",
            auth="none",
            merchant=bank.merchants[rng.randrange(len(bank.merchants))],
            scenario="card_testing",
        )
        delay = rng.uniform(7, 45) * DAY
        label_payment(em, c, event_id, when, fraud=True, source="chargeback", delay=delay)

    for _ in range(rng.randint(6, 20)):
        charge(t, rng.uniform(0.5, 5.0))
        t += rng.uniform(5, 25)
    if rng.random() < 0.5:
        charge(t + rng.uniform(30, 300), c.typical_amount * rng.uniform(5, 15))


def large_night_transfer(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """The customer's own device sends a huge transfer to a new payee in the small hours."""
    rng = em.rng
    name = "large_night_transfer"
    local = (t + 8 * HOUR) % DAY
    night = t - local + DAY + rng.uniform(1, 4.9) * HOUR  # 01:00-05:54 local, the next night
    device = c.devices[0]
    em.login(c, night, success=True, device=device, ip=c.home_ip, city=c.city, scenario=name)
    when = night + rng.uniform(2, 10) * 60
    event_id = em.payment(
        c,
        when,
        amount=c.typical_amount * rng.uniform(6, 50),
        channel="mobile",
        txn_type="transfer",
        auth=c.strong_auth,
        payee=_unlisted_mule(em, bank),
        device=device,
        ip=c.home_ip,
        city=c.city,
        scenario=name,
    )
    label_payment(
        em, c, event_id, when, fraud=True, source="customer_report", delay=rng.uniform(6, 72) * HOUR
    )


def far_city(home: int, rng_index: int) -> int:
    """A city more than 1,000 km from `home`, chosen by `rng_index`."""
    _, lat, lon = CITIES[home]
    far = [i for i, (_, la, lo) in enumerate(CITIES) if haversine_km(lat, lon, la, lo) > 1000]
    return far[rng_index % len(far)]


def impossible_travel(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """A login at home, then activity from a city over 1,000 km away sooner than any flight."""
    rng = em.rng
    name = "impossible_travel"
    em.login(c, t, success=True, device=c.devices[0], ip=c.home_ip, city=c.city)
    bank.logged_in(c, t)
    away = far_city(c.city, rng.randrange(100))
    _, lat, lon = CITIES[c.city]
    _, far_lat, far_lon = CITIES[away]
    km = haversine_km(lat, lon, far_lat, far_lon)
    # Soon enough that no airliner could have made it (well over 900 km/h).
    t += rng.uniform(0.3, 0.8) * km / 1000.0 * HOUR
    device = f"{c.account_id}-x{rng.randrange(1000)}"
    ip = f"198.51.100.{rng.randrange(1, 255)}"
    em.login(c, t, success=True, device=device, ip=ip, city=away, scenario=name)
    t += rng.uniform(60, 300)
    event_id = em.payment(
        c,
        t,
        amount=c.typical_amount * rng.uniform(2, 8),
        channel="online",
        txn_type="transfer",
        auth="sms_otp",
        payee=_unlisted_mule(em, bank),
        device=device,
        ip=ip,
        city=away,
        scenario=name,
    )
    label_payment(
        em, c, event_id, t, fraud=True, source="customer_report", delay=rng.uniform(3, 72) * HOUR
    )


def mule_payee(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """A scam victim pays an account the police already flagged as a mule."""
    rng = em.rng
    name = "mule_payee"
    device = c.devices[0]
    em.login(c, t, success=True, device=device, ip=c.home_ip, city=c.city)
    bank.logged_in(c, t)
    t += rng.uniform(60, 600)
    event_id = em.payment(
        c,
        t,
        amount=c.typical_amount * rng.uniform(1, 5),
        channel="mobile",
        txn_type="transfer",
        auth=c.strong_auth,
        payee=bank.listed_mules[rng.randrange(len(bank.listed_mules))],
        device=device,
        ip=c.home_ip,
        city=c.city,
        scenario=name,
    )
    label_payment(em, c, event_id, t, fraud=True, source="police", delay=rng.uniform(1, 7) * DAY)


SCENARIOS: dict[str, tuple[Scenario, float]] = {
    "account_takeover": (account_takeover, 0.30),
    "card_testing": (card_testing, 0.20),
    "large_night_transfer": (large_night_transfer, 0.20),
    "impossible_travel": (impossible_travel, 0.15),
    "mule_payee": (mule_payee, 0.15),
}
