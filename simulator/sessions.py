"""What honest customers do: log in, pay the usual people, sometimes surprise us."""

from __future__ import annotations

import random

from simulator.bank import AUTH_BY_STRENGTH, CHANNEL_TXNS, LOGIN_CHANNELS, Bank, Customer
from simulator.emitter import Emitter
from simulator.geography import CITIES

__all__ = ["label_payment", "normal_session"]

HOUR = 3600.0
DAY = 86400.0


def label_payment(
    em: Emitter, c: Customer, event_id: str, t: float, *, fraud: bool, source: str, delay: float
) -> None:
    em.feedback(c, event_id, t + delay, "fraud" if fraud else "legit", source)


def _amount(rng: random.Random, c: Customer) -> float:
    amount = c.typical_amount * rng.lognormvariate(0.0, 0.6)
    if rng.random() < 0.005:
        amount *= rng.uniform(5, 15)  # an unusual but genuine large purchase
    return amount


def _auth(rng: random.Random, c: Customer, channel: str, amount: float) -> str:
    if channel in ("atm", "pos", "branch"):
        return "card_pin"
    if amount > 4 * c.typical_amount:
        return c.strong_auth
    return rng.choice(AUTH_BY_STRENGTH[:2])


def normal_session(em: Emitter, bank: Bank, c: Customer, t: float, cfg_label_rate: float) -> None:
    rng = em.rng
    channel = rng.choices(c.channels, c.channel_weights)[0]
    city = c.city
    if rng.random() < 0.01 and t - c.last_login > 12 * HOUR:
        city = rng.randrange(len(CITIES))  # away from home, after plenty of time to get there
    device = ip = None
    if channel in LOGIN_CHANNELS:
        device = c.devices[rng.randrange(len(c.devices))]
        if rng.random() < 0.005 and c.new_devices < 3:
            c.new_devices += 1
            device = f"{c.account_id}-new{c.new_devices}"  # a new phone
            c.devices.append(device)
        ip = (
            c.home_ip
            if rng.random() < 0.85
            else f"100.64.{rng.randrange(256)}.{rng.randrange(256)}"
        )
        if rng.random() < 0.03:
            em.login(c, t, success=False, channel=channel, device=device, ip=ip, city=city)
            t += rng.uniform(5, 40)  # a mistyped password, then the right one
        em.login(c, t, success=True, channel=channel, device=device, ip=ip, city=city)
        c.last_login = t
        payments = rng.choice((0, 1, 1, 1, 2, 2, 3))
    else:
        payments = 1
    for _ in range(payments):
        t += rng.uniform(20, 600)
        txn = rng.choice(CHANNEL_TXNS[channel])
        amount = _amount(rng, c)
        payee = merchant = terminal = None
        if txn == "transfer":
            if rng.random() < 0.08 and len(c.payees) < 30:
                c.payees.append(f"B{rng.randrange(10_000_000):07d}")
                payee = c.payees[-1]
            else:
                payee = c.payees[rng.randrange(len(c.payees))]
        elif txn in ("card", "bill"):
            merchant = bank.merchants[(c.index * 7 + rng.randrange(12)) % len(bank.merchants)]
        if channel in ("atm", "pos"):
            terminal = f"T{(c.index * 3 + rng.randrange(4)) % 9000:04d}"
        event_id = em.payment(
            c,
            t,
            amount=amount,
            channel=channel,
            txn_type=txn,
            auth=_auth(rng, c, channel, amount),
            payee=payee,
            merchant=merchant,
            terminal=terminal,
            device=device,
            ip=ip,
            city=city if channel in LOGIN_CHANNELS or channel == "pos" else None,
        )
        if rng.random() < cfg_label_rate:
            if rng.random() < 0.5:
                label_payment(em, c, event_id, t, fraud=False, source="no_dispute", delay=30 * DAY)
            else:
                delay = rng.uniform(2, 24) * HOUR
                label_payment(em, c, event_id, t, fraud=False, source="branch_review", delay=delay)
