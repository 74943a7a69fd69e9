"""Replay speed: simulated files through the production flow, as `riskflow backtest` runs it."""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from bytewax.testing import run_main

from riskflow.collector import pace_collector
from riskflow.flows.config import (
    FileInput,
    FileOutput,
    ListsSettings,
    MetricsSettings,
    ModelsSettings,
    Settings,
)
from riskflow.flows.risk import build_flow
from riskflow.simulator.config import SimConfig
from riskflow.simulator.files import write_jsonl

__all__ = ["bench_replay"]


def bench_replay(
    customers: int = 50_000, days: float = 3.0, seed: int = 11, *, models: bool = True
) -> dict[str, Any]:
    """Events/s of the replay alone: writing the files and the report are not timed."""
    with tempfile.TemporaryDirectory() as tmp:
        sim = Path(tmp) / "sim"
        counts = write_jsonl(SimConfig(seed=seed, customers=customers, days=days), sim)
        messages = sum(counts[f] for f in ("payments.jsonl", "logins.jsonl", "feedback.jsonl"))
        settings = Settings(
            input=FileInput(
                payments=str(sim / "payments.jsonl"),
                logins=str(sim / "logins.jsonl"),
                feedback=str(sim / "feedback.jsonl"),
            ),
            output=FileOutput(directory=str(Path(tmp) / "out")),
            lists=ListsSettings(path=str(sim / "denylist.csv")),
            metrics=MetricsSettings(enabled=False),
            models=ModelsSettings(enabled=models),
        )
        flow = build_flow(settings)
        pace_collector()  # as `riskflow run` does
        started = time.perf_counter()
        run_main(flow)
        elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "benchmark": "replay",
        "models": models,
        "customers": customers,
        "days": days,
        "messages": messages,
        "seconds": round(elapsed, 2),
        "events_per_s": round(messages / elapsed),
        "peak_rss_mib": round(peak),
    }
