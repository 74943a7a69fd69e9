"""A list change reaches every process of a two-process flow within a second.

Real Apache Kafka, a real redis-server and the flow as two `riskflow run`
processes (`-i 0/1 -a ...`), changed with the `riskflow lists` command.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from tests.flows.test_kafka_flow import free_port
from tests.infra.kafka import consume_all, flow_topics, produce
from tests.infra.snapshot_keys import KEY, KEY_ENV

pytestmark = pytest.mark.integration

CHANNELS = ("branch", "online", "mobile", "phone", "atm", "pos", "self_service")
ACCOUNTS = [f"C{i:03d}" for i in range(42)]  # enough that both processes own some


@pytest.fixture
def cluster(tmp_path: Path, kafka_bootstrap: str, redis_url: str) -> Iterator[dict]:
    prefix = f"lc-{uuid.uuid4().hex[:8]}"
    topics = flow_topics(kafka_bootstrap, prefix, partitions=4)
    metrics_port = free_port()
    config = tmp_path / "riskflow.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "input": {"type": "kafka"},
                "output": {"type": "kafka"},
                "kafka": {"bootstrap_servers": kafka_bootstrap, "topics": topics},
                "redis": {"url": redis_url, "key_prefix": prefix},
                "lists": {"backend": "redis", "topic": f"{prefix}.lists"},
                "models": {"backend": "redis", "signing_key_env": KEY_ENV},
                "metrics": {"port": metrics_port},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")}
    env[KEY_ENV] = KEY
    addresses = f"127.0.0.1:{free_port()};127.0.0.1:{free_port()}"
    procs = []
    for pid in (0, 1):
        log = open(tmp_path / f"flow-{pid}.log", "wb")  # noqa: SIM115 - closed below
        cmd = ["-m", "riskflow", "run", "--config", str(config), "-i", str(pid), "-a", addresses]
        procs.append(
            (subprocess.Popen([sys.executable, *cmd], stdout=log, stderr=log, env=env), log)
        )
    try:
        yield {
            "bootstrap": kafka_bootstrap,
            "topics": topics,
            "config": config,
            "env": env,
            "ports": (metrics_port, metrics_port + 1),
            "logs": [tmp_path / f"flow-{pid}.log" for pid in (0, 1)],
        }
    finally:
        for proc, log in procs:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()


def lists_cli(cluster: dict, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "riskflow", "lists", *args, "--config", str(cluster["config"])],
        capture_output=True,
        text=True,
        env=cluster["env"],
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stderr


def transfers(cluster: dict, payee: str, tag: str) -> dict[str, dict]:
    """One transfer to `payee` from every account, channels in turn; returns their decisions."""
    now = datetime.now(UTC)
    rows = [
        {
            "event_id": f"{tag}-{account}",
            "ts": (now + timedelta(milliseconds=i)).isoformat(),
            "account_id": account,
            "amount": 120.0,
            "currency": "CNY",
            "channel": CHANNELS[i % len(CHANNELS)],
            "txn_type": "transfer",
            "payee_account": payee,
        }
        for i, account in enumerate(ACCOUNTS)
    ]
    produce(
        cluster["bootstrap"],
        cluster["topics"]["payments"],
        [(r["account_id"].encode(), json.dumps(r).encode()) for r in rows],
    )
    wanted = {r["event_id"] for r in rows}
    deadline = time.time() + 90
    found: dict[str, dict] = {}
    while time.time() < deadline and not wanted <= set(found):
        for m in consume_all(cluster["bootstrap"], cluster["topics"]["decisions"], 10**6, 1.0):
            d = json.loads(m.value())
            if d["event_id"] in wanted:
                found[d["event_id"]] = d
    logs = "\n".join(p.read_text()[-2000:] for p in cluster["logs"])
    assert wanted <= set(found), logs
    return found


def list_hits(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        text = resp.read().decode()
    line = 'riskflow_list_hits_total{entity="payee",list="deny",source="police"} '
    return sum(float(x.split()[-1]) for x in text.splitlines() if x.startswith(line))


def test_a_deny_entry_reaches_both_processes_within_a_second_and_ends_when_lifted(cluster):
    # Both processes are up and deciding before the list changes.
    before = transfers(cluster, "GOOD1", "warm")
    assert all(d["action"] != "block" for d in before.values())

    lists_cli(
        cluster,
        "add",
        "deny",
        "payee",
        "X",
        "--reason",
        "mule account",
        "--source",
        "police",
        "--by",
        "analyst-7",
    )
    time.sleep(1.0)
    blocked = transfers(cluster, "X", "listed")
    for d in blocked.values():
        assert d["action"] == "block", d
        first = d["reasons"][0]
        assert first["code"] == "DENY_PAYEE"
        # A payee of 4 characters or fewer is masked whole in the detail people read.
        assert "deny:payee:****" in first["detail"] and "police" in first["detail"]
        assert "mule account" in first["detail"]
    # Every process blocked some of them: each served its own share of accounts.
    assert all(list_hits(port) > 0 for port in cluster["ports"])

    lists_cli(cluster, "remove", "deny", "payee", "X", "--why", "cleared", "--by", "analyst-7")
    time.sleep(1.0)
    lifted = transfers(cluster, "X", "lifted")
    assert all(d["action"] != "block" for d in lifted.values())
    assert not any(r["code"].startswith("DENY_") for d in lifted.values() for r in d["reasons"])


def test_an_expiring_entry_stops_blocking_without_a_restart(cluster):
    transfers(cluster, "GOOD2", "warm")
    lists_cli(cluster, "add", "deny", "payee", "Y", "--source", "police", "--expires", "4s")
    time.sleep(1.0)
    assert {d["action"] for d in transfers(cluster, "Y", "brief").values()} == {"block"}
    time.sleep(3.5)
    after = transfers(cluster, "Y", "expired")
    assert all(d["action"] != "block" for d in after.values())
