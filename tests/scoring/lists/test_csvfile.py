"""The lists CSV: bad rows reported by line, the rest loaded; export reads back the same."""

from __future__ import annotations

import csv
import io
import ipaddress
import logging
import os
import string
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from riskflow.contract.messages import Payment
from riskflow.scoring.lists.csvfile import COLUMNS, FileLists, entries_to_csv, read_entries
from riskflow.scoring.lists.entries import ENTITIES, ListEntry

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


def entry(kind: str, entity: str, value: str, **kw) -> ListEntry:
    return ListEntry(
        entity=entity,  # type: ignore[arg-type]
        value=value,
        kind=kind,  # type: ignore[arg-type]
        reason=kw.pop("reason", "reported"),
        source=kw.pop("source", "police"),
        created_by=kw.pop("created_by", "analyst"),
        created_at=NOW,
        **kw,
    )


def to_csv(entries: list[ListEntry]) -> str:
    return "".join(entries_to_csv(entries))


# --- reading ---------------------------------------------------------------------------


def test_bad_rows_are_reported_by_line_and_good_rows_load():
    text = (
        "entity,value,list,reason,source,expires_at,suppress\n"  # line 1
        "payee,M1,deny,mule,police,,\n"  # 2
        "comet,X,deny,?,police,,\n"  # 3: unknown entity
        "device,D1,allow,known good,branch,,watch\n"  # 4: allow without expiry
        "ip,10.0.0.0/8,watch,botnet,partner_bank,2030-01-01T00:00:00Z,\n"  # 5
        "payee,M2,deny,mule,sheriff,,\n"  # 6: unknown source
        "device,D2,allow,known good,branch,2030-01-01T00:00:00Z,velocity_burst;watch\n"  # 7
        "payee,,deny,empty value,police,,\n"  # 8
        "ip,10.0.0.0/33,deny,bad range,police,,\n"  # 9
        "payee,M3,grey,?,police,,\n"  # 10: unknown list
        "payee,M4,deny,no zone,police,2030-01-01T00:00:00,\n"  # 11: naive expiry
    )
    entries, errors = read_entries(text, actor="ops", now=NOW)
    assert [e.id for e in entries] == ["deny:payee:M1", "watch:ip:10.0.0.0/8", "allow:device:D2"]
    assert [e.line for e in errors] == [3, 4, 6, 8, 9, 10, 11]
    by_line = {e.line: e.error for e in errors}
    assert "entity" in by_line[3] and "expiry" in by_line[4] and "source" in by_line[6]
    assert "value" in by_line[8] and "list" in by_line[10] and "timezone" in by_line[11]
    assert entries[2].suppress == ["velocity_burst", "watch"]
    assert entries[1].expires_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_a_bad_number_is_a_bad_row_not_a_failed_import():
    text = "entity,value,list,min_amount\nmerchant,S1,watch,lots\nmerchant,S2,watch,2500.5\n"
    entries, errors = read_entries(text, now=NOW)
    assert [(e.line, "lots" in e.error) for e in errors] == [(2, True)]
    assert [(e.value, e.min_amount) for e in entries] == [("S2", 2500.5)]


@pytest.mark.parametrize(
    "before",
    [
        "payee,M1\n\n",  # a blank line, as hand-edited files have
        'payee,M1,"two\nlines"\n',  # a reason spanning two lines
    ],
    ids=["blank-line", "multi-line-field"],
)
def test_the_line_number_is_the_line_in_the_file(before):
    text = "entity,value,reason\n" + before + "comet,X,?\n"
    bad_line = text.count("\n")  # the bad row is the file's last line
    entries, errors = read_entries(text, now=NOW)
    assert [e.value for e in entries] == ["M1"]
    assert [e.line for e in errors] == [bad_line]


def test_a_plain_deny_list_file_is_valid():
    text = (
        "entity,value,reason,source\npayee,M1,mule,police\nip,203.0.113.0/24,botnet,partner_bank\n"
    )
    entries, errors = read_entries(text, actor="feed", now=NOW)
    assert errors == []
    assert [e.id for e in entries] == ["deny:payee:M1", "deny:ip:203.0.113.0/24"]
    first = entries[0]
    assert (first.reason, first.source) == ("mule", "police")
    # What the file leaves out comes from the import, or the entry's own defaults.
    assert (first.created_by, first.created_at) == ("feed", NOW)
    assert first.expires_at is None and first.suppress == [] and first.channels is None


