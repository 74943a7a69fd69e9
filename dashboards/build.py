"""Writes the Grafana dashboards in `dashboards/grafana/` from the panel lists below.

Generated rather than hand-kept: every panel gets the same datasource
reference, a unique id, a unit and a grid position by construction, a query
is one line here instead of a screen of JSON, and the integration test reads
the same lists to evaluate every query against a real Prometheus. The JSON
is committed (Grafana provisions files) and a test fails if it drifts from
this module: run `python dashboards/build.py` after changing a panel.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["DASHBOARDS", "Dashboard", "Panel", "Query", "render", "write_all"]

OUT = Path(__file__).parent / "grafana"
DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}
SLO_SECONDS = 0.05
"""Decision latency objective: 99% of decisions within 50 ms (docs/operations.md)."""
RATE = "$__rate_interval"


@dataclass(frozen=True)
class Query:
    expr: str
    legend: str = ""
    instant: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    queries: tuple[Query, ...]
    unit: str
    kind: str = "timeseries"
    description: str = ""
    width: int = 12
    height: int = 8
    thresholds: tuple[float, ...] = ()
    stack: bool = False


@dataclass(frozen=True)
class Dashboard:
    uid: str
    title: str
    description: str
    panels: tuple[Panel, ...]
    variables: tuple[dict[str, Any], ...] = field(default=())


def q(expr: str, legend: str = "", *, instant: bool = False) -> Query:
    return Query(" ".join(expr.split()), legend, instant)


_BRANCH_VAR = {
    "name": "branch",
    "label": "Branch",
    "type": "query",
    "datasource": DATASOURCE,
    "query": {"query": "label_values(riskflow_alerts_total, branch_id)", "refId": "branches"},
    "definition": "label_values(riskflow_alerts_total, branch_id)",
    "includeAll": True,
    "multi": True,
    "allValue": ".*",
    "current": {"text": "All", "value": "$__all"},
    "refresh": 2,
}

OPERATIONS = Dashboard(
    "riskflow-operations",
    "riskflow / Operations",
    "Is every payment and login read and decided in time?",
    (
        Panel(
            "Events read per second, by topic",
            (q(f"sum by (topic) (rate(riskflow_events_in_total[{RATE}]))", "{{topic}}"),),
            "ops",
            stack=True,
        ),
        Panel(
            "Events decided per second, by channel",
            (
                q(
                    f"sum by (channel) (rate(riskflow_events_scored_total[{RATE}]))",
                    "{{channel}}",
                ),
            ),
            "ops",
            stack=True,
        ),
        Panel(
            "Decision latency against the 50 ms SLO",
            (
                *(
                    q(
                        f"histogram_quantile({p}, sum by (le) "
                        f"(rate(riskflow_decision_latency_seconds_bucket[{RATE}])))",
                        f"p{round(p * 100)}",
                    )
                    for p in (0.5, 0.95, 0.99)
                ),
                q(f"vector({SLO_SECONDS})", "SLO"),
            ),
            "s",
            description="Read from Kafka to decided, per decision; the SLO is on the p99.",
            thresholds=(SLO_SECONDS,),
        ),
        Panel(
            "Decisions within the SLO",
            (
                q(
                    f'sum(rate(riskflow_decision_latency_seconds_bucket{{le="{SLO_SECONDS}"}}'
                    f"[{RATE}])) / sum(rate(riskflow_decision_latency_seconds_count[{RATE}]))",
                    "within 50 ms",
                ),
            ),
            "percentunit",
            kind="stat",
            width=6,
            thresholds=(0.99,),
        ),
        Panel(
            "Seconds since the last decision",
            (
                q(
                    "time() - max by (instance) (riskflow_last_decision_timestamp_seconds)",
                    "{{instance}}",
                ),
            ),
            "s",
            kind="stat",
            width=6,
            thresholds=(60, 300),
        ),
        Panel(
            "Consumer lag per partition",
            (
                q(
                    "sum by (topic, partition) (riskflow_consumer_lag_messages)",
                    "{{topic}}/{{partition}}",
                ),
            ),
            "short",
        ),
        Panel(
            "Dead letters per second, by reason",
            (q(f"sum by (reason) (rate(riskflow_deadletters_total[{RATE}]))", "{{reason}}"),),
            "ops",
            stack=True,
        ),
        Panel(
            "Redis",
            (
                q(f"sum(rate(riskflow_redis_writes_total[{RATE}]))", "account records written/s"),
                q(f"sum(rate(riskflow_redis_write_failures_total[{RATE}]))", "failed pipelines/s"),
                q(f"sum(rate(riskflow_redis_dropped_total[{RATE}]))", "dropped/s"),
            ),
            "ops",
            description="Failures are retried; dropped means Redis stayed unreachable too long.",
        ),
        Panel(
            "Workers up",
            (q('up{job="riskflow"}', "{{instance}}"),),
            "none",
            kind="stat",
            width=6,
            thresholds=(1,),
        ),
        Panel(
            "Memory per process",
            (q('process_resident_memory_bytes{job="riskflow"}', "{{instance}}"),),
            "bytes",
            width=6,
        ),
        Panel(
            "CPU per process",
            (q(f'rate(process_cpu_seconds_total{{job="riskflow"}}[{RATE}])', "{{instance}}"),),
            "percentunit",
        ),
        Panel(
            "Items through each step per second",
            (
                q(
                    f"sum by (step_id) (rate(bytewax_item_inp_count_total[{RATE}]))",
                    "{{step_id}}",
                ),
            ),
            "ops",
            description="bytewax's own counters: a step that stops moving is a stuck worker.",
        ),
    ),
)

DECISIONS = Dashboard(
    "riskflow-decisions",
    "riskflow / Decisions and rules",
    "What is being challenged, reviewed and blocked, and why.",
    (
        Panel(
            "Decisions per second, by action",
            (q(f"sum by (action) (rate(riskflow_decisions_total[{RATE}]))", "{{action}}"),),
            "ops",
            stack=True,
        ),
        Panel(
            "Payments stopped (challenge, review or block)",
            (
                q(
                    f'sum(rate(riskflow_decisions_total{{event_type="payment",action!="allow"}}'
                    f'[{RATE}])) / sum(rate(riskflow_decisions_total{{event_type="payment"}}'
                    f"[{RATE}]))",
                    "stopped",
                ),
            ),
            "percentunit",
        ),
        Panel(
            "Top rules in the range",
            (
                q(
                    "topk(10, sum by (rule_id) (increase(riskflow_rule_hits_total[$__range])))",
                    "{{rule_id}}",
                    instant=True,
                ),
            ),
            "short",
            kind="bargauge",
            description="Reason codes come from these rules; list hits are in their own panel.",
        ),
        Panel(
            "Rule hits per second",
            (q(f"sum by (rule_id) (rate(riskflow_rule_hits_total[{RATE}]))", "{{rule_id}}"),),
            "ops",
        ),
        Panel(
            "Precision per rule (labelled events it fired on)",
            (
                q(
                    'sum by (rule_id) (increase(riskflow_rule_labels_total{label="fraud"}'
                    "[$__range])) / sum by (rule_id) "
                    "(increase(riskflow_rule_labels_total[$__range]))",
                    "{{rule_id}}",
                    instant=True,
                ),
            ),
            "percentunit",
            kind="bargauge",
            description="Fraud labels / all labels on events the rule fired on; labels arrive "
            "hours (branch reviews) to weeks (chargebacks) after the event.",
        ),
        Panel(
            "Risk-list hits per second, by list and source",
            (
                q(
                    f"sum by (list, source) (rate(riskflow_list_hits_total[{RATE}]))",
                    "{{list}} / {{source}}",
                ),
            ),
            "ops",
        ),
        Panel(
            "Risk-list entries",
            (q("max(riskflow_list_entries)", "entries"),),
            "short",
            kind="stat",
            width=6,
        ),
        Panel(
            "Ruleset in use",
            (q("max by (version) (riskflow_ruleset_info)", "{{version}}", instant=True),),
            "none",
            kind="stat",
            width=6,
        ),
        Panel(
            "Customer notifications per second, by type",
            (q(f"sum by (type) (rate(riskflow_notifications_total[{RATE}]))", "{{type}}"),),
            "ops",
        ),
    ),
)

BRANCHES = Dashboard(
    "riskflow-branches",
    "riskflow / Branches",
    "Each branch's alert queue: what arrived, what came back, how fast, against its budget.",
    (
        Panel(
            "Alerts in the range, by branch",
            (
                q(
                    'sum by (branch_id) (increase(riskflow_alerts_total{branch_id=~"$branch"}'
                    "[$__range]))",
                    "{{branch_id}}",
                    instant=True,
                ),
            ),
            "short",
            kind="bargauge",
            width=24,
        ),
        Panel(
            "Alerts per hour, by severity",
            (
                q(
                    'sum by (severity) (rate(riskflow_alerts_total{branch_id=~"$branch"}'
                    f"[{RATE}])) * 3600",
                    "{{severity}}",
                ),
            ),
            "short",
            stack=True,
        ),
        Panel(
            "Open against dispositioned, in the range",
            (
                q(
                    'sum(increase(riskflow_alerts_total{branch_id=~"$branch"}[$__range])) '
                    "- (sum(increase(riskflow_alert_dispositions_total"
                    '{branch_id=~"$branch"}[$__range])) or vector(0))',
                    "open",
                ),
                q(
                    "sum(increase(riskflow_alert_dispositions_total"
                    '{branch_id=~"$branch"}[$__range]))',
                    "dispositioned",
                ),
            ),
            "short",
            description="An alert is dispositioned when its outcome comes back as a label.",
        ),
        Panel(
            "Dispositions by outcome",
            (
                q(
                    "sum by (outcome) (increase(riskflow_alert_dispositions_total"
                    '{branch_id=~"$branch"}[$__range]))',
                    "{{outcome}}",
                    instant=True,
                ),
            ),
            "short",
            kind="bargauge",
        ),
        Panel(
            "Time to disposition",
            tuple(
                q(
                    f"histogram_quantile({p}, sum by (le) (increase("
                    'riskflow_alert_disposition_seconds_bucket{branch_id=~"$branch"}'
                    "[$__range])))",
                    f"p{round(p * 100)}",
                )
                for p in (0.5, 0.9)
            ),
            "s",
        ),
        Panel(
            "Alert budget used today, by branch",
            (
                q(
                    'sum by (branch_id) (increase(riskflow_alerts_total{branch_id=~"$branch"}'
                    "[1d])) / scalar(max(riskflow_alert_budget_per_branch_day) > 0)",
                    "{{branch_id}}",
                    instant=True,
                ),
            ),
            "percentunit",
            kind="bargauge",
            description="Alerts in the last 24 h over policy.review_budget_per_branch_day; "
            "empty when no budget is configured.",
            thresholds=(0.8, 1.0),
        ),
    ),
    variables=(_BRANCH_VAR,),
)

MODELS = Dashboard(
    "riskflow-models",
    "riskflow / Models",
    "Are the online models still good, and is the challenger better?",
    (
        Panel(
            "Score distribution, payments (quantiles)",
            tuple(
                q(
                    f"histogram_quantile({p}, sum by (le, scorer) (rate("
                    f'riskflow_decision_score_bucket{{event_type="payment"}}[{RATE}])))',
                    f"p{round(p * 100)} {{{{scorer}}}}",
                )
                for p in (0.5, 0.9, 0.99)
            ),
            "percentunit",
        ),
        Panel(
            "Share scored by a model (not cold)",
            (
                q(
                    f'sum(rate(riskflow_decision_score_count{{scorer="model"}}[{RATE}])) / '
                    f"sum(rate(riskflow_decision_score_count[{RATE}]))",
                    "modelled",
                ),
            ),
            "percentunit",
        ),
        *(
            Panel(
                f"Prequential {name} by model version",
                (
                    q(
                        f"max by (role, version, event_type) ({metric} "
                        "* on (instance, role) group_left (version) riskflow_model_info)",
                        "{{role}} {{version}} {{event_type}}",
                    ),
                ),
                "percentunit",
                description="Each label is first predicted, then learned; "
                "window of the last 2,000 labels per role and event type.",
            )
            for name, metric in (
                ("ROC AUC", "riskflow_model_prequential_auc"),
                ("average precision", "riskflow_model_prequential_average_precision"),
                ("precision@50", "riskflow_model_prequential_precision_at_k"),
            )
        ),
        Panel(
            "Challenger minus champion, average precision",
            (
                q(
                    "max by (event_type) (riskflow_model_prequential_average_precision"
                    '{role="challenger"}) - max by (event_type) '
                    '(riskflow_model_prequential_average_precision{role="champion"})',
                    "{{event_type}}",
                ),
            ),
            "percentunit",
            description="Above zero for days: consider `riskflow models promote`.",
        ),
        Panel(
            "Labels learned per second",
            (
                q(
                    f"sum by (role, label) (rate(riskflow_model_labels_total[{RATE}]))",
                    "{{role}} {{label}}",
                ),
            ),
            "ops",
        ),
        Panel(
            "Label delay",
            tuple(
                q(
                    f"histogram_quantile({p}, sum by (le) "
                    f"(rate(riskflow_label_delay_seconds_bucket[{RATE}])))",
                    f"p{round(p * 100)}",
                )
                for p in (0.5, 0.9)
            ),
            "s",
            description="From the event to its label: branch reviews in hours, chargebacks "
            "in weeks.",
        ),
    ),
)

DASHBOARDS = (OPERATIONS, DECISIONS, BRANCHES, MODELS)


def _panel_json(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    steps: list[dict[str, Any]] = [{"color": "green", "value": None}]
    for value, color in zip(panel.thresholds, ("orange", "red"), strict=False):
        steps.append({"color": color, "value": value})
    custom: dict[str, Any] = {}
    if panel.kind == "timeseries":
        custom = {"drawStyle": "line", "fillOpacity": 10, "showPoints": "never"}
        if panel.stack:
            custom["stacking"] = {"mode": "normal", "group": "A"}
    targets = [
        {
            "datasource": DATASOURCE,
            "refId": chr(ord("A") + i),
            "expr": query.expr,
            "legendFormat": query.legend,
            "instant": query.instant,
            "range": not query.instant,
        }
        for i, query in enumerate(panel.queries)
    ]
    body: dict[str, Any] = {
        "id": panel_id,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": panel.height, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {
            "defaults": {
                "unit": panel.unit,
                "custom": custom,
                "thresholds": {"mode": "absolute", "steps": steps},
            },
            "overrides": [],
        },
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": targets,
    }
    if panel.kind in ("stat", "bargauge"):
        body["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "values": False}}
    return body


def render(dashboard: Dashboard) -> dict[str, Any]:
    """One dashboard as Grafana's JSON model, panels laid out left to right, top to bottom."""
    panels = []
    x = y = row_height = 0
    for panel_id, panel in enumerate(dashboard.panels, start=1):
        if x + panel.width > 24:
            x, y, row_height = 0, y + row_height, 0
        panels.append(_panel_json(panel, panel_id, x, y))
        x += panel.width
        row_height = max(row_height, panel.height)
    datasource_var = {
        "name": "datasource",
        "label": "Prometheus",
        "type": "datasource",
        "query": "prometheus",
        "current": {"text": "Prometheus", "value": "prometheus"},
    }
    return {
        "uid": dashboard.uid,
        "title": dashboard.title,
        "description": dashboard.description,
        "tags": ["riskflow"],
        "editable": True,
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-6h", "to": "now"},
        "refresh": "30s",
        "timezone": "browser",
        "templating": {"list": [datasource_var, *dashboard.variables]},
        "annotations": {"list": []},
        "panels": panels,
    }


def write_all(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for dashboard in DASHBOARDS:
        path = out / f"{dashboard.uid}.json"
        path.write_text(json.dumps(render(dashboard), indent=2, ensure_ascii=False) + "\n")
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write_all():
        print(path)
