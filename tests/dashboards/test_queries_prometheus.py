"""Every dashboard query and alert rule, evaluated by a real Prometheus scraping a real run.

The simulated bank is produced to real Kafka, the flow runs as `riskflow run`
with real Redis, the branch desk reviews its alerts and reports outcomes back
(as in the compose stack), a real `prometheus` scrapes the flow every second
with the shipped alert rules loaded, and then each panel's PromQL is
evaluated: it must parse, and it must return data unless this file explains
why it stays empty.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from dashboards.build import DASHBOARDS
from riskflow.simulator.config import SimConfig
from riskflow.simulator.files import write_denylist
from riskflow.simulator.kafka import produce, run_desk
from riskflow.simulator.stream import Bank
from tests.flows.test_kafka_flow import free_port
from tests.infra.kafka import flow_topics
from tests.infra.snapshot_keys import KEY, KEY_ENV

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("prometheus") is None, reason="prometheus (Debian package)"),
]

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "dashboards" / "alerts" / "riskflow.rules.yml"
SIM = SimConfig(
    seed=5,
    customers=1500,
    days=4.0,
    events_per_customer_day=6.0,
    fraud_rate=0.03,
    malformed_rate=0.005,
    branch_reviews=False,  # the branch desk reviews the flow's own alerts instead
)
# What Grafana would put in for its own variables.
GRAFANA_VARS = {"$__rate_interval": "1m", "$__range": "15m", "$branch": ".*"}
DRAINING_BACKLOG = {"RiskflowLatencySLOFastBurn", "RiskflowLatencySLOSlowBurn"}
"""The run drains a backlog produced up front in large batches, not live traffic: decisions
may well miss the 50 ms objective, so these may be pending; they are still evaluated."""
EXPECTED_EMPTY: dict[str, str] = {}
DESK: dict[str, int] = {}
"""What the branch desk did during the run."""
"""Panel title -> why it has no data after this run (none today: every panel shows data)."""


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


def _metrics_text(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        return resp.read().decode()


def _sample_sum(text: str, name: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name + "{") or line.startswith(name + " ")
    )


@pytest.fixture(scope="module")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, kafka_bootstrap: str, redis_url: str
) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("prom")
    prefix = f"pq-{uuid.uuid4().hex[:8]}"
    topics = flow_topics(kafka_bootstrap, prefix, partitions=2)
    sent = produce(
        SIM,
        kafka_bootstrap,
        rate=None,
        topics={
            "payment": topics["payments"],
            "login": topics["logins"],
            "feedback": topics["feedback"],
        },
    )
    denylist = tmp / "denylist.csv"
    write_denylist(Bank(SIM), denylist)
    metrics_port = free_port()
    config = tmp / "riskflow.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "input": {"type": "kafka"},
                "output": {"type": "kafka"},
                "kafka": {"bootstrap_servers": kafka_bootstrap, "topics": topics},
                "redis": {"url": redis_url, "key_prefix": prefix},
                "lists": {"path": str(denylist)},
                "models": {"backend": "redis", "signing_key_env": KEY_ENV},
                "policy": {"review_budget_per_branch_day": 40},
                "metrics": {"port": metrics_port},
            }
        )
    )
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")}
    env[KEY_ENV] = KEY
    flow_log = open(tmp / "flow.log", "wb")  # noqa: SIM115 - closed below
    flow = subprocess.Popen(
        [sys.executable, "-m", "riskflow", "run", "--config", str(config)],
        stdout=flow_log,
        stderr=flow_log,
        env=env,
    )
    prom_port = free_port()
    (tmp / "rules").mkdir()
    shutil.copy(RULES, tmp / "rules")
    (tmp / "prometheus.yml").write_text(
        yaml.safe_dump(
            {
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "rule_files": ["rules/riskflow.rules.yml"],
                "scrape_configs": [
                    {
                        "job_name": "riskflow",
                        "static_configs": [{"targets": [f"127.0.0.1:{metrics_port}"]}],
                    }
                ],
            }
        )
    )
    prom_log = open(tmp / "prometheus.log", "wb")  # noqa: SIM115 - closed below
    prom = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{prom_port}",
        ],
        stdout=prom_log,
        stderr=prom_log,
    )
    desk = DESK
    branch_staff = threading.Thread(
        target=lambda: desk.update(
            run_desk(
                SIM,
                kafka_bootstrap,
                capacity_per_day=20,
                topics={"decisions": topics["decisions"], "feedback": topics["feedback"]},
                idle_exit_s=6.0,
            )
        ),
        daemon=True,
    )
    branch_staff.start()
    base = f"http://127.0.0.1:{prom_port}"

    def read_all(expected: int, within: float) -> None:
        deadline = time.monotonic() + within
        while True:
            assert flow.poll() is None, (tmp / "flow.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the flow did not read everything in time"
            try:
                if _sample_sum(_metrics_text(metrics_port), "riskflow_events_in_total") >= expected:
                    return
            except OSError:
                pass
            time.sleep(1)

    try:
        read_all(sent, 240)
        # The desk stops once decisions stop; then the flow reads its reviews too.
        branch_staff.join(timeout=120)
        assert desk["labels"] > 0, desk
        read_all(sent + desk["labels"], 60)
        time.sleep(8)  # a few more scrapes, so rates see the whole run
        yield base
    finally:
        for proc in (prom, flow):
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        flow_log.close()
        prom_log.close()


def query(base: str, expr: str) -> dict[str, Any]:
    for var, value in GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    try:
        return _get(f"{base}/api/v1/query?{urllib.parse.urlencode({'query': expr})}")
    except urllib.error.HTTPError as err:  # a parse error is a 400 with the reason
        return json.loads(err.read())


PANELS = [
    pytest.param(board.title, panel.title, tuple(t.expr for t in panel.queries), id=panel.title)
    for board in DASHBOARDS
    for panel in board.panels
]


@pytest.mark.parametrize(("board", "title", "exprs"), PANELS)
def test_every_panel_query_parses_and_shows_data(prometheus, board, title, exprs):
    shown = 0
    for expr in exprs:
        answer = query(prometheus, expr)
        assert answer["status"] == "success", (board, title, expr, answer.get("error"))
        results = answer["data"]["result"]
        shown += len(results) if isinstance(results, list) else 1
    if title in EXPECTED_EMPTY:
        assert shown == 0, f"{title} has data now: drop it from EXPECTED_EMPTY"
    else:
        assert shown > 0, f"{board} / {title}: no data for {exprs}"


def test_every_alert_rule_loads_healthy_and_none_fires_on_a_healthy_run(prometheus):
    groups = _get(f"{prometheus}/api/v1/rules")["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    shipped = yaml.safe_load(RULES.read_text())["groups"]
    assert len(rules) == sum(len(g["rules"]) for g in shipped) == 15
    for rule in rules:
        assert rule["health"] == "ok", (rule["name"], rule.get("lastError"))
        answer = query(prometheus, rule["query"])
        assert answer["status"] == "success", (rule["name"], answer.get("error"))
        if rule["type"] == "alerting" and rule["name"] not in DRAINING_BACKLOG:
            assert rule["state"] == "inactive", (rule["name"], rule["alerts"])


def test_the_branch_desks_reviews_come_back_as_dispositions(prometheus):
    answer = query(prometheus, "sum(riskflow_alert_dispositions_total)")
    (result,) = answer["data"]["result"]
    # Every review the desk reported is about an alerted event, so it is a disposition
    # (customer reports and police on alerted events add to them).
    assert float(result["value"][1]) >= DESK["labels"] > 0
    assert DESK["reviewed"] == DESK["labels"] and DESK["alerts"] >= DESK["reviewed"]
