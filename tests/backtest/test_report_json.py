"""A tiny report built end to end from synthetic files: strict JSON and values by hand."""

from __future__ import annotations

import json

import pytest

from riskflow.backtest.report import TruthFormatError, build_report


def decision(n, kind, day, score, action, version, codes=()):
    return {
        "event_id": n,
        "account_id": f"A-{n}",
        "event_type": kind,
        "event_ts": f"2026-03-0{day}T10:00:00+08:00",
        "ts": f"2026-03-0{day}T02:00:00.010Z",
        "action": action,
        "score": score,
        "reasons": [{"code": c, "detail": "..."} for c in codes],
        "rules_version": "r1",
        "model_version": version,
        "latency_ms": 0.4,
    }


DECISIONS = [
    decision("P1", "payment", 1, 0.95, "block", "champion-500", ["R_A", "R_B"]),
    decision("P2", "payment", 1, 0.60, "challenge", "champion-500", ["R_A"]),
    decision("P3", "payment", 1, 0.02, "allow", "rules-only", ["R_B"]),
    decision("P4", "payment", 1, 0.01, "allow", "rules-only"),
    # Day 2 has no fraud: its AUC is undefined.
    decision("P5", "payment", 2, 0.30, "review", "champion-1500", ["R_A"]),
    decision("P6", "payment", 2, 0.001, "allow", "champion-1500"),
    decision("P7", "payment", 3, 0.05, "allow", "champion-1500", ["R_B"]),
    decision("P8", "payment", 3, 0.20, "allow", "champion-1500"),
    decision("L1", "login", 1, 0.9, "block", "rules-only"),
    decision("L2", "login", 1, 0.0, "allow", "rules-only"),
    decision("L3", "login", 2, 0.5, "challenge", "rules-only"),
    decision("L4", "login", 3, 0.0, "allow", "rules-only"),
]

# A bank's CSV export: labels, RFC 3339 times, a legitimate row among the frauds.
TRUTH = (
    "event_id,account_id,scenario,label,ts\n"
    "P1,A-P1,account_takeover,fraud,2026-03-01T02:00:00Z\n"
    "P2,A-P2,,legit,2026-03-01T02:00:00Z\n"
    "P7,A-P7,card_testing,fraud,2026-03-03T10:00:00+08:00\n"
    "L1,A-L1,account_takeover,1,2026-03-01T01:59:00Z\n"
)


