"""Every truth format a risk team may hand over reads to the same rows; others are refused."""

from __future__ import annotations

import json

import pytest

from riskflow.backtest.metrics import load_truth
from riskflow.backtest.truth import TruthFormatError, TruthRow, load_truth_rows

# 2026-03-01T10:00:00+08:00 and 2026-03-01T02:30:00Z
T1, T2 = 1772330400.0, 1772332200.0
EXPECTED = [
    TruthRow("P1", "A", "account_takeover", True, T1),
    TruthRow("P2", "B", "", False, T2),
]


def jsonl(tmp_path, rows, name="truth.jsonl"):
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_the_simulators_format(tmp_path):
    path = jsonl(
        tmp_path,
        [
            {"event_id": "P1", "account_id": "A", "scenario": "account_takeover",
             "is_fraud": True, "ts": T1, "kind": "payment"},
            {"event_id": "P2", "account_id": "B", "is_fraud": False, "ts": T2},
        ],
    )  # fmt: skip
    assert load_truth_rows(path) == EXPECTED
    assert load_truth(path) == {"P1"}


@pytest.mark.parametrize(
    ("fraud", "legit"),
    [
        ({"is_fraud": 1}, {"is_fraud": 0}),
        ({"is_fraud": "1"}, {"is_fraud": "0"}),
        ({"is_fraud": "true"}, {"is_fraud": "false"}),
        ({"is_fraud": "TRUE "}, {"is_fraud": "False"}),
        ({"label": "fraud"}, {"label": "legit"}),
        ({"label": 1}, {"label": 0}),
        ({"label": "1"}, {"label": "0"}),
        ({"label": "fraud", "is_fraud": True}, {"label": "legit", "is_fraud": 0}),
    ],
)
def test_flags_and_labels_in_json(tmp_path, fraud, legit):
    path = jsonl(
        tmp_path,
        [
            {"event_id": "P1", "account_id": "A", "scenario": "account_takeover", "ts": T1} | fraud,
            {"event_id": "P2", "account_id": "B", "ts": T2} | legit,
        ],
    )
    assert load_truth_rows(path) == EXPECTED


@pytest.mark.parametrize(
    ("ts1", "ts2"),
    [
        ("2026-03-01T10:00:00+08:00", "2026-03-01T02:30:00Z"),
        ("2026-03-01T02:00:00.000Z", "2026-03-01T02:30:00+00:00"),
        ("2026-03-01 02:00:00+00:00", "2026-03-01T10:30:00+08:00"),
        (str(T1), "1772332200"),
    ],
)
def test_iso_times_in_json(tmp_path, ts1, ts2):
    path = jsonl(
        tmp_path,
        [
            {"event_id": "P1", "account_id": "A", "scenario": "account_takeover",
             "is_fraud": True, "ts": ts1},
            {"event_id": "P2", "account_id": "B", "is_fraud": False, "ts": ts2},
        ],
    )  # fmt: skip
    assert load_truth_rows(path) == EXPECTED


@pytest.mark.parametrize(
    "text",
    [
        "event_id,account_id,scenario,is_fraud,ts\n"
        "P1,A,account_takeover,1,2026-03-01T10:00:00+08:00\n"
        "P2,B,,0,2026-03-01T02:30:00Z\n",
        # A spreadsheet export: byte-order mark, CRLF, another column order, a label, a blank.
        "\ufeffts,label,event_id,account_id,scenario\r\n"
        f"{T1},fraud,P1,A,account_takeover\r\n"
        "\r\n"
        f"{T2},legit,P2,B,\r\n",
        # Quoted fields and a trailing column nobody asked for.
        "event_id,is_fraud,account_id,scenario,ts,note\n"
        f'"P1",true,A,account_takeover,{T1},"called, confirmed"\n'
        f'"P2",false,B,,{T2},\n',
    ],
)
def test_csv_with_a_header(tmp_path, text):
    path = tmp_path / "truth.csv"
    path.write_text(text, encoding="utf-8")
    assert load_truth_rows(path) == EXPECTED


