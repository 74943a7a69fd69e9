"""`riskflow lists proposals | accept | reject` against a real redis-server and Kafka."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import redis
import yaml
from typer.testing import CliRunner

from riskflow.cli import app
from riskflow.connectors.proposals_redis import ProposalsSink, RedisProposals
from riskflow.connectors.redis_client import RedisSettings
from riskflow.scoring.lists.entries import ListEntry
from riskflow.scoring.lists.proposals import Evidence, Proposal, proposal_id
from tests.cli.test_lists_commands import control_messages

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)


@pytest.fixture
def env(tmp_path, kafka_bootstrap, redis_url):
    prefix = f"prop{uuid.uuid4().hex[:6]}"
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
    client = redis.Redis.from_url(redis_url)
    return {
        "config": str(config),
        "prefix": prefix,
        "topic": f"{prefix}.lists",
        "bootstrap": kafka_bootstrap,
        "redis": client,
        "redis_url": redis_url,
        "store": RedisProposals(client, prefix),
    }


def run(env, *args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["lists", *args, "--config", env["config"]])
    assert result.exit_code == code, result.output
    return result.output


def proposal(value: str = "MULE9", *, expires: datetime | None = None) -> Proposal:
    return Proposal(
        id=proposal_id("payee", value, "E3"),
        entity="payee",
        value=value,
        reason="payee named in confirmed frauds",
        evidence=Evidence(
            frauds=3,
            victims=3,
            event_ids=["E1", "E2", "E3"],
            first_at=NOW - timedelta(hours=2),
            last_at=NOW,
        ),
        proposed_at=NOW,
        expires_at=expires or NOW + timedelta(days=30),
    )


def entries(env) -> dict[str, ListEntry]:
    raw = env["redis"].hgetall(f"{env['prefix']}:lists:entries")
    return {k.decode(): msgspec.json.decode(v, type=ListEntry) for k, v in raw.items()}


def audit(env) -> list[dict[str, str]]:
    records = env["redis"].xrange(f"{env['prefix']}:lists:audit")
    return [{k.decode(): v.decode() for k, v in fields.items()} for _, fields in records]


def test_a_proposal_is_listed_and_accepted_into_an_audited_announced_entry(env):
    p = proposal()
    assert env["store"].propose(p)
    assert not env["store"].propose(p)  # a replay is held once
    assert entries(env) == {}  # pending: not screened on
    shown = run(env, "proposals")
    assert p.id in shown and "watch:payee:MULE9" in shown and "1 pending" in shown

    out = run(env, "accept", p.id, "--by", "analyst-7")
    assert f"accepted {p.id}: added watch:payee:MULE9" in out
    entry = entries(env)["watch:payee:MULE9"]
    assert (entry.source, entry.created_by, entry.kind) == ("model", "analyst-7", "watch")
    assert entry.expires_at == p.expires_at and p.id in entry.reason
    held = env["store"].get(p.id)
    assert (held.status, held.decided_by, held.accepted_as) == ("accepted", "analyst-7", "watch")
    ops = [(r["op"], r["entry_id"], r["actor"], r.get("proposal")) for r in audit(env)]
    assert ops == [
        ("propose", "watch:payee:MULE9", "riskflow", p.id),
        ("accept", "watch:payee:MULE9", "analyst-7", p.id),
        ("add", "watch:payee:MULE9", "analyst-7", p.id),
    ]
    changes = control_messages(env, 1)
    assert [(c.op, c.entry.id if c.entry else None) for c in changes] == [
        ("add", "watch:payee:MULE9")
    ]
    trail = run(env, "audit")
    assert "propose" in trail and "accept" in trail
    assert "0 pending" in run(env, "proposals")
    assert "accepted as watch" in run(env, "proposals", "--status", "all")

    # Decided once: a second acceptance is one line, exit 1, and changes nothing.
    again = CliRunner().invoke(app, ["lists", "accept", p.id, "--config", env["config"]])
    assert again.exit_code == 1
    assert again.output.strip() == f"riskflow: proposal {p.id} is already accepted"
    assert len(audit(env)) == 3


def test_accept_as_deny_makes_a_deny_entry(env):
    p = proposal("MULE10")
    env["store"].propose(p)
    run(env, "accept", p.id, "--as", "deny", "--expires", "7d", "--why", "case 2026-1142")
    entry = entries(env)["deny:payee:MULE10"]
    assert entry.kind == "deny" and entry.source == "model"
    assert entry.expires_at is not None and entry.expires_at < NOW + timedelta(days=8)
    assert env["store"].get(p.id).accepted_as == "deny"
    assert audit(env)[-1]["why"] == "case 2026-1142"
    run(env, "accept", proposal("MULE11").id, "--as", "allow", code=2)


def test_reject_records_who_and_why_and_adds_nothing(env):
    p = proposal("MULE12")
    env["store"].propose(p)
    out = run(env, "reject", p.id, "--reason", "payroll account", "--by", "b")
    assert f"rejected {p.id}" in out
    held = env["store"].get(p.id)
    assert (held.status, held.decided_by, held.why) == ("rejected", "b", "payroll account")
    assert entries(env) == {}
    assert [(r["op"], r["why"]) for r in audit(env)][-1] == ("reject", "payroll account")
    run(env, "accept", p.id, code=1)
    assert "1 rejected" in run(env, "proposals", "--status", "rejected")


def test_unknown_and_expired_proposals_are_one_line_exit_1(env):
    result = CliRunner().invoke(app, ["lists", "accept", "p-nope", "--config", env["config"]])
    assert (result.exit_code, result.output.strip()) == (1, "riskflow: no proposal p-nope")
    result = CliRunner().invoke(app, ["lists", "reject", "p-nope", "--config", env["config"]])
    assert (result.exit_code, result.output.strip()) == (1, "riskflow: no proposal p-nope")
    old = proposal("MULE13", expires=NOW - timedelta(minutes=1))
    env["store"].propose(old)
    out = run(env, "accept", old.id, code=1)
    assert "expired at" in out and entries(env) == {}
    run(env, "proposals", "--status", "maybe", code=2)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _cli(tmp_path, config: dict, *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [sys.executable, "-m", "riskflow", "lists", *args, "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_unreachable_redis_or_broker_and_a_config_typo_are_one_line(env, tmp_path):
    gone = {"redis": {"url": f"redis://127.0.0.1:{_closed_port()}/0"}}
    done = _cli(tmp_path, gone, "proposals")
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1

    # Redis takes the acceptance; the broker is away: saved, said so, exit 3.
    p = proposal("MULE14")
    env["store"].propose(p)
    broker_gone = {
        "kafka": {"bootstrap_servers": f"127.0.0.1:{_closed_port()}", "connect_timeout_s": 2},
        "redis": {"url": env["redis_url"], "key_prefix": env["prefix"]},
        "lists": {"backend": "redis", "topic": env["topic"]},
    }
    done = _cli(tmp_path, broker_gone, "accept", p.id)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "the change is saved in Redis" in done.stderr.strip().splitlines()[-1]
    assert "deny:payee:MULE14" not in entries(env) and "watch:payee:MULE14" in entries(env)

    typo = {"lists": {"proposals": {"min_fraud": 3}}}
    done = _cli(tmp_path, typo, "proposals")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "lists.proposals.min_fraud: unknown key (did you mean `min_frauds`?)" in done.stderr


def test_the_flow_sink_holds_each_proposal_once_and_can_auto_accept_watch(env):
    settings = RedisSettings(url=env["redis_url"], key_prefix=env["prefix"])
    manual = ProposalsSink(settings, auto_accept_watch=False, bootstrap=None, topic=env["topic"])
    part = manual.build("proposals_out", 0, 1)
    p = proposal("MULE15")
    part.write_batch([p, p])
    part.write_batch([p])  # the replay of an epoch
    assert [r["op"] for r in audit(env)] == ["propose"]
    part.close()

    auto = ProposalsSink(
        settings, auto_accept_watch=True, bootstrap=env["bootstrap"], topic=env["topic"]
    ).build("proposals_out", 0, 1)
    q = proposal("MULE16")
    auto.write_batch([q])
    auto.close()
    assert entries(env)["watch:payee:MULE16"].created_by == "riskflow"
    assert env["store"].get(q.id).status == "accepted"
    assert env["store"].get(p.id).status == "pending"
    changes = control_messages(env, 1)
    assert [c.entry.id for c in changes if c.entry] == ["watch:payee:MULE16"]
