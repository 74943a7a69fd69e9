"""The shipped dashboards, alert rules and stack files are well formed and agree with the code."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric

import riskflow.connectors.kafka_source
import riskflow.connectors.metrics  # noqa: F401 - registers the flow's metrics
from dashboards.build import DASHBOARDS, DATASOURCE, OUT, render

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "dashboards" / "alerts"
UNITS = {"ops", "s", "percentunit", "short", "none", "bytes"}


def shipped() -> dict[str, dict]:
    return {p.stem: json.loads(p.read_text()) for p in sorted(OUT.glob("*.json"))}


def test_the_committed_json_is_what_the_generator_writes():
    assert shipped() == {d.uid: render(d) for d in DASHBOARDS}, (
        "run `python dashboards/build.py` and commit the JSON"
    )


def test_there_are_the_four_dashboards_the_risk_team_asked_for():
    titles = sorted(d["title"] for d in shipped().values())
    assert titles == [
        "riskflow / Branches",
        "riskflow / Decisions and rules",
        "riskflow / Models",
        "riskflow / Operations",
    ]


@pytest.mark.parametrize("uid", [d.uid for d in DASHBOARDS])
def test_panels_reference_the_datasource_variable_have_units_and_unique_ids(uid):
    board = shipped()[uid]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert panel["datasource"] == DATASOURCE == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["fieldConfig"]["defaults"]["unit"] in UNITS, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == DATASOURCE
            assert target["expr"].strip()
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0
    used = {
        m for p in board["panels"] for t in p["targets"] for m in re.findall(r"\$(\w+)", t["expr"])
    }
    assert used <= {"__rate_interval", "__range"} | set(variables), used


def _families() -> dict[str, Metric]:
    return {m.name: m for m in REGISTRY.collect()}


def test_every_riskflow_metric_a_panel_or_alert_uses_exists_in_the_code():
    families = _families()
    exprs = [t["expr"] for d in shipped().values() for p in d["panels"] for t in p["targets"]]
    exprs.append((ALERTS / "riskflow.rules.yml").read_text())
    used = {n for e in exprs for n in re.findall(r"\briskflow_[a-z0-9_]+", e)}
    for name in used:
        base = re.sub(r"_(total|bucket|count|sum)$", "", name)
        assert base in families, f"{name}: no such metric in connectors/"


def test_metric_names_follow_prometheus_conventions():
    for name, family in _families().items():
        if not name.startswith("riskflow_"):
            continue
        samples = {s.name for s in family.samples} or {name}
        if family.type == "counter":
            assert family.name + "_total" in samples or not family.samples
        if family.type == "histogram":
            assert name.endswith(("_seconds", "_score")), name
        for labels in (s.labels for s in family.samples):
            assert not {"account_id", "customer_id", "event_id", "device_id", "ip"} & set(labels)


def test_no_metric_is_labelled_by_account():
    for name, family in _families().items():
        for sample in family.samples:
            assert "account_id" not in sample.labels, name


promtool = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(promtool is None, reason="promtool (Debian prometheus)")


def _run(*cmd: str, cwd: Path | None = None) -> str:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


@needs_promtool
def test_promtool_checks_the_alert_rules_and_their_unit_tests_pass():
    out = _run("promtool", "check", "rules", str(ALERTS / "riskflow.rules.yml"))
    assert "SUCCESS" in out
    out = _run("promtool", "test", "rules", "riskflow.rules.test.yml", cwd=ALERTS)
    assert "SUCCESS" in out


@needs_promtool
def test_promtool_checks_the_stack_prometheus_config_with_its_rules(tmp_path):
    # The layout the compose stack mounts: the config with the rules beside it.
    shutil.copy(ROOT / "docker" / "prometheus" / "prometheus.yml", tmp_path)
    (tmp_path / "rules").mkdir()
    shutil.copy(ALERTS / "riskflow.rules.yml", tmp_path / "rules")
    out = _run("promtool", "check", "config", str(tmp_path / "prometheus.yml"))
    assert "1 rule files found" in out and "15 rules found" in out


@pytest.mark.skipif(shutil.which("docker-compose") is None, reason="docker-compose (Debian)")
def test_docker_compose_parses_the_whole_stack():
    out = _run("docker-compose", "-f", str(ROOT / "docker" / "compose.yml"), "config", "--services")
    services = {"kafka", "redis", "riskflow", "simulator", "branch-desk", "prometheus", "grafana"}
    assert set(out.split()) >= services
    compose = (ROOT / "docker" / "compose.yml").read_text()
    for mounted in ("../dashboards/alerts", "../dashboards/grafana", "./grafana/provisioning"):
        assert mounted in compose
        assert (ROOT / "docker" / mounted).resolve().is_dir()
