"""Account takeover: someone else logs in as the customer, then moves the money out."""

from __future__ import annotations

from typing import Any

from riskflow.simulator.bank import Bank, Customer
from riskflow.simulator.emitter import Emitter
from riskflow.simulator.scenarios._common import unlisted_mule
from riskflow.simulator.sessions import HOUR, label_payment

__all__ = ["credential_stuffing", "password_guessing", "sim_swap"]

SMS_OTP_TXN_LIMIT = 50_000.0
"""The bank's per-payment limit for SMS OTP: a fraudster who has the SIM stays under it."""


def _cash_out(
    em: Emitter,
    c: Customer,
    bank: Bank,
    t: float,
    *,
    name: str,
    auth: str,
    device: str,
    ip: str,
    transfers: int,
    ratio: tuple[float, float],
    cap: float | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    rng = em.rng
    for _ in range(transfers):
        amount = c.typical_amount * rng.uniform(*ratio)
        if cap is not None:
            amount = min(amount, cap * rng.uniform(0.8, 0.98))
        event_id = em.payment(
            c,
            t,
            amount=amount,
            channel="mobile",
            txn_type="transfer",
            auth=auth,
            payee=unlisted_mule(em, bank),
            device=device,
            ip=ip,
            scenario=name,
            details=details,
        )
        delay = rng.uniform(2, 48) * HOUR
        label_payment(em, c, event_id, t, fraud=True, source="customer_report", delay=delay)
        t += rng.uniform(30, 240)


def password_guessing(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """A targeted attack: failed logins from one IP and emulator until one works, then transfers."""
    rng = em.rng
    name = "password_guessing"
    ip = bank.attacker_ips[rng.randrange(len(bank.attacker_ips))]
    device = bank.attacker_devices[rng.randrange(len(bank.attacker_devices))]
    for _ in range(rng.randint(3, 8)):
        em.login(c, t, success=False, device=device, ip=ip, scenario=name)
        t += rng.uniform(5, 40)
    auth = rng.choice(("sms_otp", "password"))
    em.login(c, t, success=True, device=device, ip=ip, auth=auth, scenario=name)
    t += rng.uniform(5, 25) * 60
    _cash_out(
        em, c, bank, t, name=name, auth=auth, device=device, ip=ip,
        transfers=rng.randint(1, 3), ratio=(3, 20),
    )  # fmt: skip


def credential_stuffing(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """A leaked password list tried across many accounts from a handful of IPs.

    One or two attempts per account, seconds apart; the few customers who
    reused a leaked password are in, and lose money within half an hour.
    """
    rng = em.rng
    name = "credential_stuffing"
    first = rng.randrange(len(bank.attacker_ips) - 5)
    pool = bank.attacker_ips[first : first + rng.randint(2, 5)]
    campaign = f"cs-{c.account_id}-{int(t)}"
    details = {"campaign": campaign}
    target = min(rng.randint(29, 119), bank.size - 1)
    victims = [c]
    seen = {c.index}
    while len(victims) <= target:
        j = rng.randrange(bank.size)
        if j not in seen:  # a leaked list names each account once
            seen.add(j)
            victims.append(bank.customer(j))
    for victim in victims:
        ip = pool[rng.randrange(len(pool))]
        device = bank.attacker_devices[rng.randrange(len(bank.attacker_devices))]
        reused = rng.random() < 0.06
        for attempt in range(rng.randint(1, 2)):
            last = attempt > 0 or rng.random() < 0.5
            success = reused and last
            em.login(
                victim, t, success=success, device=device, ip=ip, scenario=name, details=details
            )
            t += rng.uniform(1, 8)
            if success:
                _cash_out(
                    em, victim, bank, t + rng.uniform(5, 30) * 60, name=name, auth="password",
                    device=device, ip=ip, transfers=rng.randint(1, 2), ratio=(2, 10),
                    details=details,
                )  # fmt: skip
                break


def sim_swap(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """The customer's number is ported to the fraudster's SIM: SMS codes now reach them."""
    rng = em.rng
    name = "sim_swap"
    device = f"{c.account_id}-swap{rng.randrange(1000)}"
    ip = f"198.18.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    em.login(c, t, success=True, device=device, ip=ip, auth="sms_otp", scenario=name)
    t += rng.uniform(2, 20) * 60
    _cash_out(
        em, c, bank, t, name=name, auth="sms_otp", device=device, ip=ip,
        transfers=rng.randint(1, 3), ratio=(5, 30), cap=SMS_OTP_TXN_LIMIT,
    )  # fmt: skip
