"""Each fraud scenario's ground truth is consistent with the events it wrote."""

from __future__ import annotations

import itertools
import json
import random
from collections import defaultdict
from typing import Any

import pytest

from riskflow.simulator.bank import Bank
from riskflow.simulator.config import SimConfig
from riskflow.simulator.emitter import Emitter
from riskflow.simulator.scenarios import SCENARIOS
from riskflow.simulator.scenarios.cards import card_testing_across_cards
from riskflow.simulator.stream import generate_with_truth
from riskflow.simulator.timefmt import Stamper

# Long enough that skimmed cards (cashed out up to 11.5 days after the
# skimmer goes in) are complete for the incidents of the first half.
CONFIG = SimConfig(seed=4, customers=1500, days=25.0, events_per_customer_day=3.0, fraud_rate=0.03)
HOUR = 3600.0
DAY = 86400.0
END = CONFIG.start.timestamp() + CONFIG.days * DAY
LABELS = {
    "password_guessing": ("customer_report", 48 * HOUR),
    "credential_stuffing": ("customer_report", 48 * HOUR),
    "sim_swap": ("customer_report", 48 * HOUR),
    "card_testing": ("chargeback", 45 * DAY),
    "card_testing_across_cards": ("chargeback", 45 * DAY),
    "compromised_terminal": ("chargeback", 45 * DAY),
    "large_night_transfer": ("customer_report", 72 * HOUR),
    "mule_payee": ("police", 7 * DAY),
    "mule_network": ("police", 14 * DAY),
    "first_party": ("chargeback", 60 * DAY),
    "impossible_travel": ("customer_report", 72 * HOUR),
}
"""scenario -> the source of its fraud labels and their latest delay."""


class Stream:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        """Every payment and login, decoded, with `_kind`, `_t` and `_truth` (None if honest)."""
        self.labels: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for record, truth in generate_with_truth(CONFIG):
            body = json.loads(record.payload)
            if record.kind == "feedback":
                self.labels[body["event_id"]].append(body | {"_t": record.ts})
            else:
                self.events.append(body | {"_kind": record.kind, "_t": record.ts, "_truth": truth})
        self.by_id = {e["event_id"]: e for e in self.events}

    def fraud(self, scenario: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["_truth"] and e["_truth"]["scenario"] == scenario]


@pytest.fixture(scope="module")
def stream() -> Stream:
    return Stream()


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_every_scenario_happens_and_its_fraud_payments_are_labelled_fraud_later(stream, scenario):
    events = stream.fraud(scenario)
    payments = [e for e in events if e["_kind"] == "payment"]
    assert payments, scenario
    source, latest = LABELS[scenario]
    labelled = 0
    for p in payments:
        labels = stream.labels[p["event_id"]]
        if p["_t"] + latest < END:
            assert [lab["label"] for lab in labels] == ["fraud"]
        else:
            # Possibly due after the simulated days, so not in the stream.
            assert [lab["label"] for lab in labels] in ([], ["fraud"])
        for label in labels:
            assert label["source"] == source
            assert 0 < label["_t"] - p["_t"] <= latest
            labelled += 1
    assert labelled > 0


def _incident_accounts(events: list[tuple[float, Any]], scenario: str) -> set[str]:
    """The accounts an incident touches that count towards its size."""
    accounts = set()
    for _, pending in events:
        truth = pending.truth
        if truth is None or truth["scenario"] != scenario:
            continue
        if scenario == "credential_stuffing" and pending.kind != "login":
            continue
        if scenario == "mule_network" and truth["details"]["role"] != "victim":
            continue
        accounts.add(pending.key)
    return accounts


def test_scenarios_start_no_earlier_than_called_and_keep_their_minimum_size():
    # The stream releases everything up to the clock before the next session,
    # so an event before the start would come out of order.
    minimum = {
        "credential_stuffing": 30,
        "mule_network": 3,
        "compromised_terminal": 5,
        "card_testing_across_cards": 15,
    }
    bank = Bank(CONFIG)
    em = Emitter(random.Random(1))
    rng = random.Random(2)
    for name, (scenario, _) in SCENARIOS.items():
        for _ in range(60):
            t = CONFIG.start.timestamp() + rng.uniform(0, CONFIG.days * DAY)
            scenario(em, bank, bank.customer(rng.randrange(bank.size)), t)
            events = [em.pop() for _ in range(len(em.heap))]
            if not events:
                # A customer away from home does not shop to dispute it: nothing is written.
                assert name == "first_party", name
                continue
            assert min(when for when, _ in events) >= t, name
            if name in minimum:
                assert len(_incident_accounts(events, name)) >= minimum[name], name


