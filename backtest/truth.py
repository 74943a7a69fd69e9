"""Ground truth for a backtest, read from the files a risk team actually has.

The simulator writes JSONL with `is_fraud` as a boolean and `ts` in epoch seconds. A bank's
own case system exports something else: 0/1 or "true"/"false" flags, a `label` of
"fraud"/"legit", RFC 3339 times, or a CSV with a header. All of those read to the same
rows; anything else is refused with the file, the line and what was expected, because a
label silently read as "not fraud" would make every metric in the report wrong.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import msgspec

__all__ = ["TruthFormatError", "TruthRow", "load_truth_rows"]

_FLAG_WORDS = {"1": True, "0": False, "true": True, "false": False}
_LABEL_WORDS = {"1": True, "0": False, "fraud": True, "legit": False, "legitimate": False}
_EXPECTED = (
    'expected event_id, is_fraud (true/false, 0/1, "0"/"1"/"true"/"false") or label '
    '("fraud"/"legit", 0/1), and optionally ts (epoch seconds or ISO-8601 with a UTC offset), '
    "account_id, scenario, burst (in JSONL, details.burst)"
)


class TruthFormatError(ValueError):
    """A truth file line that cannot be read; the message names the file and the line."""


@dataclass(frozen=True, slots=True)
class TruthRow:
    event_id: str
    account_id: str = ""
    scenario: str = ""
    is_fraud: bool = False
    ts: float = 0.0
    """Epoch seconds of the event; 0.0 when the file does not say."""
    burst: str = ""
    """The attack across accounts the event belongs to (one card-testing burst at a shop);
    empty when the file does not say."""


class _JsonRow(msgspec.Struct):
    # Loose types on purpose: the checks below give one message for every way a field is wrong.
    event_id: str | None = None
    account_id: str | None = None
    scenario: str | None = None
    is_fraud: bool | int | str | None = None
    label: int | str | None = None
    ts: float | str | None = None
    # Any JSON: another export's `details` may be anything, and only a burst id is read.
    details: object = None


class _Refused(Exception):
    """What is wrong with one row; turned into a TruthFormatError with the place."""


def _flag(value: bool | int | str, words: dict[str, bool], field: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value in (0, 1):
            return bool(value)
        raise _Refused(f"{field} is {value}")
    word = value.strip().lower()
    if word not in words:
        raise _Refused(f"{field} is {value!r}")
    return words[word]


def _fraud(is_fraud: bool | int | str | None, label: int | str | None) -> bool:
    flags = []
    if is_fraud is not None and is_fraud != "":
        flags.append(_flag(is_fraud, _FLAG_WORDS, "is_fraud"))
    if label is not None and label != "":
        flags.append(_flag(label, _LABEL_WORDS, "label"))
    if not flags:
        raise _Refused("no is_fraud or label")
    if len(set(flags)) > 1:
        raise _Refused(f"is_fraud {is_fraud!r} and label {label!r} disagree")
    return flags[0]


def _ts(value: float | str | None) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, float | int):
        return float(value)
    text = value.strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise _Refused(f"ts is {value!r}") from None
    # A time without an offset could be UTC or the bank's zone: guessing shifts events a day.
    if when.tzinfo is None:
        raise _Refused(f"ts {value!r} has no UTC offset")
    return when.timestamp()


def _row(
    event_id: str | None,
    account_id: str | None,
    scenario: str | None,
    is_fraud: bool | int | str | None,
    label: int | str | None,
    ts: float | str | None,
    burst: str | None = None,
) -> TruthRow:
    if not event_id:
        raise _Refused("no event_id")
    flag = _fraud(is_fraud, label)
    return TruthRow(event_id, account_id or "", scenario or "", flag, _ts(ts), burst or "")


def _burst(details: object) -> str | None:
    burst = details.get("burst") if isinstance(details, dict) else None
    return burst if isinstance(burst, str) else None


def _read_jsonl(path: Path) -> list[TruthRow]:
    decode = msgspec.json.Decoder(_JsonRow).decode
    out: list[TruthRow] = []
    with open(path, "rb") as fh:
        for number, line in enumerate(fh, start=1):
            if number == 1:
                line = line.removeprefix(b"\xef\xbb\xbf")
            if not line.strip():
                continue
            try:
                r = decode(line)
                out.append(
                    _row(
                        r.event_id,
                        r.account_id,
                        r.scenario,
                        r.is_fraud,
                        r.label,
                        r.ts,
                        _burst(r.details),
                    )
                )
            except (msgspec.DecodeError, msgspec.ValidationError, _Refused) as e:
                raise TruthFormatError(f"{path}: line {number}: {e}; {_EXPECTED}") from None
    return out


def _read_csv(path: Path) -> list[TruthRow]:
    out: list[TruthRow] = []
    # utf-8-sig: spreadsheets put a byte-order mark before the header.
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        header = [name.strip() for name in reader.fieldnames or []]
        if "event_id" not in header or not ({"is_fraud", "label"} & set(header)):
            raise TruthFormatError(
                f"{path}: line 1: the header is {','.join(header)!r}; "
                "expected a header with event_id and is_fraud or label "
                "(optional ts, account_id, scenario, burst)"
            )
        reader.fieldnames = header
        for record in reader:
            number = reader.line_num
            if not any((v or "").strip() for v in record.values() if isinstance(v, str)):
                continue
            if None in record:
                raise TruthFormatError(
                    f"{path}: line {number}: more fields than the header's {len(header)}"
                )
            cell = {k: (v or "").strip() for k, v in record.items()}
            try:
                out.append(
                    _row(
                        cell.get("event_id"),
                        cell.get("account_id"),
                        cell.get("scenario"),
                        cell.get("is_fraud"),
                        cell.get("label"),
                        cell.get("ts"),
                        cell.get("burst"),
                    )
                )
            except _Refused as e:
                raise TruthFormatError(f"{path}: line {number}: {e}; {_EXPECTED}") from None
    return out


def _is_csv(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".csv", ".jsonl", ".ndjson", ".json"):
        return suffix == ".csv"
    with open(path, "rb") as fh:
        for line in fh:
            text = line.removeprefix(b"\xef\xbb\xbf").strip()
            if text:
                # JSONL rows are objects; a first line that is not one is a CSV header.
                return not text.startswith(b"{")
    return False


def load_truth_rows(path: Path) -> list[TruthRow]:
    """Every row of a truth file, JSONL or CSV; raises TruthFormatError on a line it cannot
    read."""
    return _read_csv(path) if _is_csv(path) else _read_jsonl(path)