def test_only_entity_and_value_are_required():
    entries, errors = read_entries("value,entity\nD9,device\n", now=NOW)
    assert errors == []
    assert (entries[0].id, entries[0].source, entries[0].reason) == (
        "deny:device:D9",
        "internal",
        "",
    )


def test_cells_are_trimmed_and_lists_split_on_semicolons():
    text = (
        "entity,value,list,channels,suppress,expires_at,min_amount\n"
        " merchant , S1 , watch ,pos; online;;,,, 100 \n"
        "device,D1,allow,,new_device_large_payment ; watch,2030-01-01T08:00:00+08:00,\n"
    )
    entries, errors = read_entries(text, now=NOW)
    assert errors == []
    watch, allow = entries
    assert (watch.entity, watch.value, watch.kind) == ("merchant", "S1", "watch")
    assert watch.channels == ["pos", "online"] and watch.min_amount == 100.0
    assert allow.suppress == ["new_device_large_payment", "watch"]
    assert allow.expires_at == datetime(2030, 1, 1, tzinfo=UTC)  # the same instant


@pytest.mark.parametrize(
    ("header", "missing"),
    [("kind,what", "['entity', 'value']"), ("entity,reason", "['value']"), ("value", "['entity']")],
)
def test_a_header_without_entity_or_value_is_one_error_on_line_one(header, missing):
    entries, errors = read_entries(f"{header}\npayee,M1\n")
    assert entries == []
    assert [(e.line, missing in e.error) for e in errors] == [(1, True)]


def test_an_empty_file_or_a_header_alone_gives_nothing():
    assert read_entries("entity,value\n") == ([], [])
    assert read_entries("")[0] == [] and read_entries("")[1][0].line == 1


# --- writing and reading back -------------------------------------------------------------


def test_an_export_has_the_documented_columns_and_one_row_per_entry_by_id():
    entries = [entry("watch", "payee", "B"), entry("deny", "payee", "A"), entry("deny", "ip", "C")]
    rows = list(csv.reader(io.StringIO(to_csv(entries))))
    assert tuple(rows[0]) == COLUMNS and rows[0][2] == "list"
    assert [r[2] + ":" + r[0] + ":" + r[1] for r in rows[1:]] == sorted(e.id for e in entries)
    assert to_csv([]).splitlines() == [",".join(COLUMNS)]


def test_awkward_text_survives_export_and_import():
    entries = [
        entry("deny", "payee", "6222-0202", reason='mule, "cash-out" ring; case 7'),
        entry(
            "watch",
            "ip",
            "2001:db8::/48",
            action="challenge",
            channels=["mobile", "online"],
            min_amount=0.1 + 0.2,  # a float that needs all its digits
            expires_at=datetime(2027, 1, 1, 9, 30, tzinfo=timezone(timedelta(hours=8))),
        ),
        entry("allow", "device", "D:1", expires_at=NOW + timedelta(days=30), suppress=["watch"]),
    ]
    back, errors = read_entries(to_csv(entries), actor="someone else", now=NOW + timedelta(1))
    assert errors == []
    assert sorted(back, key=lambda e: e.id) == sorted(entries, key=lambda e: e.id)


values = st.text(string.ascii_letters + string.digits + "-_.:", min_size=1, max_size=20)
texts = st.text(string.ascii_letters + " ,;\"'", max_size=30).map(str.strip)
ips = st.ip_addresses().map(str) | st.tuples(st.ip_addresses(), st.integers(0, 128)).map(
    lambda ap: str(ipaddress.ip_network((ap[0], min(ap[1], ap[0].max_prefixlen)), strict=False))
)


@st.composite
def list_entries(draw) -> ListEntry:
    kind = draw(st.sampled_from(["deny", "watch", "allow"]))
    expires = draw(st.none() | st.integers(1, 10_000).map(lambda h: NOW + timedelta(hours=h)))
    suppress = draw(
        st.lists(
            st.sampled_from(["watch", "velocity_burst", "card_testing"]), max_size=2, unique=True
        )
    )
    if kind == "allow":
        expires = expires or NOW + timedelta(days=1)
        suppress = suppress or ["watch"]
    entity = draw(st.sampled_from(ENTITIES))
    return ListEntry(
        entity=entity,
        value=draw(ips if entity == "ip" else values),
        kind=kind,
        reason=draw(texts),
        source=draw(st.sampled_from(["police", "partner_bank", "internal", "branch"])),
        created_by=draw(values),
        created_at=NOW,
        expires_at=expires,
        action=draw(st.sampled_from(["challenge", "review"])),
        channels=draw(
            st.none()
            | st.lists(
                st.sampled_from(["atm", "pos", "online"]), min_size=1, max_size=2, unique=True
            )
        ),
        min_amount=draw(st.none() | st.floats(0, 1e7, allow_nan=False)),
        suppress=suppress,
    )


