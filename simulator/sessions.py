"""What honest customers do: log in, pay the usual people, sometimes surprise us."""

from __future__ import annotations

import random

from riskflow.simulator.bank import (
    AUTH_BY_STRENGTH,
    CHANNEL_TXNS,
    LOGIN_CHANNELS,
    TRAVELLING,
    Bank,
    Customer,
)
from riskflow.simulator.emitter import Emitter

__all__ = ["DAY", "HOUR", "cycle_session", "label_payment", "normal_session"]

HOUR = 3600.0
DAY = 86400.0
_TRAVEL_CHANNELS = ("mobile", "pos", "pos", "atm")


def label_payment(
    em: Emitter, c: Customer, event_id: str, t: float, *, fraud: bool, source: str, delay: float
) -> None:
    em.feedback(c, event_id, t + delay, "fraud" if fraud else "legit", source)


def _auth(rng: random.Random, c: Customer, channel: str, amount: float) -> str:
    if channel in ("atm", "pos", "branch"):
        return "card_pin"
    if amount > 4 * c.typical_amount:
        return c.strong_auth
    return rng.choice(AUTH_BY_STRENGTH[:2])


def _review_label(
    em: Emitter, c: Customer, event_id: str, t: float, rate: float, emit: bool
) -> None:
    """A surprising but genuine payment is the kind a branch gets asked about within hours."""
    if em.rng.random() < rate:
        delay = em.rng.uniform(1, 8) * HOUR
        # Drawn either way, so payments and logins are the same with or without reviews.
        if emit:
            label_payment(em, c, event_id, t, fraud=False, source="branch_review", delay=delay)


def normal_session(
    em: Emitter,
    bank: Bank,
    c: Customer,
    t: float,
    cfg_label_rate: float,
    branch_reviews: bool = True,
) -> None:
    rng = em.rng
    trip = bank.trip(c, t)
    if trip == TRAVELLING:
        return
    if trip is not None:
        channel = rng.choice(_TRAVEL_CHANNELS)
        city = trip
    else:
        channel = rng.choices(c.channels, c.channel_weights)[0]
        city = c.city
    surprising = trip is not None
    device = ip = None
    if channel in LOGIN_CHANNELS:
        device = c.devices[rng.randrange(len(c.devices))]
        if rng.random() < 0.005:
            fresh = bank.new_device(c)  # a new phone
            if fresh is not None:
                device, surprising = fresh, True
        if trip is not None:
            ip = f"100.72.{rng.randrange(256)}.{rng.randrange(256)}"  # hotel wifi, roaming
        elif rng.random() < 0.85:
            ip = c.home_ip
        else:
            ip = f"100.64.{rng.randrange(256)}.{rng.randrange(256)}"
        if rng.random() < 0.03:
            em.login(c, t, success=False, channel=channel, device=device, ip=ip, city=city)
            t += rng.uniform(5, 40)  # a mistyped password, then the right one
        em.login(c, t, success=True, channel=channel, device=device, ip=ip, city=city)
        bank.logged_in(c, t)
        payments = rng.choice((0, 1, 1, 1, 2, 2, 3))
    else:
        payments = 1
    for _ in range(payments):
        t += rng.uniform(20, 600)
        txn = rng.choice(CHANNEL_TXNS[channel])
        amount = c.typical_amount * rng.lognormvariate(0.0, 0.6)
        large = rng.random() < 0.005
        if large:
            amount *= rng.uniform(5, 15)  # an unusual but genuine large purchase
        payee = merchant = terminal = None
        if txn == "transfer":
            payee = bank.new_payee(c) if rng.random() < 0.08 else None
            if payee is None:
                payee = c.payees[rng.randrange(len(c.payees))]
        elif txn in ("card", "bill"):
            merchant = bank.merchants[(c.index * 7 + rng.randrange(12)) % len(bank.merchants)]
            if trip is not None:
                merchant = bank.merchants[rng.randrange(len(bank.merchants))]
        if channel in ("atm", "pos"):
            terminal = f"T{(c.index * 3 + rng.randrange(4)) % 9000:04d}"
            if trip is not None:
                terminal = f"T{9000 + city * 50 + rng.randrange(50):04d}"
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
        if large or surprising:
            _review_label(em, c, event_id, t, 0.3, branch_reviews)
        elif rng.random() < cfg_label_rate:
            if rng.random() < 0.5:
                label_payment(em, c, event_id, t, fraud=False, source="no_dispute", delay=30 * DAY)
            else:
                delay = rng.uniform(2, 24) * HOUR
                if branch_reviews:
                    source = "branch_review"
                else:
                    source, delay = "no_dispute", 30 * DAY
                label_payment(em, c, event_id, t, fraud=False, source=source, delay=delay)


def cycle_session(em: Emitter, bank: Bank, c: Customer, day_start: float) -> None:
    """Payday: salary has come in; rent goes to the usual payee and the bills get paid."""
    if not c.billers and not c.rent:
        return
    rng = em.rng
    t = day_start + (c.active_from + rng.uniform(0, 3)) * HOUR + rng.randrange(3) * DAY
    channel = "mobile" if rng.random() < 0.7 else "online"
    device = c.devices[0]
    city, ip = c.city, c.home_ip
    away = bank.trip(c, t)
    if away == TRAVELLING:
        return  # paid when back; the month's cycle is not the point of the trip
    if away is not None:
        city, ip = away, f"100.72.{rng.randrange(256)}.{rng.randrange(256)}"
    em.login(c, t, success=True, channel=channel, device=device, ip=ip, city=city)
    if c.rent:
        t += rng.uniform(30, 300)
        amount = c.rent * rng.uniform(0.98, 1.02)
        em.payment(
            c,
            t,
            amount=amount,
            channel=channel,
            txn_type="transfer",
            auth=_auth(rng, c, channel, amount),
            payee=c.payees[0],
            device=device,
            ip=ip,
            city=city,
        )
    for merchant, usual in c.billers:
        t += rng.uniform(20, 200)
        amount = usual * rng.uniform(0.8, 1.25)
        em.payment(
            c,
            t,
            amount=amount,
            channel=channel,
            txn_type="bill",
            auth=_auth(rng, c, channel, amount),
            merchant=merchant,
            device=device,
            ip=ip,
            city=city,
        )
