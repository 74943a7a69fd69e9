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
import logging
import math
import platform
from collections import Counter
from dataclasses import asdict
from importlib import metadata
from pathlib import Path
from typing import Any

import msgspec

from riskflow.backtest.calibration import EDGES, reliability
from riskflow.backtest.latency import (
    EARLY_SHARE,
    FIRST_TESTS,
    FraudEvent,
    detection_latency,
    incidents,
)
from riskflow.backtest.metrics import (
    ALERTING,
    STOPPING,
    Scored,
    label_delays,
    load_decisions,
    precision_at_k_per_day,
    summarize,
)
from riskflow.backtest.quality import by_day, by_label_band, by_model_version
from riskflow.backtest.truth import TruthFormatError, TruthRow, load_truth_rows

__all__ = ["TruthFormatError", "build_report", "file_digest", "strict_json"]


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


_log = logging.getLogger(__name__)


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


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


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _reason_precision(run: Path, frauds: set[str]) -> dict[str, dict[str, float | int | None]]:
    """Per reason code on payments: hits, precision and recall of fraud, on every payment it
    fired on (`_all`) and on the payments it helped stop (challenged, reviewed or blocked).

    A rule that fires mostly on allowed payments costs nothing but says little; one that
    stops payments at low precision is what customers and branches feel. Recall is over all
    fraudulent payments, so it shows what a rule adds next to the others.
    """
    decode = msgspec.json.Decoder(_Reasons).decode
    fired: Counter[str] = Counter()
    right: Counter[str] = Counter()
    fired_all: Counter[str] = Counter()
    right_all: Counter[str] = Counter()
    fraud_payments = 0
    with open(run / "decisions.jsonl", "rb") as fh:
        for line in fh:
            d = decode(line)
            if d.event_type != "payment":
                continue
            fraud = d.event_id in frauds
            fraud_payments += fraud
            stopped = d.action in STOPPING
            for code in {r["code"] for r in d.reasons}:
                fired_all[code] += 1
                right_all[code] += fraud
                if stopped:
                    fired[code] += 1
                    right[code] += fraud
    return {
        code: {
            "hits": fired[code],
            "precision": _ratio(right[code], fired[code]),
            "recall": _ratio(right[code], fraud_payments),
            "hits_all": n,
            "precision_all": _ratio(right_all[code], n),
            "recall_all": _ratio(right_all[code], fraud_payments),
        }
        for code, n in sorted(fired_all.items(), key=lambda kv: (-kv[1], kv[0]))
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

    _calibration_plot(plt, runs, save)
    return files


def _calibration_plot(plt: Any, runs: dict[str, dict[str, Any]], save: Any) -> None:
    # Log axes: a rare-event score lives between 0.01% and a few percent, where a linear
    # plot is one dot at the origin. Zero (no fraud in a bin, a score of 0) has no log, so it
    # is drawn at the floor and the title says so.
    floor = EDGES[1] / 2
    fig, (rel, counts) = plt.subplots(1, 2, figsize=(10, 4.2))
    nbins = len(EDGES) - 1
    width = 0.8 / max(1, len(runs))
    for i, (name, run) in enumerate(runs.items()):
        cal = run["calibration"]
        filled = [b for b in cal["bins"] if b["count"]]
        xs = [max(b["mean_score"], floor) for b in filled]
        ys = [max(b["observed"], floor) for b in filled]
        # The interval's ends are computed apart from the rate: at a rate of 0 or 1 they can
        # miss it by a rounding error, and matplotlib refuses a negative error bar.
        below = [
            max(0.0, y - max(b["observed_low"], floor)) for y, b in zip(ys, filled, strict=True)
        ]
        above = [
            max(0.0, max(b["observed_high"], floor) - y) for y, b in zip(ys, filled, strict=True)
        ]
        ece = cal["ece"]
        brier = cal["brier"]
        label = name if ece is None else f"{name} (ECE {ece:.4f}, Brier {brier:.4f})"
        rel.errorbar(xs, ys, yerr=[below, above], marker="o", ms=4, capsize=2, label=label)
        xs_bar = [j + i * width for j in range(nbins)]
        counts.bar(xs_bar, [b["count"] for b in cal["bins"]], width, label=f"{name}: payments")
        counts.bar(
            xs_bar, [b["frauds"] for b in cal["bins"]], width, alpha=0.6, label=f"{name}: frauds"
        )
    rel.plot([floor, 1], [floor, 1], color="grey", lw=0.8, ls="--", label="perfect calibration")
    rel.set(
        xscale="log",
        yscale="log",
        xlim=(floor * 0.8, 1.2),
        ylim=(floor * 0.8, 1.2),
        xlabel="mean score in bin",
        ylabel="observed fraud share (95% interval)",
        title="calibration, payments (0 drawn at the bottom)",
    )
    ticks = [f"{EDGES[j]:g}" for j in range(nbins)]
    counts.set_xticks(range(nbins), ticks, rotation=60, fontsize=7)
    counts.set(yscale="log", xlabel="bin (lower edge of score)", title="payments per score bin")
    counts.set_ylim(bottom=0.5)  # a bin of one payment stays visible on the log axis
    rel.legend(fontsize=7)
    counts.legend(fontsize=7)
    save("calibration", fig)


def _sample_scores(rows: list[Scored], n: int = 20_000) -> dict[str, list[float]]:
    fraud = [r.score for r in rows if r.fraud]
    legit = [r.score for r in rows if not r.fraud]
    step = max(1, len(legit) // n)
    return {"fraud": fraud, "legitimate": legit[::step]}


def _run(run: Path, truth: list[TruthRow], amounts: dict[str, float]) -> dict[str, Any]:
    frauds = {t.event_id for t in truth if t.is_fraud}
    rows = load_decisions(run / "decisions.jsonl", frauds)
    logins = load_decisions(run / "decisions.jsonl", frauds, "login")
    actions = {r.event_id: r.action for r in rows}
    # Logins matter for latency too: a takeover stopped at its login is stopped.
    actions |= {r.event_id: r.action for r in logins}
    found = incidents(
        FraudEvent(t.event_id, t.account_id, t.scenario, t.ts, t.burst)
        for t in truth
        if t.is_fraud and t.scenario
    )
    versions, left_out = by_model_version(rows)
    return {
        "summary": asdict(summarize(rows, logins=logins)),
        "calibration": asdict(reliability([r.score for r in rows], [r.fraud for r in rows])),
        "precision_at_100_per_day": precision_at_k_per_day(rows),
        "by_day": by_day(rows),
        "by_label_band": by_label_band(rows),
        "by_model_version": versions,
        "by_model_version_left_out": left_out,
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


def _cell(value: Any, fmt: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, float):
        return fmt.format(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return html.escape(str(value))


def _table(rows: list[str], runs: dict[str, dict[str, Any]], get: Any, fmt: str = "{:.3f}") -> str:
    """Rows by key, a column per run."""
    head = "".join(f"<th>{html.escape(n)}</th>" for n in runs)
    body = ""
    for key in rows:
        cells = "".join(f"<td>{_cell(get(run, key), fmt)}</td>" for run in runs.values())
        body += f"<tr><th>{html.escape(key)}</th>{cells}</tr>"
    return f"<table><tr><th></th>{head}</tr>{body}</table>"


def _grid(rows: dict[str, dict[str, Any]], columns: list[str], fmt: str = "{:.3f}") -> str:
    """One run's rows (a day, a band, a rule) by column."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = ""
    for key, row in rows.items():
        cells = "".join(f"<td>{_cell(row.get(c), fmt)}</td>" for c in columns)
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
    """Write report.json, report.html and the PNG plots into `out`; returns the report as
    written (undefined metrics are None). A truth file it cannot read raises
    TruthFormatError before anything is written."""
    truth_rows = load_truth_rows(truth)
    out.mkdir(parents=True, exist_ok=True)
    amounts = _amounts(payments)
    computed = {name: _run(path, truth_rows, amounts) for name, path in runs.items()}
    try:
        plots = _plots(out, computed, branch_capacity)
    except Exception as exc:  # a figure that will not draw must not cost the report
        _log.warning(
            "report: plots not drawn (%s); report.json and report.html written", type(exc).__name__
        )
        plots = {}
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
    report = strict_json(report)
    (out / "report.json").write_text(
        json.dumps(report, indent=2, default=str, allow_nan=False) + "\n"
    )
    (out / "report.html").write_text(_html(report, strict_json(computed), plots), encoding="utf-8")
    return report


def strict_json(value: Any) -> Any:
    """`value` with every NaN or infinity replaced by None: JSON has no NaN, and a reader
    that is not Python refuses the file or reads it wrong (an AUC of a day with no fraud is
    undefined, and null says so)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    return value


_QUALITY = ["payments", "frauds", "roc_auc", "average_precision", "non_allow_share"]
_REASONS = ["hits_all", "precision_all", "recall_all", "hits", "precision", "recall"]
_PLOTS = ("roc_pr", "calibration", "precision_at_100", "alerts_per_branch", "scores", "detection")


def _per_run(runs: dict[str, dict[str, Any]], section: Any) -> list[str]:
    # One grid per run: the rows (days, bands, rules) differ between runs.
    parts: list[str] = []
    for name, run in runs.items():
        if len(runs) > 1:
            parts.append(f"<h3>{html.escape(name)}</h3>")
        parts += section(run)
    return parts


def _calibration_bins(run: dict[str, Any]) -> list[str]:
    rows = {
        f"[{b['low']:g}, {b['high']:g}{']' if b['high'] >= 1 else ')'}": {
            "payments": b["count"],
            "frauds": b["frauds"],
            "mean score": b["mean_score"],
            "observed": b["observed"],
            "95% low": b["observed_low"],
            "95% high": b["observed_high"],
        }
        for b in run["calibration"]["bins"]
    }
    cols = ["payments", "frauds", "mean score", "observed", "95% low", "95% high"]
    return [_grid(rows, cols, "{:.3g}")]


def _versions_table(run: dict[str, Any]) -> list[str]:
    left = run["by_model_version_left_out"]
    rows = {str(v["model_version"]): v for v in run["by_model_version"]}
    note = (
        f"<p>{left['versions']:,} versions with fewer than {left['min_frauds']} frauds left out "
        f"({left['payments']:,} payments, {left['frauds']:,} frauds): see the bands above.</p>"
    )
    return [note, _grid(rows, _QUALITY)] if rows else [note]


def _bursts_stopped_early(runs: dict[str, dict[str, Any]], scenarios: list[str]) -> list[str]:
    # Only scenarios counted per burst have the figure; a row of blanks for the rest says
    # nothing.
    rows = [
        s
        for s in scenarios
        if any(EARLY_SHARE in r["detection_latency"].get(s, {}) for r in runs.values())
    ]
    if not rows:
        return []
    return [
        f"<h3>{EARLY_SHARE}</h3><p>Incidents counted per burst across cards: the share of "
        f"bursts with one of their first {FIRST_TESTS} tests (in event time) challenged, "
        "reviewed or blocked.</p>",
        _table(rows, runs, lambda r, s: r["detection_latency"].get(s, {}).get(EARLY_SHARE, "")),
    ]


def _html(report: dict[str, Any], runs: dict[str, dict[str, Any]], plots: dict[str, Path]) -> str:
    first = next(iter(runs.values()))
    parts = [
        "<h1>riskflow backtest</h1>",
        "<h2>Headline (payments; alert volume also for logins)</h2>",
        _table(list(first["summary"]), runs, lambda r, k: r["summary"][k]),
        "<h2>Money</h2>",
        _table(list(first["money"]), runs, lambda r, k: r["money"][k], "{:,.0f}"),
    ]
    for name in _PLOTS:
        if name not in plots:
            continue
        data = base64.b64encode(plots[name].read_bytes()).decode()
        parts.append(f'<img alt="{name}" src="data:image/png;base64,{data}">')
    parts.append("<h2>Calibration (payments): is the score the probability of fraud?</h2>")
    keys = ["payments", "frauds", "base_rate", "brier", "brier_base_rate", "brier_skill", "ece"]
    parts.append(_table(keys, runs, lambda r, k: r["calibration"][k], "{:.4g}"))
    parts += _per_run(runs, _calibration_bins)
    parts.append("<h2>Quality by labels learned (model version bands)</h2>")
    parts += _per_run(runs, lambda r: [_grid(r["by_label_band"], ["versions", *_QUALITY])])
    parts.append("<h2>Quality by event day</h2>")
    parts += _per_run(runs, lambda r: [_grid(r["by_day"], _QUALITY)])
    parts.append("<h2>Model versions with enough fraud to judge</h2>")
    parts += _per_run(runs, _versions_table)
    scenarios = sorted({s for r in runs.values() for s in r["detection_latency"]})
    parts.append("<h2>Detection latency per scenario</h2>")
    for field in ("incidents", "detected_share", "median_minutes", "median_events_let_through"):
        parts.append(f"<h3>{field}</h3>")
        parts.append(
            _table(
                scenarios, runs, lambda r, s, f=field: r["detection_latency"].get(s, {}).get(f, "")
            )
        )
        if field == "detected_share":
            parts += _bursts_stopped_early(runs, scenarios)
    parts.append(
        "<h2>Reasons on payments</h2><p>Columns ending in _all count every payment the code "
        "was on, the others only the payments it helped stop (challenged, reviewed or "
        "blocked); recall is over all fraudulent payments. The 30 most frequent codes.</p>"
    )
    parts += _per_run(runs, lambda r: [_grid(dict(list(r["reasons"].items())[:30]), _REASONS)])
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
