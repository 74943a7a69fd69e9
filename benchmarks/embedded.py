"""Throughput and latency of the embedded path: simulator -> flow -> JSONL, one process."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from bytewax.testing import run_main

from riskflow.collector import pace_collector
from riskflow.connectors.metrics import STATS
from riskflow.flows.config import (
    FileOutput,
    MetricsSettings,
    ModelsSettings,
    Settings,
    SimulatorInput,
)
from riskflow.flows.risk import build_flow

__all__ = ["bench_embedded"]


def bench_embedded(
    events: int = 200_000, customers: int = 5000, seed: int = 7, *, models: bool = True
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            input=SimulatorInput(
                seed=seed, customers=customers, events=events, days=3650.0, malformed_rate=0.001
            ),
            output=FileOutput(directory=str(Path(tmp) / "out")),
            metrics=MetricsSettings(enabled=False),
            models=ModelsSettings(enabled=models),
        )
        flow = build_flow(settings)
        STATS.reset()
        pace_collector()  # as `riskflow run` does
        started = time.perf_counter()
        run_main(flow)
        elapsed = time.perf_counter() - started
        with open(Path(tmp) / "out" / "decisions.jsonl", "rb") as fh:
            decisions = sum(1 for _ in fh)
    return {
        "benchmark": "embedded",
        "models": models,
        "events": events,
        "decisions": decisions,
        "seconds": round(elapsed, 3),
        "events_per_s": round(events / elapsed),
        "latency_p50_ms": round(STATS.percentile(50), 3),
        "latency_p99_ms": round(STATS.percentile(99), 3),
        "actions": dict(STATS.actions),
    }