@given(st.lists(list_entries(), max_size=8, unique_by=lambda e: e.id))
def test_export_then_import_gives_the_same_entries(entries):
    back, errors = read_entries(to_csv(entries))
    assert errors == []
    assert sorted(back, key=lambda e: e.id) == sorted(entries, key=lambda e: e.id)


# --- the file-backed list source ------------------------------------------------------------


def stamp(path, seconds: int) -> None:
    os.utime(path, ns=(seconds * 10**9, seconds * 10**9))


def test_a_list_file_is_reread_only_after_the_interval_and_when_changed(tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text("entity,value\n")
    lists = FileLists(path, check_interval_s=1.0)
    assert len(lists.current(0.0)) == 0 and lists.reloads == 1
    path.write_text("entity,value\npayee,M1\npayee,M2\n")
    stamp(path, 1_000_000_000)
    assert len(lists.current(0.5)) == 0  # not looked at again before the interval
    assert len(lists.current(1.0)) == 2  # the interval has passed
    assert lists.reloads == 2
    lists.current(3.0)
    assert lists.reloads == 2  # unchanged file: not parsed again
    path.unlink()
    assert len(lists.current(5.0)) == 2  # an unreadable file keeps the last good copy


def test_a_change_of_mtime_alone_or_size_alone_is_noticed(tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text("entity,value\npayee,M1\n")
    stamp(path, 1_000_000_000)
    lists = FileLists(path, check_interval_s=1.0)
    # Same size, new content, new mtime (an editor saving an edited value in place).
    path.write_text("entity,value\npayee,M2\n")
    stamp(path, 1_000_000_100)
    assert [e.value for e in lists.current(1.0).entries()] == ["M2"]
    # New size, mtime put back to what it was (a copy that preserves times).
    path.write_text("entity,value\npayee,M3\npayee,M4\n")
    stamp(path, 1_000_000_100)
    assert sorted(e.value for e in lists.current(2.0).entries()) == ["M3", "M4"]
    assert lists.reloads == 3


def test_a_list_file_with_bad_rows_loads_the_good_ones_and_says_which_were_skipped(
    tmp_path, caplog
):
    path = tmp_path / "lists.csv"
    path.write_text("entity,value\npayee,M1\ncomet,X\n")
    with caplog.at_level(logging.WARNING, logger="riskflow.scoring.lists.csvfile"):
        lists = FileLists(path)
    assert [e.value for e in lists.current(0.0).entries()] == ["M1"]
    assert any("line 3" in r.getMessage() for r in caplog.records)


def test_screening_through_a_list_file_follows_its_changes(tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text("entity,value,reason,source\n")
    stamp(path, 1_000_000_000)
    lists = FileLists(path, check_interval_s=10.0)
    event = Payment(
        event_id="P1",
        ts=NOW,
        account_id="A1",
        amount=10.0,
        channel="online",
        txn_type="transfer",
        payee_account="MULE",
    )
    t = NOW.timestamp()
    features: dict = {}
    assert lists.screen(event, features, t).deny == () and features["payee_listed"] is False
    path.write_text("entity,value,reason,source\npayee,MULE,mule,police\n")
    stamp(path, 1_000_000_001)
    assert lists.screen(event, features, t + 9).deny == ()  # still within the interval
    assert [e.id for e in lists.screen(event, features, t + 10).deny] == ["deny:payee:MULE"]
    assert features["payee_listed"] is True


def test_no_list_file_means_empty_lists(tmp_path):
    lists = FileLists(None)
    assert len(lists.current(0.0)) == 0 and lists.reloads == 0
    missing = FileLists(tmp_path / "absent.csv")
    assert len(missing.current(0.0)) == 0 and missing.reloads == 0


def test_a_file_saved_with_a_byte_order_mark_loads(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("entity,value\npayee,M1\n".encode("utf-8-sig"))
    lists = FileLists(path)
    assert len(lists.current(0.0)) == 1
