"""The simulated bank written as JSONL files, with its ground truth and deny list."""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

import msgspec

from riskflow.simulator.config import SimConfig
from riskflow.simulator.stream import Bank, generate_with_truth

__all__ = ["write_denylist", "write_jsonl"]

FILES = {"payment": "payments.jsonl", "login": "logins.jsonl", "feedback": "feedback.jsonl"}


def write_denylist(bank: Bank, path: Path) -> int:
    rows = bank.denylist_rows()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["entity", "value", "reason", "source"])
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def write_jsonl(config: SimConfig, out_dir: Path) -> dict[str, int]:
    """payments/logins/feedback/truth JSONL and denylist.csv; returns lines per file."""
    out_dir.mkdir(parents=True, exist_ok=True)
    counts = dict.fromkeys([*FILES.values(), "truth.jsonl", "denylist.csv"], 0)
    with contextlib.ExitStack() as stack:
        handles = {
            kind: stack.enter_context(open(out_dir / name, "wb")) for kind, name in FILES.items()
        }
        truth_fh = stack.enter_context(open(out_dir / "truth.jsonl", "wb"))
        for record, truth in generate_with_truth(config):
            fh = handles[record.kind]
            fh.write(record.payload)
            fh.write(b"\n")
            counts[FILES[record.kind]] += 1
            if truth is not None:
                truth_fh.write(msgspec.json.encode(truth | {"ts": record.ts}))
                truth_fh.write(b"\n")
                counts["truth.jsonl"] += 1
    counts["denylist.csv"] = write_denylist(Bank(config), out_dir / "denylist.csv")
    return counts
