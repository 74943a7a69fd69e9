"""The audit trail: where each kind of run records, and that a record is never lost."""

from __future__ import annotations

import json
import logging
import uuid

import redis

from riskflow.connectors.audit import FileAudit, LogAudit, RedisAudit, audit_key
from riskflow.connectors.redis_client import RedisSettings
from riskflow.flows.config import AuditSettings, FileOutput, KafkaOutput, Settings
from riskflow.flows.risk import build_audit, build_decider


def test_records_go_next_to_the_lists_audit_in_redis(redis_client, redis_url):
    prefix = f"a{uuid.uuid4().hex[:6]}"
    settings = Settings(redis=RedisSettings(url=redis_url, key_prefix=prefix))
    trail = build_audit(settings)
    assert isinstance(trail, RedisAudit) and trail.key == audit_key(prefix) == f"{prefix}:audit"
    # A flow that starts records the ruleset it starts with.
    version = build_decider(settings).rules.version
    (start,) = trail.records()
    assert (start["op"], start["version"], start["previous"]) == ("ruleset_loaded", version, "")
    assert redis_client.xlen(f"{prefix}:audit") == 1


def test_a_file_output_records_beside_its_outputs_and_a_path_wins(tmp_path):
    out = Settings(output=FileOutput(directory=str(tmp_path / "out")))
    trail = build_audit(out)
    assert isinstance(trail, FileAudit) and trail.path == tmp_path / "out" / "audit.jsonl"
    chosen = out.replace(audit=AuditSettings(path=str(tmp_path / "a.jsonl"), actor="ops"))
    trail = build_audit(chosen)
    assert isinstance(trail, FileAudit) and trail.path == tmp_path / "a.jsonl"
    trail.record("ruleset_loaded", version="v1")
    (record,) = trail.records()
    assert record["actor"] == "ops" and record["version"] == "v1"
    assert (tmp_path / "a.jsonl").stat().st_mode & 0o077 == 0  # owner-only, like the state
    assert isinstance(build_audit(Settings(output=KafkaOutput())), LogAudit)


def test_a_record_redis_cannot_take_is_logged_in_full(caplog):
    dead = redis.Redis(port=1, socket_connect_timeout=0.2)
    trail = RedisAudit(dead, "riskflow", actor="ops")
    with caplog.at_level(logging.ERROR, logger="riskflow.connectors.audit"):
        trail.record("model_promoted", version="champion-9")  # does not raise
    (line,) = [r.getMessage() for r in caplog.records]
    assert line.startswith("audit record not written (ConnectionError): ")
    record = json.loads(line.split(": ", 1)[1])
    assert record["op"] == "model_promoted" and record["version"] == "champion-9"