def test_fraud_stays_well_under_one_percent_of_payments_at_the_default_rate():
    payments = fraud = 0
    for record, truth in generate_with_truth(SimConfig(seed=5, days=2.0)):
        if record.kind == "payment":
            payments += 1
            fraud += bool(truth and truth["is_fraud"])
    assert payments > 50_000
    assert 0 < fraud / payments < 0.007


def test_credential_stuffing_comes_from_a_few_ips_across_many_accounts(stream):
    campaigns: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in stream.fraud("credential_stuffing"):
        campaigns[e["_truth"]["details"]["campaign"]].append(e)
    assert campaigns
    for events in campaigns.values():
        logins = [e for e in events if e["_kind"] == "login"]
        assert len({e["ip"] for e in logins}) <= 5
        if logins[0]["_t"] < END - HOUR:  # a campaign is over within half an hour
            assert len({e["account_id"] for e in logins}) >= 30
        assert sum(e["success"] for e in logins) < 0.2 * len(logins)
        for p in (e for e in events if e["_kind"] == "payment"):
            opened = [
                e
                for e in logins
                if e["success"] and e["account_id"] == p["account_id"] and e["_t"] < p["_t"]
            ]
            assert opened, "money moves only from accounts the campaign got into"
            assert p["ip"] == opened[-1]["ip"] and p["device_id"] == opened[-1]["device_id"]


def test_guessed_passwords_fail_on_one_account_before_the_transfers(stream):
    events = stream.fraud("password_guessing")
    by_account: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in events:
        by_account[e["account_id"]].append(e)
    for mine in by_account.values():
        logins = [e for e in mine if e["_kind"] == "login"]
        first_in = next(e for e in logins if e["success"])
        failures = [e for e in logins if not e["success"] and e["_t"] < first_in["_t"]]
        assert len(failures) >= 3
        assert {e["ip"] for e in failures} == {first_in["ip"]}
        assert all(e["_t"] > first_in["_t"] for e in mine if e["_kind"] == "payment")


def test_sim_swap_logs_in_on_a_new_device_with_sms_and_stays_under_the_sms_limit(stream):
    known: dict[str, set[str]] = defaultdict(set)
    swaps = 0
    for e in stream.events:
        truth = e["_truth"]
        if truth is None or truth["scenario"] != "sim_swap":
            if e.get("device_id"):
                known[e["account_id"]].add(e["device_id"])
            continue
        assert e["auth_method"] == "sms_otp"
        assert e["device_id"] not in known[e["account_id"]]
        if e["_kind"] == "login":
            swaps += 1
            assert e["success"]
        else:
            assert e["amount"] < 50_000 and e["txn_type"] == "transfer"
    assert swaps
    logins: dict[str, list[float]] = defaultdict(list)
    for e in stream.fraud("sim_swap"):
        if e["_kind"] == "login":
            logins[e["account_id"]].append(e["_t"])
        else:
            assert any(0 < e["_t"] - t <= 30 * 60 for t in logins[e["account_id"]])


def test_mules_receive_from_several_victims_before_paying_out_less(stream):
    events = stream.fraud("mule_network")
    incoming = {e["event_id"]: e for e in events if e["_truth"]["details"]["role"] == "victim"}
    senders: dict[str, set[str]] = defaultdict(set)
    first: dict[str, float] = {}
    for e in incoming.values():
        mule = e["_truth"]["details"]["mule"]
        assert e["payee_account"] == mule and e["account_id"] != mule
        senders[mule].add(e["account_id"])
        first.setdefault(mule, e["_t"])
    # Victims pay within 3 days (and 10 minutes) of the first one.
    complete = [m for m, t in first.items() if t + 3 * DAY + 600 < END]
    assert complete
    assert all(len(senders[m]) >= 3 for m in complete)
    paid_out: dict[str, float] = defaultdict(float)
    for e in events:
        details = e["_truth"]["details"]
        if details["role"] != "mule":
            continue
        source = incoming[details["incoming"]]
        assert e["account_id"] == details["mule"] == source["payee_account"]
        assert 10 * 60 <= e["_t"] - source["_t"] <= 3 * 3600
        paid_out[source["event_id"]] += e["amount"]
    assert paid_out
    for event_id, total in paid_out.items():
        assert total <= 0.95 * incoming[event_id]["amount"] + 0.02


