"""Every Redis use of riskflow over rediss:// as the documented ACL user, and what is refused.

The server is TLS-only, its `default` user is off and the riskflow user has exactly the
ACL line docs/operations.md ships (tests/infra/redis_tls.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import redis

from riskflow.connectors.lists_redis import RedisLists, RedisListStore
from riskflow.connectors.metrics import REDIS_WRITE_FAILURES
from riskflow.connectors.models_redis import RedisFeatureLog, RedisModelStore
from riskflow.connectors.published_redis import PublishedDecisions
from riskflow.connectors.redis_client import RedisSecretError, redis_client
from riskflow.connectors.redis_store import RedisSink
from riskflow.runner import RedisRefused, RedisUnreachable, wait_for_redis
from riskflow.scoring.lists.entries import ListEntry
from riskflow.scoring.models.bundle import Snapshot
from tests.infra.snapshot_keys import SIGNER
from tests.infra.verdicts import allowed

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def entry(value: str, **kw) -> ListEntry:
    return ListEntry(
        entity="payee",
        value=value,
        kind="deny",
        reason="mule account",
        source="police",
        created_by="analyst-7",
        created_at=datetime.now(UTC),
        **kw,
    )


def snapshot(n: int) -> Snapshot:
    return Snapshot(f"champion-{n}", float(n), f"bundle {n}".encode())


@pytest.fixture(autouse=True)
def _fresh_acl_log(redis_tls):
    # The server is shared by the session: refusals other tests provoke on purpose (a wrong
    # password) must not count against these.
    redis_tls.admin.acl_log_reset()


def denied(admin: redis.Redis) -> list[dict]:
    """ACL refusals the server logged: riskflow's own error handling may have hidden them."""
    log: list[dict] = admin.acl_log()  # type: ignore[assignment]
    return [e for e in log if e.get("username") == "riskflow"]


def test_the_lists_store_and_follower_work_as_the_acl_user(secure_redis, redis_tls):
    store = RedisListStore(redis_client(secure_redis), prefix=secure_redis.key_prefix)
    store.add(entry("MULE1"), actor="analyst-7", why="police report")
    store.add(entry("GONE", expires_at=datetime.now(UTC) - timedelta(days=1)), actor="a", why="w")
    follower = RedisLists(store, bootstrap=None, topic="risk.lists", sweep_interval_s=3600)
    try:
        assert {e.value for e in follower.current(0.0).entries()} == {"MULE1", "GONE"}
        # The atomic remove-and-audit script, as the expiry sweep runs it.
        assert store.remove("deny:payee:GONE", actor="riskflow", why="expired", op="expire")
        follower.reload()
        assert [e.value for e in follower.current(0.0).entries()] == ["MULE1"]
    finally:
        follower.close()
    assert [r["op"] for r in store.audit()] == ["add", "add", "expire"]
    assert [r["op"] for r in store.audit(last=1)] == ["expire"]
    keys = {k.decode() for k in redis_tls.admin.keys("*")}
    assert keys == {"riskflow:lists:entries", "riskflow:lists:audit"}
    assert denied(redis_tls.admin) == []


def test_the_model_store_and_feature_log_work_as_the_acl_user(secure_redis, redis_tls):
    client = redis_client(secure_redis)
    store = RedisModelStore(client, secure_redis.key_prefix, keep=2, signer=SIGNER)
    for n in (1, 2, 3):
        store.publish("champion", snapshot(n))
    assert store.newest("champion") == ("champion-3", 3.0)
    assert [s.version for s in store.since("champion", 0.0)] == ["champion-2", "champion-3"]

    log = RedisFeatureLog(client, secure_redis.key_prefix, ttl_s=60)
    log.put_many([("E1", b"\x01"), ("E2", b"\x02")])
    assert log.get_many(["E1", "E2", "E3"]) == [b"\x01", b"\x02", None]
    assert all(k.startswith(b"riskflow:") for k in redis_tls.admin.keys("*"))
    assert denied(redis_tls.admin) == []


