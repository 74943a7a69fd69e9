"""The lists CSV: bad rows reported by line, the rest loaded; export reads back the same."""

from __future__ import annotations

import os
import string
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from scoring.lists.csvfile import FileLists, entries_to_csv, read_entries
from scoring.lists.entries import ENTITIES, ListEntry

NOW = datetime(2026, 11, 24, 10, tzinfo=UTC)


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
    )
    entries, errors = read_entries(text, actor="ops", now=NOW)
    assert [e.id for e in entries] == ["deny:payee:M1", "watch:ip:10.0.0.0/8", "allow:device:D2"]
    assert [e.line for e in errors] == [3, 4, 6, 8]
    assert "expiry" in errors[1].error
    assert entries[2].suppress == ["velocity_burst", "watch"]
    assert entries[0].created_by == "ops" and entries[0].created_at == NOW


def test_a_plain_deny_list_file_is_valid():
    entries, errors = read_entries("entity,value,reason,source\npayee,M1,mule,police\n")
    assert not errors and entries[0].kind == "deny" and entries[0].source == "police"


def test_a_header_without_entity_or_value_is_one_error():
    entries, errors = read_entries("kind,what\ndeny,M1\n")
    assert entries == [] and errors[0].line == 1 and "entity" in errors[0].error


values = st.text(string.ascii_letters + string.digits + "-_.:", min_size=1, max_size=20)
texts = st.text(string.ascii_letters + " ,;\"'", max_size=30).map(str.strip)


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
    return ListEntry(
        entity=draw(st.sampled_from([e for e in ENTITIES if e != "ip"])),
        value=draw(values),
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
        min_amount=draw(st.none() | st.floats(0, 1e7, allow_nan=False).map(lambda x: round(x, 2))),
        suppress=suppress,
    )


@given(st.lists(list_entries(), max_size=8, unique_by=lambda e: e.id))
def test_export_then_import_gives_the_same_entries(entries):
    back, errors = read_entries("".join(entries_to_csv(entries)))
    assert errors == []
    assert sorted(back, key=lambda e: e.id) == sorted(entries, key=lambda e: e.id)


def test_a_list_file_is_reread_only_after_the_interval_and_when_changed(tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text("entity,value\n")
    lists = FileLists(path, check_interval_s=1.0)
    assert len(lists.current(0.0)) == 0
    path.write_text("entity,value\npayee,M1\npayee,M2\n")
    os.utime(path, (1e9, 1e9))
    assert len(lists.current(0.5)) == 0  # not looked at again before the interval
    assert len(lists.current(1.5)) == 2
    assert lists.reloads == 2
    lists.current(3.0)
    assert lists.reloads == 2  # unchanged file: not parsed again
    path.unlink()
    assert len(lists.current(5.0)) == 2  # an unreadable file keeps the last good copy
