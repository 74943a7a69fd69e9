"""`riskflow lists` against a real redis-server and Kafka control topic."""

from __future__ import annotations

import csv
import io
import time
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import redis
import yaml
from confluent_kafka import Consumer
from typer.testing import CliRunner

from riskflow.cli import app
from riskflow.connectors.kafka_client import client_config
from riskflow.lists_cli import parse_expiry
from riskflow.scoring.lists.entries import ListChange

pytestmark = pytest.mark.integration


@pytest.fixture
def env(tmp_path, kafka_bootstrap, redis_url):
    prefix = f"cli{uuid.uuid4().hex[:6]}"
    config = tmp_path / "riskflow.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "kafka": {"bootstrap_servers": kafka_bootstrap},
                "redis": {"url": redis_url, "key_prefix": prefix},
                "lists": {"backend": "redis", "topic": f"{prefix}.lists"},
            }
        )
    )
    return {
        "config": str(config),
        "prefix": prefix,
        "topic": f"{prefix}.lists",
        "bootstrap": kafka_bootstrap,
        "redis": redis.Redis.from_url(redis_url),
    }


def run(env, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["lists", *args, "--config", env["config"]])
    assert result.exit_code == code, result.output
    return result.output


def control_messages(env, expected: int) -> list[ListChange]:
    consumer = Consumer(
        client_config(
            env["bootstrap"], None, {"group.id": uuid.uuid4().hex, "auto.offset.reset": "earliest"}
        )
    )
    consumer.subscribe([env["topic"]])
    got = []
    deadline = time.monotonic() + 15
    # Wait for one more than expected briefly, so an extra message would be seen too.
    while time.monotonic() < deadline and len(got) < expected:
        got += [m for m in consumer.consume(100, 0.2) if m.error() is None]
    got += [m for m in consumer.consume(100, 0.5) if m.error() is None]
    consumer.close()
    return [msgspec.json.decode(m.value(), type=ListChange) for m in got]


def test_add_show_remove_and_audit(env):
    run(env, "add", "deny", "payee", "X1", "--reason", "mule", "--source", "police", "--by", "ana")
    run(
        env,
        "add",
        "allow",
        "device",
        "D9",
        "--suppress",
        "new_device_large_payment",
        "--expires",
        "7d",
        "--by",
        "ben",
    )
    shown = run(env, "show", "--list", "deny")
    assert "X1" in shown and "D9" not in shown
    run(env, "remove", "deny", "payee", "X1", "--why", "cleared", "--by", "ana")
    run(env, "remove", "deny", "payee", "X1", code=1)  # nothing left to remove

    audit = run(env, "audit")
    assert audit.index("deny:payee:X1") < audit.index("allow:device:D9")
    assert "cleared" in audit and "remove" in audit
    changes = control_messages(env, 3)
    assert [c.op for c in changes] == ["add", "add", "remove"]
    assert changes[0].entry is not None and changes[0].entry.source == "police"
    assert changes[2].entry_id == "deny:payee:X1"


def test_an_allow_entry_needs_an_expiry_and_bad_values_are_refused(env):
    run(env, "add", "allow", "device", "D1", "--suppress", "velocity_burst", code=2)
    run(env, "add", "deny", "galaxy", "G1", code=2)
    run(env, "add", "deny", "ip", "10.0.0.0/33", code=2)
    assert env["redis"].hlen(f"{env['prefix']}:lists:entries") == 0


def test_import_loads_good_rows_reports_bad_ones_and_exports_them_back(env, tmp_path):
    source = tmp_path / "lists.csv"
    source.write_text(
        "entity,value,list,reason,source,expires_at\n"
        "payee,M1,deny,mule,police,\n"
        "ip,203.0.113.0/24,deny,botnet,partner_bank,\n"
        "device,D1,allow,known good,branch,\n"  # line 4: allow without expiry
        "planet,P1,deny,x,internal,\n"  # line 5: unknown entity
        "merchant,SHOP1,watch,skimming reports,internal,2030-01-01T00:00:00+00:00\n"
    )
    out = run(env, "import", str(source), code=1)
    assert "lists.csv:4" in out and "lists.csv:5" in out
    assert "imported 3 entries, 2 bad rows skipped" in out
    assert [c.op for c in control_messages(env, 1)] == ["sync"]

    exported = tmp_path / "export.csv"
    run(env, "export", "--out", str(exported))
    rows = list(csv.DictReader(io.StringIO(exported.read_text())))
    assert {(r["list"], r["entity"], r["value"], r["source"]) for r in rows} == {
        ("deny", "payee", "M1", "police"),
        ("deny", "ip", "203.0.113.0/24", "partner_bank"),
        ("watch", "merchant", "SHOP1", "internal"),
    }
    # The export is itself an import file: loading it again changes nothing.
    before = env["redis"].hgetall(f"{env['prefix']}:lists:entries")
    run(env, "import", str(exported))
    assert env["redis"].hgetall(f"{env['prefix']}:lists:entries").keys() == before.keys()


def test_expiry_forms():
    now = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    assert parse_expiry("90m", now) == now + timedelta(minutes=90)
    assert parse_expiry("2d", now) == now + timedelta(days=2)
    assert parse_expiry("2026-12-01T00:00:00+08:00", now) == datetime(
        2026, 11, 30, 16, 0, tzinfo=UTC
    )
    assert parse_expiry(None, now) is None
