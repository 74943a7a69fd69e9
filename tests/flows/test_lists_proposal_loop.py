"""The shared risk-account loop, end to end on real Kafka and Redis.

Labels confirm a mule payee -> the flow proposes it -> `riskflow lists proposals` shows
it -> `riskflow lists accept ID --as deny` -> the next transfer to it, from any other
account, is blocked by both processes of a two-process flow (`riskflow run -i 0/1`).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from riskflow.contract.masking import mask_id
from tests.flows.test_lists_cluster import (  # noqa: F401 - `cluster` is a fixture
    ACCOUNTS,
    CHANNELS,
    cluster,
    lists_cli,
    transfers,
)
from tests.infra.kafka import consume_all, produce

pytestmark = pytest.mark.integration

MULE = "6222020200998877"
VICTIMS = ("C001", "C017", "C030")


def shown(c: dict, *args: str) -> str:
    """What a `riskflow lists` command prints on stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "riskflow", "lists", *args, "--config", str(c["config"])],
        capture_output=True,
        text=True,
        env=c["env"],
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def proposals(c: dict) -> list[str]:
    return shown(c, "proposals").strip().splitlines()[1:]


def model_hits(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    line = 'riskflow_list_hits_total{entity="payee",list="deny",source="model"} '
    return sum(float(x.split()[-1]) for x in text.splitlines() if x.startswith(line))


def victim_transfers(c: dict) -> list[dict]:
    """One transfer to the mule from each victim, decided before the labels come."""
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": f"fraud-{account}",
            "ts": (now + timedelta(milliseconds=i)).isoformat(),
            "account_id": account,
            "amount": 4800.0,
            "currency": "CNY",
            "channel": CHANNELS[i],
            "txn_type": "transfer",
            "payee_account": MULE,
        }
        for i, account in enumerate(VICTIMS)
    ]
    produce(
        c["bootstrap"],
        c["topics"]["payments"],
        [(r["account_id"].encode(), json.dumps(r).encode()) for r in rows],
    )
    wanted = {r["event_id"] for r in rows}
    deadline = time.time() + 90
    seen: set[str] = set()
    while time.time() < deadline and not wanted <= seen:
        for m in consume_all(c["bootstrap"], c["topics"]["decisions"], 10**6, 1.0):
            seen.add(json.loads(m.value())["event_id"])
    assert wanted <= seen
    return rows


def test_confirmed_frauds_propose_the_mule_and_accepting_it_blocks_it_everywhere(request):
    c = request.getfixturevalue("cluster")
    transfers(c, "GOOD3", "warm")  # both processes up and deciding
    rows = victim_transfers(c)
    assert proposals(c) == []  # nothing before a label

    labelled = datetime.now(UTC) + timedelta(seconds=1)
    labels = [
        {
            "event_id": r["event_id"],
            "account_id": r["account_id"],
            "label": "fraud",
            "ts": labelled.isoformat(),
            "source": "police",
        }
        for r in rows
    ]
    produce(
        c["bootstrap"],
        c["topics"]["feedback"],
        [(lb["account_id"].encode(), json.dumps(lb).encode()) for lb in labels],
    )
    deadline = time.time() + 90
    pending: list[str] = []
    while time.time() < deadline and not pending:
        pending = proposals(c)
        time.sleep(0.5)
    logs = "\n".join(p.read_text()[-2000:] for p in c["logs"])
    assert len(pending) == 1, logs
    line = pending[0]
    assert f"pending  watch:payee:{MULE}  3 frauds from 3 accounts" in line
    proposal_id = line.split()[0]

    # Proposed is not listed: a transfer to the mule is not blocked yet.
    before = transfers(c, MULE, "proposed")
    assert not any(r["code"].startswith("DENY_") for d in before.values() for r in d["reasons"])

    said = lists_cli(c, "accept", proposal_id, "--as", "deny", "--by", "analyst-7")
    assert f"added deny:payee:{MULE}" in said
    time.sleep(1.0)
    # Every other account, served by either process, is now blocked paying the mule.
    after = transfers(c, MULE, "accepted")
    assert set(after) == {f"accepted-{a}" for a in ACCOUNTS}
    for d in after.values():
        assert d["action"] == "block", d
        first = d["reasons"][0]
        assert first["code"] == "DENY_PAYEE"
        # Branch staff read the detail: the mule's number is masked, as is the proposal id.
        detail = first["detail"]
        assert f"deny:payee:{mask_id(MULE)}" in detail and MULE not in detail
        assert "source model" in detail and f"proposal {mask_id(proposal_id)}" in detail
    assert all(model_hits(port) > 0 for port in c["ports"])

    trail = shown(c, "audit", "--last", "5")
    assert "propose" in trail and "accept" in trail and "analyst-7" in trail
    assert proposals(c) == []
