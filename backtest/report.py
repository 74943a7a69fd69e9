"""The backtest report: report.json, a self-contained report.html and PNG plots.

One run or several side by side (rules only against rules + models, ruleset A
against B, champion against challenger): every table gets a column per run and
every curve a line per run.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import platform
from collections import Counter
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec

from backtest.latency import FraudEvent, detection_latency, incidents
from backtest.metrics import (
    ALERTING,
    STOPPING,
    Scored,
    by_model_version,
    label_delays,
    load_decisions,
    precision_at_k_per_day,
    summarize,
)

__all__ = ["build_report", "file_digest"]


class _TruthRow(msgspec.Struct):
    event_id: str
    account_id: str = ""
    scenario: str = ""
    is_fraud: bool = False
    ts: float = 0.0


class _Amount(msgspec.Struct):
    event_id: str
    amount: float


class _Reasons(msgspec.Struct):
    event_id: str
    event_type: str
    reasons: list[dict[str, str]]
    action: str


class _Alert(msgspec.Struct):
    branch_id: str
    created_at: str
    event_id: str


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _truth(path: Path) -> list[_TruthRow]:
    decode = msgspec.json.Decoder(_TruthRow).decode
    with open(path, "rb") as fh:
        return [decode(line) for line in fh if line.strip()]


def _amounts(path: Path | None) -> dict[str, float]:
    if path is None:
        return {}
    decode = msgspec.json.Decoder(_Amount).decode
    out: dict[str, float] = {}
    with open(path, "rb") as fh:
        for line in fh:
            try:
                row = decode(line)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            out[row.event_id] = row.amount
    return out


def _reason_precision(run: Path, frauds: set[str]) -> dict[str, dict[str, float]]:
    """Per reason code on non-allowed payments: how often it fired and how often on fraud."""
    decode = msgspec.json.Decoder(_Reasons).decode
    fired: Counter[str] = Counter()
    right: Counter[str] = Counter()
    with open(run / "decisions.jsonl", "rb") as fh:
        for line in fh:
            d = decode(line)
            if d.event_type != "payment" or d.action == "allow":
                continue
            for code in {r["code"] for r in d.reasons}:
                fired[code] += 1
                right[code] += d.event_id in frauds
    return {
        code: {"hits": n, "precision": right[code] / n}
        for code, n in sorted(fired.items(), key=lambda kv: -kv[1])
    }


def _alerts_per_branch_day(run: Path) -> dict[str, float]:
    decode = msgspec.json.Decoder(_Alert).decode
    per: Counter[str] = Counter()
    days: set[str] = set()
    path = run / "alerts.jsonl"
    if not path.exists():
        return {}
    with open(path, "rb") as fh:
        for line in fh:
            a = decode(line)
            per[a.branch_id] += 1
            days.add(a.created_at[:10])
    n = max(1, len(days))
    return {branch: count / n for branch, count in sorted(per.items())}


def _money(rows: list[Scored], amounts: dict[str, float]) -> dict[str, float]:
    saved = sum(amounts.get(r.event_id, 0.0) for r in rows if r.fraud and r.action in STOPPING)
    lost = sum(amounts.get(r.event_id, 0.0) for r in rows if r.fraud and r.action not in STOPPING)
    friction = sum(1 for r in rows if not r.fraud and r.action in STOPPING)
    return {
        "fraud_amount_stopped": saved,
        "fraud_amount_lost": lost,
        "honest_payments_stopped": friction,
    }


def _curves(rows: list[Scored]) -> dict[str, list[float]]:
    ranked = sorted(rows, key=lambda r: (-r.score, r.fraud))
    positives = sum(r.fraud for r in rows) or 1
    negatives = (len(rows) - sum(r.fraud for r in rows)) or 1
    tp = fp = 0
    fpr, tpr, precision, recall = [0.0], [0.0], [1.0], [0.0]
    step = max(1, len(ranked) // 2000)
    for i, r in enumerate(ranked, start=1):
        tp += r.fraud
        fp += not r.fraud
        if i % step == 0 or i == len(ranked):
            fpr.append(fp / negatives)
            tpr.append(tp / positives)
            precision.append(tp / i)
            recall.append(tp / positives)
    return {"fpr": fpr, "tpr": tpr, "precision": precision, "recall": recall}


def _plots(out: Path, runs: dict[str, dict[str, Any]], capacity: float | None) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files: dict[str, Path] = {}

    def save(name: str, fig: Any) -> None:
        path = out / f"{name}.png"
        fig.tight_layout()
        fig.savefig(path, dpi=110)
        plt.close(fig)
        files[name] = path

    fig, (roc, pr) = plt.subplots(1, 2, figsize=(10, 4.2))
    for name, run in runs.items():
        c = run["curves"]
        roc.plot(c["fpr"], c["tpr"], label=f"{name} (AUC {run['summary']['roc_auc']:.3f})")
        pr.plot(
            c["recall"],
            c["precision"],
            label=f"{name} (AP {run['summary']['average_precision']:.3f})",
        )
    roc.plot([0, 1], [0, 1], color="grey", lw=0.5)
    roc.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, payments")
    pr.set(xlabel="recall", ylabel="precision", title="precision-recall, payments")
    roc.legend(fontsize=8)
    pr.legend(fontsize=8)
    save("roc_pr", fig)

    fig, ax = plt.subplots(figsize=(10, 3.6))
    for name, run in runs.items():
        days = sorted(run["precision_at_100_per_day"])
        ax.plot(days, [run["precision_at_100_per_day"][d] for d in days], marker=".", label=name)
    ax.set(
        ylabel="precision@100", title="precision@100 per day (accounts alerted earlier left out)"
    )
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)
    ax.legend(fontsize=8)
    save("precision_at_100", fig)

    fig, ax = plt.subplots(figsize=(10, 3.6))
    width = 0.8 / max(1, len(runs))
    for i, (name, run) in enumerate(runs.items()):
        branches = list(run["alerts_per_branch_day"])
        xs = [j + i * width for j in range(len(branches))]
        ax.bar(xs, [run["alerts_per_branch_day"][b] for b in branches], width, label=name)
        ax.set_xticks([j for j in range(len(branches))], branches, rotation=90, fontsize=6)
    if capacity is not None:
        ax.axhline(capacity, color="red", lw=1, label=f"capacity {capacity:g}/day")
    ax.set(ylabel="alerts per day", title="alerts per branch per day")
    ax.legend(fontsize=8)
    save("alerts_per_branch", fig)

    fig, ax = plt.subplots(figsize=(10, 3.6))
    for name, run in runs.items():
        for label, scores in run["score_samples"].items():
            ax.hist(scores, bins=50, histtype="step", density=True, label=f"{name}: {label}")
    ax.set(xlabel="score", ylabel="density", yscale="log", title="score distribution by class")
    ax.legend(fontsize=8)
    save("scores", fig)

    fig, ax = plt.subplots(figsize=(10, 3.6))
    scenarios = sorted({s for run in runs.values() for s in run["detection_latency"]})
    for i, (name, run) in enumerate(runs.items()):
        lat = run["detection_latency"]
        xs = [j + i * width for j in range(len(scenarios))]
        ax.bar(
            xs, [lat.get(s, {}).get("detected_share", 0.0) for s in scenarios], width, label=name
        )
    ax.set_xticks(range(len(scenarios)), scenarios, rotation=20, fontsize=8)
    ax.set(ylabel="incidents detected", title="share of fraud incidents stopped, per scenario")
    ax.legend(fontsize=8)
    save("detection", fig)
    return files


def _sample_scores(rows: list[Scored], n: int = 20_000) -> dict[str, list[float]]:
    fraud = [r.score for r in rows if r.fraud]
    legit = [r.score for r in rows if not r.fraud]
    step = max(1, len(legit) // n)
    return {"fraud": fraud, "legitimate": legit[::step]}


def _run(run: Path, truth: list[_TruthRow], amounts: dict[str, float]) -> dict[str, Any]:
    frauds = {t.event_id for t in truth if t.is_fraud}
    rows = load_decisions(run / "decisions.jsonl", frauds)
    actions = {r.event_id: r.action for r in rows}
    # Logins matter for latency too: a takeover stopped at its login is stopped.
    actions |= {
        r.event_id: r.action for r in load_decisions(run / "decisions.jsonl", frauds, "login")
    }
    found = incidents(
        FraudEvent(t.event_id, t.account_id, t.scenario, t.ts)
        for t in truth
        if t.is_fraud and t.scenario
    )
    return {
        "summary": asdict(summarize(rows)),
        "precision_at_100_per_day": precision_at_k_per_day(rows),
        "by_model_version": by_model_version(rows),
        "detection_latency": detection_latency(found, actions),
        "reasons": _reason_precision(run, frauds),
        "money": _money(rows, amounts),
        "alerts_per_branch_day": _alerts_per_branch_day(run),
        "alerts_per_day": dict(
            sorted(Counter(r.day for r in rows if r.action in ALERTING).items())
        ),
        "curves": _curves(rows),
        "score_samples": _sample_scores(rows),
    }


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for package in ("riskflow", "bytewax", "river", "confluent-kafka"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "unknown"
    return out


def _table(rows: list[str], runs: dict[str, dict[str, Any]], get: Any, fmt: str = "{:.3f}") -> str:
    head = "".join(f"<th>{html.escape(n)}</th>" for n in runs)
    body = ""
    for key in rows:
        cells = ""
        for run in runs.values():
            value = get(run, key)
            text = fmt.format(value) if isinstance(value, float) else html.escape(str(value))
            cells += f"<td>{text}</td>"
        body += f"<tr><th>{html.escape(key)}</th>{cells}</tr>"
    return f"<table><tr><th></th>{head}</tr>{body}</table>"


def build_report(
    runs: dict[str, Path],
    truth: Path,
    out: Path,
    *,
    payments: Path | None = None,
    inputs: dict[str, Path | None] | None = None,
    settings: dict[str, Any] | None = None,
    branch_capacity: float | None = None,
) -> dict[str, Any]:
    """Write report.json, report.html and the PNG plots into `out`; returns the report."""
    out.mkdir(parents=True, exist_ok=True)
    truth_rows = _truth(truth)
    amounts = _amounts(payments)
    computed = {name: _run(path, truth_rows, amounts) for name, path in runs.items()}
    plots = _plots(out, computed, branch_capacity)
    files = {"truth": truth} | {k: v for k, v in (inputs or {}).items() if v is not None}
    report: dict[str, Any] = {
        "inputs": {name: {"path": str(p), "sha256": file_digest(p)} for name, p in files.items()},
        "settings": settings or {},
        "versions": _versions(),
        "branch_capacity_per_day": branch_capacity,
        "runs": {
            name: {k: v for k, v in run.items() if k not in ("curves", "score_samples")}
            for name, run in computed.items()
        },
        "plots": {name: path.name for name, path in plots.items()},
    }
    feedback = (inputs or {}).get("feedback")
    if feedback is not None:
        first = next(iter(runs.values()))
        frauds = {t.event_id for t in truth_rows if t.is_fraud}
        report["label_delay_hours"] = label_delays(
            load_decisions(first / "decisions.jsonl", frauds), feedback
        )
    (out / "report.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "report.html").write_text(_html(report, computed, plots), encoding="utf-8")
    return report


def _html(report: dict[str, Any], runs: dict[str, dict[str, Any]], plots: dict[str, Path]) -> str:
    summary_keys = list(next(iter(runs.values()))["summary"])
    parts = [
        "<h1>riskflow backtest</h1>",
        "<h2>Headline (payments)</h2>",
        _table(summary_keys, runs, lambda r, k: r["summary"][k]),
        "<h2>Money</h2>",
        _table(
            list(next(iter(runs.values()))["money"]), runs, lambda r, k: r["money"][k], "{:,.0f}"
        ),
    ]
    for name in ("roc_pr", "precision_at_100", "alerts_per_branch", "scores", "detection"):
        data = base64.b64encode(plots[name].read_bytes()).decode()
        parts.append(f'<img alt="{name}" src="data:image/png;base64,{data}">')
    scenarios = sorted({s for r in runs.values() for s in r["detection_latency"]})
    parts.append("<h2>Detection latency per scenario</h2>")
    for field in ("incidents", "detected_share", "median_minutes", "median_events_let_through"):
        parts.append(f"<h3>{field}</h3>")
        parts.append(
            _table(
                scenarios, runs, lambda r, s, f=field: r["detection_latency"].get(s, {}).get(f, "")
            )
        )
    codes: list[str] = []
    for r in runs.values():
        codes += [c for c in r["reasons"] if c not in codes]
    parts.append("<h2>Reasons on stopped payments: precision</h2>")
    parts.append(
        _table(codes[:30], runs, lambda r, c: r["reasons"].get(c, {}).get("precision", ""))
    )
    parts.append("<h2>Inputs</h2><pre>")
    parts.append(html.escape(json.dumps(report["inputs"], indent=2)))
    parts.append(
        html.escape(
            json.dumps(
                {"settings": report["settings"], "versions": report["versions"]},
                indent=2,
                default=str,
            )
        )
    )
    parts.append("</pre>")
    style = (
        "body{font-family:sans-serif;max-width:1100px;margin:auto}"
        "table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:right}img{max-width:100%;display:block;margin:12px 0}"
    )
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>riskflow backtest</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )
