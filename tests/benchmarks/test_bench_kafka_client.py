"""The hostile-via-Kafka and crash benchmarks give every client they create, and the flows
they start, the `kafka.client` section: a secured broker refuses any client without it."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from riskflow.benchmarks import crash, hostile_kafka
from riskflow.cli import app
from riskflow.flows.config import load_settings

SECTION = {
    "security.protocol": "SASL_SSL",
    "sasl.mechanism": "SCRAM-SHA-512",
    "sasl.username": "riskflow",
    "sasl.password_env": "BENCH_KAFKA_PASSWORD",
    "ssl.ca.location": "/etc/riskflow/kafka-ca.pem",
}
RESOLVED = {k: v for k, v in SECTION.items() if not k.endswith("_env")} | {
    "sasl.password": "from-the-environment"
}
BOOTSTRAP = "kafka-1.bank.internal:9093"


class _Meta:
    partitions: dict[int, object] = {}


class _Topics:
    def __init__(self, topic: str) -> None:
        self.topics = {topic: _Meta()}


class _Client:
    """Producer and Consumer both, with no broker: keeps the configuration it was given."""

    made: list[dict[str, Any]] = []

    def __init__(self, config: dict[str, Any]) -> None:
        self.made.append(config)

    def flush(self, timeout: float = 0) -> int:
        return 0

    def poll(self, timeout: float = 0) -> None:
        return None

    def assign(self, partitions: object) -> None:
        return None

    def subscribe(self, topics: object) -> None:
        return None

    def consume(self, n: int, timeout: float) -> list[object]:
        return []

    def list_topics(self, topic: str, timeout: float = 0) -> _Topics:
        return _Topics(topic)

    def close(self) -> None:
        return None


@pytest.fixture
def clients(monkeypatch):
    monkeypatch.setenv("BENCH_KAFKA_PASSWORD", "from-the-environment")
    made: list[dict[str, Any]] = []
    monkeypatch.setattr(_Client, "made", made)
    for module in (hostile_kafka, crash):
        monkeypatch.setattr(module, "Producer", _Client)
        monkeypatch.setattr(module, "Consumer", _Client)
    return made


def assert_secured(made: list[dict[str, Any]], count: int) -> None:
    assert len(made) == count
    for config in made:
        assert config["bootstrap.servers"] == BOOTSTRAP
        assert RESOLVED.items() <= config.items()


@pytest.fixture
def admins(monkeypatch):
    given: list[object] = []
    for module in (hostile_kafka, crash):
        monkeypatch.setattr(module, "ensure_topics", lambda *a, client, **k: given.append(client))
    return given


def test_both_create_their_topics_with_the_section(admins):
    hostile_kafka._create_topics(BOOTSTRAP, {"payments": "t.payments"}, SECTION)
    crash._create_topics(BOOTSTRAP, "t", 3, SECTION)
    assert admins == [SECTION, SECTION]


def test_hostile_via_kafka_secures_its_producer_and_its_reader_of_the_outputs(clients):
    topics = {name: f"t.{name}" for name in hostile_kafka._NAMES}
    hostile_kafka._produce(BOOTSTRAP, topics, {"payment": []}, 1, SECTION)
    hostile_kafka._Outputs(BOOTSTRAP, topics, None, SECTION).close()  # type: ignore[arg-type]
    assert_secured(clients, 2)


def test_crash_secures_its_producer_its_watch_and_its_reader_of_the_books(clients):
    topics = {name: f"t.{name}" for name in crash._NAMES}
    crash._produce(BOOTSTRAP, topics, [], 100.0, SECTION).join(timeout=10)
    crash._Watch(BOOTSTRAP, topics, set(), SECTION).close()
    crash._read_all(BOOTSTRAP, topics["decisions"], SECTION)
    assert_secured(clients, 3)


def flow_client(path, monkeypatch) -> dict[str, Any]:
    monkeypatch.setenv("BENCH_KAFKA_PASSWORD", "from-the-environment")
    settings = load_settings(path, env={})
    assert settings.kafka.bootstrap_servers == BOOTSTRAP
    # As written, so the flow reads the password from its own environment.
    assert dict(settings.kafka.client) == SECTION
    return settings.kafka.client_config()


def test_the_flow_hostile_via_kafka_starts_has_the_section(tmp_path, monkeypatch):
    topics = {name: f"t.{name}" for name in hostile_kafka._NAMES}
    start = crash.SimConfig().start
    path = hostile_kafka._config(tmp_path, BOOTSTRAP, topics, start, None, SECTION)
    assert RESOLVED.items() <= flow_client(path, monkeypatch).items()


def test_the_flows_crash_starts_have_the_section(tmp_path, monkeypatch):
    run = crash._Run("crash", {name: f"t.{name}" for name in crash._NAMES}, "crx")
    path = crash._write_config(tmp_path, run, BOOTSTRAP, "redis://127.0.0.1:6379/0", 1.0, SECTION)
    assert RESOLVED.items() <= flow_client(path, monkeypatch).items()


def test_without_a_section_the_clients_are_plaintext(clients):
    crash._read_all(BOOTSTRAP, "t.decisions", None)
    assert not any(k.startswith(("security.", "sasl.", "ssl.")) for k in clients[0])


@pytest.fixture
def commands(monkeypatch, tmp_path):
    """The two commands with a reachable broker and Redis and their benchmark recorded."""
    import riskflow.connectors.kafka
    import riskflow.runner

    monkeypatch.setenv("BENCH_KAFKA_PASSWORD", "from-the-environment")
    given: dict[str, Any] = {}
    monkeypatch.setattr(riskflow.connectors.kafka, "wait_for_kafka", lambda *a, **k: None)
    monkeypatch.setattr(riskflow.runner, "wait_for_redis", lambda *a, **k: None)

    def record(name: str, result: dict[str, Any]):
        def bench(*args: Any, **kwargs: Any) -> dict[str, Any]:
            given[name] = kwargs
            return result

        return bench

    monkeypatch.setattr(
        hostile_kafka,
        "bench_hostile_kafka",
        record("hostile", {"status": "complete", "crashes": 0}),
    )
    monkeypatch.setattr(crash, "bench_crash", record("crash", {"benchmark": "crash"}))
    config = tmp_path / "riskflow.yaml"
    config.write_text(yaml.safe_dump({"kafka": {"client": SECTION}}))
    return given, str(config)


def test_bench_hostile_and_crash_take_the_section_of_their_config(commands):
    given, config = commands
    where = ["--bootstrap", BOOTSTRAP, "--redis-url", "redis://127.0.0.1:6379/0"]
    runner = CliRunner()
    hostile = runner.invoke(app, ["bench", "hostile", "--via", "kafka", *where, "--config", config])
    assert hostile.exit_code == 0, hostile.output
    crashed = runner.invoke(app, ["bench", "crash", *where, "--config", config])
    assert crashed.exit_code == 0, crashed.output
    # As written: the flows they start read the password from their own environment.
    assert given["hostile"]["client"] == SECTION
    assert given["crash"]["kafka_client"] == SECTION


@pytest.mark.integration
def test_both_benchmarks_balance_their_books_on_a_broker_of_sasl_ssl_only(
    tmp_path, secure_kafka, redis_url, monkeypatch
):
    # Fresh topics of the bench's own names: the admin principal, as an operator would give.
    monkeypatch.setenv("BENCH_KAFKA_PASSWORD", secure_kafka.admin_password)
    section = secure_kafka.client("admin", **{"sasl.password_env": "BENCH_KAFKA_PASSWORD"})
    (tmp_path / "hostile").mkdir()
    hostile = hostile_kafka.bench_hostile_kafka(
        tmp_path / "hostile",
        secure_kafka.bootstrap,
        hostile=300,
        customers=50,
        days=2.0,
        stall_s=60,
        client=section,
    )
    assert hostile["status"] == "complete"
    assert hostile["valid_decided_once"] == hostile["valid_events"] > 0
    assert (hostile["flow_exit_code"], hostile["crashes"]) == (0, 0)
    (tmp_path / "crash").mkdir()
    crashed = crash.bench_crash(
        secure_kafka.bootstrap,
        redis_url,
        tmp_path / "crash",
        events=300,
        customers=60,
        rate=150.0,
        kills=0,
        snapshot_interval_s=1.0,
        quiet_s=30.0,
        kafka_client=section,
    )
    assert (crashed["crash_run_exit_code"], crashed["clean_run_exit_code"]) == (0, 0)
    assert crashed["lost"] == 0
    assert crashed["decided"] == crashed["clean_run_decided"] == crashed["events"]
