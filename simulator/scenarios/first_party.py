"""First-party abuse: the customer buys, then swears it was not them."""

from __future__ import annotations

from riskflow.simulator.bank import Bank, Customer
from riskflow.simulator.emitter import Emitter
from riskflow.simulator.sessions import DAY, HOUR, label_payment

__all__ = ["first_party"]


def first_party(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """Ordinary-looking online purchases on the customer's own device, disputed weeks later.

    Nothing in the events is unusual: own device, home IP, usual merchants,
    usual hours, a few times the usual amount. Only the chargeback says it
    was fraud.
    """
    local = (t + 8 * HOUR) % DAY
    opens, last = c.active_from * HOUR, (c.active_to - 1) * HOUR
    if not opens <= local <= last:
        # Someone planning a dispute shops when they always do; starting an
        # hour before closing keeps the last purchase inside their hours.
        t += (opens + local % HOUR - local) % DAY
    if bank.trip(c, t) is not None:
        return
    rng = em.rng
    name = "first_party"
    device = c.devices[rng.randrange(len(c.devices))]
    em.login(c, t, success=True, channel="online", device=device, ip=c.home_ip, city=c.city)
    bank.logged_in(c, t)
    for _ in range(rng.randint(1, 3)):
        t += rng.uniform(60, 900)
        merchant = bank.merchants[(c.index * 7 + rng.randrange(12)) % len(bank.merchants)]
        amount = c.typical_amount * rng.uniform(2, 6)
        event_id = em.payment(
            c,
            t,
            amount=amount,
            channel="online",
            txn_type="card",
            auth=c.strong_auth if amount > 4 * c.typical_amount else "password",
            merchant=merchant,
            device=device,
            ip=c.home_ip,
            city=c.city,
            scenario=name,
        )
        delay = rng.uniform(20, 60) * DAY
        label_payment(em, c, event_id, t, fraud=True, source="chargeback", delay=delay)
