"""Mule networks: an account that receives from many scam victims and pays it on at once."""

from __future__ import annotations

from riskflow.simulator.bank import Bank, Customer
from riskflow.simulator.emitter import Emitter
from riskflow.simulator.scenarios._common import other_customer, unlisted_mule
from riskflow.simulator.sessions import DAY, label_payment

__all__ = ["mule_network"]


def mule_network(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """`c` is recruited as a mule: 3-10 victims pay it over 1-3 days, each sum forwarded fast.

    The victims are scammed on their own phones at home, so their transfers
    look like them; the mule pays 70-95% on to one or two outside accounts
    10-90 minutes after each arrival, keeping the rest.
    """
    rng = em.rng
    span = rng.uniform(1, 3) * DAY
    arrivals = sorted(t + rng.uniform(0, span) for _ in range(rng.randint(3, 10)))
    victims: set[int] = set()
    for when in arrivals:
        victim = other_customer(em, bank, c)
        if bank.trip(victim, when) is not None:
            continue  # away, and not answering the scammer's calls
        victims.add(victim.index)
        _fleece(em, bank, c, victim, when)
    # A network worth recruiting a mule for has at least three victims; the
    # bound keeps a tiny bank from looping for ever.
    for _ in range(50):
        if len(victims) >= 3:
            break
        when = t + rng.uniform(0, span)
        victim = other_customer(em, bank, c)
        if victim.index in victims or bank.trip(victim, when) is not None:
            continue
        victims.add(victim.index)
        _fleece(em, bank, c, victim, when)


def _fleece(em: Emitter, bank: Bank, mule: Customer, victim: Customer, when: float) -> None:
    """One victim's transfer to the mule, and the mule passing most of it on."""
    rng = em.rng
    name = "mule_network"
    device = victim.devices[0]
    em.login(victim, when, success=True, device=device, ip=victim.home_ip, city=victim.city)
    when += rng.uniform(60, 600)
    amount = round(victim.typical_amount * rng.uniform(2, 10), 2)
    incoming = em.payment(
        victim,
        when,
        amount=amount,
        channel="mobile",
        txn_type="transfer",
        auth=victim.strong_auth,
        payee=mule.account_id,
        device=device,
        ip=victim.home_ip,
        city=victim.city,
        scenario=name,
        details={"role": "victim", "mule": mule.account_id},
    )
    delay = rng.uniform(1, 10) * DAY
    label_payment(em, victim, incoming, when, fraud=True, source="police", delay=delay)
    out = when + rng.uniform(10, 90) * 60
    keep = amount * rng.uniform(0.70, 0.95)
    parts = rng.randint(1, 2)
    for _ in range(parts):
        payee = unlisted_mule(em, bank) if rng.random() < 0.5 else f"B{rng.randrange(10**7):07d}"
        payout = em.payment(
            mule,
            out,
            amount=keep / parts,
            channel="mobile",
            txn_type="transfer",
            auth="sms_otp",
            payee=payee,
            device=mule.devices[0],
            ip=mule.home_ip,
            scenario=name,
            details={"role": "mule", "mule": mule.account_id, "incoming": incoming},
        )
        delay = rng.uniform(2, 14) * DAY
        label_payment(em, mule, payout, out, fraud=True, source="police", delay=delay)
        out += rng.uniform(20, 300)
