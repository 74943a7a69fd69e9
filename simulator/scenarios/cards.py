"""Stolen card details: tested with tiny payments, on one card or many at one shop, or
skimmed at a terminal and cashed out."""

from __future__ import annotations

from riskflow.simulator.bank import Bank, Customer
from riskflow.simulator.emitter import Emitter
from riskflow.simulator.scenarios._common import far_city
from riskflow.simulator.sessions import DAY, HOUR, label_payment

__all__ = ["card_testing", "card_testing_across_cards", "compromised_terminal"]


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


def card_testing_across_cards(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """A list of stolen cards tested once or twice each for a few units at one small shop.

    No single account shows card testing; the shop's terminal, where 15-40 cards are
    tried seconds apart from one device and IP, does. The truth names the terminal and
    the burst, so a backtest can count the burst as one attack rather than one per card.
    """
    rng = em.rng
    merchant = bank.merchants[rng.randrange(len(bank.merchants))]
    # A web shop's own terminal: honest customers' terminals are `T…`, skimmed ones `TX…`.
    terminal = f"TW{int(t) % 1_000_000:06d}"
    details = {"terminal": terminal, "burst": f"CT{int(t * 1000)}"}
    # Never a listed device or IP: the deny list would stop the burst before the terminal
    # shows anything, and the scenario is there to measure what the terminal shows.
    device = bank.attacker_devices[
        rng.randrange(len(bank.listed_devices), len(bank.attacker_devices))
    ]
    ip = bank.attacker_ips[rng.randrange(len(bank.listed_ips), len(bank.attacker_ips))]
    for victim in _stolen_cards(em, bank, c, rng.randint(15, 40)):
        # A declined card is sometimes tried once more at once, with another amount.
        for _ in range(rng.choice((1, 1, 1, 2))):
            event_id = em.payment(
                victim,
                t,
                amount=rng.uniform(0.5, 5.0),
                channel="online",
                txn_type="card",
                auth="none",
                merchant=merchant,
                terminal=terminal,
                device=device,
                ip=ip,
                scenario="card_testing_across_cards",
                details=details,
            )
            delay = rng.uniform(7, 45) * DAY
            label_payment(em, victim, event_id, t, fraud=True, source="chargeback", delay=delay)
            t += rng.uniform(5, 30)


def _stolen_cards(em: Emitter, bank: Bank, c: Customer, n: int) -> list[Customer]:
    """`c` and other customers, `n` in all, each once (fewer only in a bank that small)."""
    others = [i for i in em.rng.sample(range(bank.size), min(n, bank.size)) if i != c.index]
    return [c, *(bank.customer(i) for i in others[: n - 1])]


def _neighbour(em: Emitter, bank: Bank, city: int) -> Customer:
    """A customer living in `city`: skimmers are local."""
    while True:
        other = bank.customer(em.rng.randrange(bank.size))
        if other.city == city:
            return other


def compromised_terminal(em: Emitter, bank: Bank, c: Customer, t: float) -> None:
    """A skimmer on one terminal copies every card used there for a day or two.

    The customers' own payments at the terminal are genuine; days later each
    copied card is cashed out online or at ATMs in a far city. The fraud's
    truth names the terminal and the genuine payment that exposed the card.
    """
    rng = em.rng
    terminal = f"TX{int(t) % 1_000_000:06d}"
    merchant = bank.merchants[rng.randrange(len(bank.merchants))]
    victims = [c] + [_neighbour(em, bank, c.city) for _ in range(rng.randint(4, 14))]
    seen: set[int] = set()
    for victim in victims:
        when = t + rng.uniform(0, 36) * HOUR
        if victim.index in seen or bank.trip(victim, when) is not None:
            continue  # away from home: they never pass the terminal
        seen.add(victim.index)
        _skim(em, bank, victim, when, c.city, terminal, merchant)
    # Busy enough to be worth a skimmer: at least five cards; the bound keeps
    # a city with few customers from looping for ever.
    for _ in range(50):
        if len(seen) >= 5:
            break
        victim = _neighbour(em, bank, c.city)
        when = t + rng.uniform(0, 36) * HOUR
        if victim.index in seen or bank.trip(victim, when) is not None:
            continue
        seen.add(victim.index)
        _skim(em, bank, victim, when, c.city, terminal, merchant)


def _skim(
    em: Emitter,
    bank: Bank,
    victim: Customer,
    when: float,
    home: int,
    terminal: str,
    merchant: str,
) -> None:
    """A genuine payment at the skimmed terminal, and the copied card cashed out days later."""
    rng = em.rng
    exposed = em.payment(
        victim,
        when,
        amount=victim.typical_amount * rng.lognormvariate(0.0, 0.5),
        channel="pos",
        txn_type="card",
        auth="card_pin",
        merchant=merchant,
        terminal=terminal,
        city=home,
    )
    details = {"terminal": terminal, "exposed_event_id": exposed}
    cash_out = when + rng.uniform(1, 10) * DAY
    atm = rng.random() < 0.4
    city = far_city(home, rng.randrange(100))
    for _ in range(rng.randint(1, 4)):
        event_id = em.payment(
            victim,
            cash_out,
            amount=victim.typical_amount * rng.uniform(2, 12),
            channel="atm" if atm else "online",
            txn_type="withdrawal" if atm else "card",
            auth="card_pin" if atm else "none",
            merchant=None if atm else bank.merchants[rng.randrange(len(bank.merchants))],
            terminal=f"TY{city:02d}{rng.randrange(100):02d}" if atm else None,
            city=city if atm else None,
            scenario="compromised_terminal",
            details=details,
        )
        delay = rng.uniform(7, 45) * DAY
        label_payment(em, victim, event_id, cash_out, fraud=True, source="chargeback", delay=delay)
        cash_out += rng.uniform(60, 900)
