"""Authorised push-payment scams: the customer, talked into it, sends the money themself."""

from __future__ import annotations

from riskflow.simulator.bank import Bank, Customer
from riskflow.simulator.emitter import Emitter
from riskflow.simulator.scenarios._common import unlisted_mule
from riskflow.simulator.sessions import DAY, HOUR, label_payment

__all__ = ["large_night_transfer", "mule_payee"]


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
        payee=unlisted_mule(em, bank),
        device=device,
        ip=c.home_ip,
        city=c.city,
        scenario=name,
    )
    delay = rng.uniform(6, 72) * HOUR
    label_payment(em, c, event_id, when, fraud=True, source="customer_report", delay=delay)


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
