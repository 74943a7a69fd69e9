"""Deny-list screening of payments and logins."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from contract.messages import Login, Payment
from scoring.lists import DenyList, DenyListFile

TS = datetime(2026, 3, 1, tzinfo=UTC)
ROWS = (
    "entity,value,reason,source\n"
    "payee,MULE1,mule,police\n"
    "device,D666,emulator farm,partner_bank\n"
    "ip,6.6.6.6,botnet,internal\n"
    "account,A9,frozen,police\n"
    "bogus,x,y,z\n"
)


def test_payment_is_screened_on_payer_payee_device_and_ip(tmp_path):
    path = tmp_path / "deny.csv"
    path.write_text(ROWS)
    lists = DenyList.load(path)
    assert len(lists) == 4  # the bogus row is skipped
    p = Payment(
        event_id="P",
        ts=TS,
        account_id="A9",
        amount=1.0,
        channel="online",
        txn_type="transfer",
        payee_account="MULE1",
        device_id="D666",
        ip="6.6.6.6",
    )
    f: dict = {}
    hits = lists.screen(p, f)
    assert {h.entity for h in hits} == {"account", "payee", "device", "ip"}
    assert f == {
        "account_listed": True,
        "payee_listed": True,
        "device_listed": True,
        "ip_listed": True,
    }
    reason = next(h for h in hits if h.entity == "payee").as_reason()
    assert reason.code == "LISTED_PAYEE" and "police" in reason.detail and "MULE1" in reason.detail


def test_clean_login_sets_every_flag_false(tmp_path):
    path = tmp_path / "deny.csv"
    path.write_text(ROWS)
    login = Login(
        event_id="L", ts=TS, account_id="A1", channel="mobile", success=True, ip="1.1.1.1"
    )
    f: dict = {}
    assert DenyList.load(path).screen(login, f) == []
    assert set(f.values()) == {False}


def test_list_file_is_reread_when_it_changes(tmp_path):
    path = tmp_path / "deny.csv"
    path.write_text("entity,value,reason,source\n")
    holder = DenyListFile(path, check_interval_s=1.0)
    assert len(holder.current(0.0)) == 0
    path.write_text(ROWS)
    os.utime(path, (1e9, 1e9))
    assert len(holder.current(0.5)) == 0  # not checked again before the interval
    assert len(holder.current(1.5)) == 4
    assert holder.reloads == 2