def test_skimmed_cards_were_used_at_the_terminal_before_the_cash_out(stream):
    victims: dict[str, set[str]] = defaultdict(set)
    first: dict[str, float] = {}
    for e in stream.fraud("compromised_terminal"):
        details = e["_truth"]["details"]
        exposed = stream.by_id[details["exposed_event_id"]]
        assert exposed["_truth"] is None, "the payment at the terminal was genuine"
        assert exposed["terminal_id"] == details["terminal"]
        assert exposed["account_id"] == e["account_id"]
        assert exposed["channel"] == "pos" and exposed["auth_method"] == "card_pin"
        assert DAY <= e["_t"] - exposed["_t"] <= 11 * DAY
        assert e["terminal_id"] if e["channel"] == "atm" else e["auth_method"] == "none"
        victims[details["terminal"]].add(e["account_id"])
        first[details["terminal"]] = min(first.get(details["terminal"], END), exposed["_t"])
    # Cards are used within 36 hours and cashed out within 10 days and an hour.
    complete = [k for k, t in first.items() if t + 36 * HOUR + 10 * DAY + HOUR < END]
    assert complete
    assert all(len(victims[k]) >= 5 for k in complete)


def test_cards_tested_across_one_shop_are_many_accounts_tried_seconds_apart_from_a_stranger():
    bank = Bank(CONFIG)
    em = Emitter(random.Random(3))
    rng = random.Random(4)
    listed = set(bank.listed_devices) | set(bank.listed_ips)
    bursts = set()
    sizes = []
    for _ in range(40):
        t = CONFIG.start.timestamp() + rng.uniform(0, CONFIG.days * DAY)
        card_testing_across_cards(em, bank, bank.customer(rng.randrange(bank.size)), t)
        released = [em.pop() for _ in range(len(em.heap))]
        payments = [(when, p) for when, p in released if p.kind == "payment"]
        labels = {p.body["event_id"]: (when, p) for when, p in released if p.kind == "feedback"}
        bodies = [p.body for _, p in payments]
        accounts = [b["account_id"] for b in bodies]
        sizes.append(len(set(accounts)))
        assert 15 <= len(set(accounts)) <= 40
        assert all(accounts.count(a) <= 2 for a in accounts)
        assert (
            len({b["terminal_id"] for b in bodies}) == len({b["merchant_id"] for b in bodies}) == 1
        )
        assert all(0.5 <= b["amount"] <= 5.0 and b["txn_type"] == "card" for b in bodies)
        times = [when for when, _ in payments]
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert all(5 <= g <= 30 for g in gaps) and times[0] == t
        for when, p in payments:
            victim = bank.customer(int(p.key[1:]))
            assert p.body["device_id"] not in victim.devices and p.body["ip"] != victim.home_ip
            assert p.body["device_id"] not in listed and p.body["ip"] not in listed
            truth = p.truth
            assert truth is not None and truth["is_fraud"]
            assert truth["scenario"] == "card_testing_across_cards"
            assert truth["details"]["terminal"] == p.body["terminal_id"]
            label_t, label = labels[p.body["event_id"]]
            assert label.body["label"] == "fraud" and label.body["source"] == "chargeback"
            assert 7 * DAY <= label_t - when <= 45 * DAY
        assert len(labels) == len(payments)
        assert len({p.truth["details"]["burst"] for _, p in payments}) == 1
        bursts.add(payments[0][1].truth["details"]["burst"])
    assert len(bursts) == 40, "every burst has its own id"
    assert min(sizes) < 25 < max(sizes), "sizes vary across the range"


def test_first_party_fraud_looks_like_the_customer_and_is_disputed_weeks_later(stream):
    bank = Bank(CONFIG)
    events = stream.fraud("first_party")
    assert events
    disputed = 0
    for e in events:
        c = bank.customer(int(e["account_id"][1:]))
        assert e["ip"] == c.home_ip
        assert c.active_at(Stamper.local_hour(e["_t"]))
        assert e["device_id"].startswith(f"dev-{c.index:07d}-") or e["device_id"].startswith(
            f"{c.account_id}-new"
        )
        for label in stream.labels[e["event_id"]]:
            assert label["source"] == "chargeback" and label["_t"] - e["_t"] >= 20 * DAY
            disputed += 1
    assert disputed > 0