def refuse(constant: str) -> float:
    raise AssertionError(f"report.json holds {constant}, which is not JSON")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    run = base / "run"
    run.mkdir()
    (run / "decisions.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DECISIONS))
    truth = base / "truth.csv"
    truth.write_text(TRUTH)
    out = base / "out"
    returned = build_report({"rules + models": run}, truth, out)
    text = (out / "report.json").read_text()
    report = json.loads(text, parse_constant=refuse)
    return out, returned, report, report["runs"]["rules + models"]


def test_report_json_is_strict_and_is_what_build_report_returns(built):
    _, returned, report, run = built
    assert report == json.loads(json.dumps(returned))
    # Undefined figures are null: a day without fraud, a scenario never caught.
    assert run["by_day"]["2026-03-02"]["roc_auc"] is None
    assert run["detection_latency"]["card_testing"]["median_minutes"] is None
    assert run["detection_latency"]["account_takeover"]["detected_share"] == 1.0


def test_alert_volume_for_payments_and_logins(built):
    summary = built[3]["summary"]
    assert (summary["payments"], summary["frauds"], summary["logins"]) == (8, 2, 4)
    assert summary["challenge_share"] == summary["review_share"] == 1 / 8
    assert summary["block_share"] == 1 / 8 and summary["non_allow_share"] == 3 / 8
    assert summary["login_challenge_share"] == 1 / 4 and summary["login_review_share"] == 0.0
    assert summary["login_block_share"] == 1 / 4 and summary["login_non_allow_share"] == 2 / 4
    assert summary["alert_rate"] == 2 / 8 and summary["alert_precision"] == 1 / 2


def test_reason_codes_on_all_payments_and_on_stopped_ones(built):
    reasons = built[3]["reasons"]
    assert list(reasons) == ["R_A", "R_B"]
    # R_A on P1 (fraud, block), P2 (challenge), P5 (review): all three stopped.
    assert reasons["R_A"] == {
        "hits": 3,
        "precision": pytest.approx(1 / 3),
        "recall": 1 / 2,
        "hits_all": 3,
        "precision_all": pytest.approx(1 / 3),
        "recall_all": 1 / 2,
    }
    # R_B on P1 (fraud, block), P3 (allowed), P7 (fraud, allowed): it found both frauds
    # but stopped only one.
    assert reasons["R_B"] == {
        "hits": 1,
        "precision": 1.0,
        "recall": 1 / 2,
        "hits_all": 3,
        "precision_all": pytest.approx(2 / 3),
        "recall_all": 1.0,
    }


def test_calibration_and_quality_aggregates_in_the_report(built):
    out, _, report, run = built
    cal = run["calibration"]
    assert (cal["payments"], cal["frauds"]) == (8, 2)
    assert sum(b["count"] for b in cal["bins"]) == 8
    squares = [0.05**2, 0.6**2, 0.02**2, 0.01**2, 0.3**2, 0.001**2, 0.95**2, 0.2**2]
    assert cal["brier"] == pytest.approx(sum(squares) / 8)
    assert list(run["by_day"]) == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert run["by_day"]["2026-03-01"]["non_allow_share"] == 2 / 4
    assert list(run["by_label_band"]) == ["rules-only", "<1k", "1k-10k"]
    assert run["by_label_band"]["1k-10k"]["versions"] == 1
    assert run["by_model_version"] == []
    assert run["by_model_version_left_out"] == {
        "min_frauds": 20,
        "versions": 3,
        "payments": 8,
        "frauds": 2,
    }
    assert report["plots"]["calibration"] == "calibration.png"
    assert (out / "calibration.png").stat().st_size > 1000
    page = (out / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(report["plots"]) == 6
    assert "Calibration (payments)" in page and "Quality by event day" in page
    assert "3 versions with fewer than 20 frauds left out" in page


def test_runs_side_by_side(built, tmp_path):
    out = built[0]
    run = out.parent / "run"
    report = build_report({"a": run, "b": run}, out.parent / "truth.csv", tmp_path)
    assert report["runs"]["a"] == report["runs"]["b"] == built[2]["runs"]["rules + models"]
    page = (tmp_path / "report.html").read_text()
    assert "<h3>a</h3>" in page and "<h3>b</h3>" in page


def test_a_truth_file_it_cannot_read_stops_the_report_before_anything_is_written(tmp_path):
    truth = tmp_path / "truth.jsonl"
    truth.write_text('{"event_id": "P1", "is_fraud": "perhaps"}\n')
    out = tmp_path / "out"
    with pytest.raises(TruthFormatError, match=r"truth\.jsonl: line 1: is_fraud is 'perhaps'"):
        build_report({"x": tmp_path}, truth, out)
    assert not out.exists()


def test_the_headline_carries_the_calibration_figures(built):
    run = built[3]
    assert run["summary"]["brier"] == run["calibration"]["brier"]
    assert run["summary"]["ece"] == run["calibration"]["ece"]


def test_a_plot_that_will_not_draw_costs_the_plots_not_the_report(tmp_path, monkeypatch, caplog):
    from riskflow.backtest import report as report_module

    def refuse_to_draw(*_args, **_kwargs):
        raise ValueError("'yerr' must not contain negative values")

    monkeypatch.setattr(report_module, "_plots", refuse_to_draw)
    run = tmp_path / "run"
    run.mkdir()
    (run / "decisions.jsonl").write_text("".join(json.dumps(d) + "\n" for d in DECISIONS))
    truth = tmp_path / "truth.csv"
    truth.write_text(TRUTH)
    returned = build_report({"rules + models": run}, truth, tmp_path / "out")
    assert returned["plots"] == {}
    assert json.loads((tmp_path / "out" / "report.json").read_text())["runs"]
    assert "<img" not in (tmp_path / "out" / "report.html").read_text()
    assert "plots not drawn (ValueError)" in caplog.text
