"""Activity from two places no traveller could connect in time."""

from __future__ import annotations

from riskflow.features.geo import haversine_km
from riskflow.simulator.bank import Bank, Customer
from riskflow.simulator.emitter import Emitter
from riskflow.simulator.geography import CITIES
from riskflow.simulator.scenarios._common import far_city, unlisted_mule
from riskflow.simulator.sessions import HOUR, label_payment

__all__ = ["impossible_travel"]


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
        payee=unlisted_mule(em, bank),
        device=device,
        ip=ip,
        city=away,
        scenario=name,
    )
    delay = rng.uniform(3, 72) * HOUR
    label_payment(em, c, event_id, t, fraud=True, source="customer_report", delay=delay)