def test_a_csv_is_recognised_without_its_extension(tmp_path):
    path = tmp_path / "truth.txt"
    path.write_text("event_id,is_fraud\nP1,1\nP2,0\n")
    assert load_truth_rows(path) == [TruthRow("P1", is_fraud=True), TruthRow("P2")]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ('{"event_id": "P3", "is_fraud": "maybe"}', "is_fraud is 'maybe'"),
        ('{"event_id": "P3", "is_fraud": 2}', "is_fraud is 2"),
        ('{"event_id": "P3", "is_fraud": 1.0}', "is_fraud"),
        ('{"event_id": "P3", "label": "suspicious"}', "label is 'suspicious'"),
        ('{"event_id": "P3"}', "no is_fraud or label"),
        ('{"is_fraud": true}', "no event_id"),
        ('{"event_id": "P3", "is_fraud": true, "label": "legit"}', "disagree"),
        ('{"event_id": "P3", "is_fraud": true, "ts": "yesterday"}', "ts is 'yesterday'"),
        ('{"event_id": "P3", "is_fraud": true, "ts": "2026-03-01T10:00:00"}', "no UTC offset"),
        ('{"event_id": "P3", "is_fraud": tru', "JSON"),
        ("[1, 2]", "object"),
    ],
)
def test_a_bad_json_line_is_refused_with_its_number(tmp_path, line, says):
    path = tmp_path / "truth.jsonl"
    path.write_text('{"event_id": "P1", "is_fraud": true}\n\n' + line + "\n")
    with pytest.raises(TruthFormatError) as refused:
        load_truth_rows(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: line 3: ")
    assert says in message
    assert "expected event_id, is_fraud" in message
    assert "\n" not in message
    assert isinstance(refused.value, ValueError)


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("id,fraud\nP1,1\n", 1, "expected a header with event_id and is_fraud or label"),
        ("event_id;is_fraud\nP1;1\n", 1, "expected a header"),
        ("event_id,is_fraud\nP1,1\nP2,yes\n", 3, "is_fraud is 'yes'"),
        ("event_id,label\nP1,fraud\n,legit\n", 3, "no event_id"),
        ("event_id,is_fraud\nP1,1\nP2,\n", 3, "no is_fraud or label"),
        ("event_id,is_fraud\nP1,1,extra\n", 2, "more fields than the header's 2"),
    ],
)
def test_a_bad_csv_line_is_refused_with_its_number(tmp_path, text, line, says):
    path = tmp_path / "truth.csv"
    path.write_text(text)
    with pytest.raises(TruthFormatError) as refused:
        load_truth_rows(path)
    message = str(refused.value)
    assert message.startswith(f"{path}: line {line}: ")
    assert says in message and "\n" not in message


def test_a_jsonl_file_is_read_as_json_even_when_its_first_line_is_not_an_object(tmp_path):
    path = tmp_path / "truth.jsonl"
    path.write_text('["P1", true]\n')
    with pytest.raises(TruthFormatError, match=r"line 1: Expected `object`, got `array`"):
        load_truth_rows(path)


def test_a_burst_id_is_read_from_details_in_json_and_a_column_in_csv(tmp_path):
    path = jsonl(
        tmp_path,
        [
            {"event_id": "P1", "account_id": "A", "scenario": "card_testing_across_cards",
             "is_fraud": True, "ts": T1, "details": {"terminal": "TW1", "burst": "CT1"}},
            # Other scenarios' details, and details that are not an object, name no burst.
            {"event_id": "P2", "account_id": "B", "scenario": "mule_network",
             "is_fraud": True, "ts": T2, "details": {"role": "victim"}},
            {"event_id": "P3", "is_fraud": False, "details": "checked by phone"},
        ],
    )  # fmt: skip
    rows = load_truth_rows(path)
    assert [r.burst for r in rows] == ["CT1", "", ""]
    assert rows[0] == TruthRow("P1", "A", "card_testing_across_cards", True, T1, "CT1")
    csv_path = tmp_path / "truth.csv"
    csv_path.write_text("event_id,is_fraud,burst\nP1,1,CT1\nP2,1,\n")
    assert [r.burst for r in load_truth_rows(csv_path)] == ["CT1", ""]