def test_the_feature_mirror_and_published_decisions_work_as_the_acl_user(secure_redis, redis_tls):
    failures = REDIS_WRITE_FAILURES._value.get()
    part = RedisSink(secure_redis).build("redis_out", 0, 1)
    part.write_batch([allowed("A1", "P2", T0 + timedelta(minutes=5), 20.0)])
    part.write_batch([allowed("A1", "P1", T0, 10.0)])
    part.close()
    admin = redis_tls.admin
    assert admin.hget("riskflow:account:A1", "features") == b'{"amount":20.0}'

    published = PublishedDecisions(redis_client(secure_redis, timeout_s=0.5), "riskflow", 60)
    first = allowed("A1", "P3", T0, 1.0, ts="2026-12-01T10:00:00.000+00:00")
    published.settle([first])
    [again] = published.settle([allowed("A1", "P3", T0, 1.0, ts="2026-12-01T10:00:09.000+00:00")])
    assert again.decision == first.decision
    assert admin.get("riskflow:published:P3") == msgspec.json.encode(first.decision)
    # Both swallow Redis errors to keep deciding: the counter and the ACL log show none.
    assert REDIS_WRITE_FAILURES._value.get() == failures
    assert denied(admin) == []


def test_a_key_outside_the_prefix_is_refused_by_the_server(secure_redis, redis_tls):
    client = redis_client(secure_redis)
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.set("elsewhere:x", b"1")
    with pytest.raises(redis.exceptions.NoPermissionError):
        RedisListStore(client, prefix="elsewhere").add(entry("M"), actor="a", why="w")
    # Nor a command outside the list, on a key inside the prefix.
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.execute_command("KEYS", "riskflow:*")
    assert redis_tls.admin.keys("elsewhere:*") == []


def test_the_password_may_come_from_a_file_and_a_client_certificate_is_presented(
    secure_redis, redis_tls, tmp_path, monkeypatch
):
    monkeypatch.delenv("RISKFLOW_TEST_REDIS_PASSWORD")
    secret = tmp_path / "redis-password"
    secret.write_text(redis_tls.password + "\n")
    conf = msgspec.structs.replace(
        secure_redis,
        password_env=None,
        password_file=str(secret),
        ssl_cert_file=redis_tls.client_cert,
        ssl_key_file=redis_tls.client_key,
    )
    wait_for_redis(conf, 5.0)
    assert redis_client(conf).ping()


def test_a_wrong_password_is_refused_at_once_in_one_line(secure_redis, monkeypatch):
    monkeypatch.setenv("RISKFLOW_TEST_REDIS_PASSWORD", "not-the-password")
    with pytest.raises(RedisRefused) as caught:
        wait_for_redis(secure_redis, 60.0)
    message = str(caught.value)
    assert "refused user riskflow" in message and "\n" not in message
    assert "not-the-password" not in message


def test_the_default_user_is_off(secure_redis, redis_tls):
    anonymous = msgspec.structs.replace(secure_redis, username=None, password_env=None)
    with pytest.raises(RedisRefused, match="refused user default"):
        wait_for_redis(anonymous, 60.0)


def test_a_certificate_that_does_not_verify_is_refused_at_once(secure_redis):
    system_cas = msgspec.structs.replace(secure_redis, ssl_ca_file=None)
    with pytest.raises(RedisRefused, match=r"certificate verify failed|CERTIFICATE_VERIFY_FAILED"):
        wait_for_redis(system_cas, 60.0)


def test_a_plain_client_on_the_tls_port_is_refused(secure_redis, redis_tls):
    plain = msgspec.structs.replace(
        secure_redis, url=f"redis://127.0.0.1:{redis_tls.port}/0", ssl_ca_file=None
    )
    with pytest.raises(RedisUnreachable) as caught:
        wait_for_redis(plain, 0.5)
    message = str(caught.value)
    assert "\n" not in message and "rediss://" in message


def test_a_missing_password_variable_or_file_is_one_line(secure_redis, monkeypatch, tmp_path):
    monkeypatch.delenv("RISKFLOW_TEST_REDIS_PASSWORD")
    with pytest.raises(RedisSecretError, match="RISKFLOW_TEST_REDIS_PASSWORD is not set"):
        redis_client(secure_redis)
    absent = msgspec.structs.replace(
        secure_redis, password_env=None, password_file=str(tmp_path / "nope")
    )
    with pytest.raises(RedisSecretError, match=r"redis\.password_file: cannot read .*nope"):
        redis_client(absent)
