"""The simulated bank as a source: the embedded default input of `riskflow demo`."""

from __future__ import annotations

from riskflow.connectors.iterated import IteratedSource, RawIterator
from riskflow.simulator.config import SimConfig
from riskflow.simulator.stream import generate

__all__ = ["simulator_source"]


# Smaller than a replay's batches: the demo shows live latency, and 256 costs no throughput.
def simulator_source(
    config: SimConfig, *, rate: float | None = None, batch_size: int = 256
) -> IteratedSource:
    def factory() -> RawIterator:
        # The same bytes a producer would publish, so the flow parses them like Kafka's.
        return ((r.kind, r.payload, r.topic, None) for r in generate(config))

    return IteratedSource("simulator", factory, batch_size=batch_size, rate=rate)
