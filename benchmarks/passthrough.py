"""The floor under `riskflow bench kafka --baseline`: Kafka in, "allow" out, nothing between.

The same Kafka source and sink, epoch length and collector settings as `riskflow run`,
so that what the product costs beyond them is the ratio of the two rows of the report:
each payment's and login's JSON is decoded for its ids, and one `allow` decision per
event goes to `risk.decisions`, keyed by account. Run as
`python -m riskflow.benchmarks.passthrough CONFIG` (a flow config; only its `kafka`
section and `recovery.snapshot_interval_s` are read).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import msgspec
from bytewax import operators as op
from bytewax.connectors.kafka import KafkaSinkMessage
from bytewax.dataflow import Dataflow

from riskflow.connectors import kafka as kafka_io
from riskflow.connectors.kafka_sink import routing_key
from riskflow.contract.parse import Raw
from riskflow.flows.config import KafkaSettings, Settings, load_settings

__all__ = ["passthrough_flow"]


class _Ids(msgspec.Struct):
    event_id: str
    account_id: str


class _Allow(msgspec.Struct):
    event_id: str
    account_id: str
    action: str
    latency_ms: float


def _allow_all(topic: str, batch: list[Raw]) -> list[KafkaSinkMessage]:
    decode = msgspec.json.Decoder(_Ids).decode
    encode = msgspec.json.Encoder().encode
    out = []
    for raw in batch:
        if raw.kind == "feedback" or raw.payload is None:
            continue
        try:
            ids = decode(raw.payload)
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
        latency = (time.time() - raw.received_at) * 1000.0
        body = encode(_Allow(ids.event_id, ids.account_id, "allow", latency))
        out.append(kafka_io.sink_message(topic, ids.account_id, body))
    return out


def passthrough_flow(kafka: KafkaSettings) -> Dataflow:
    flow = Dataflow("passthrough")
    raw = op.input("kafka_in", flow, kafka_io.inbound_source(kafka))
    topic = kafka.topics.decisions
    allowed = op.flat_map_batch("allow", raw, lambda batch: _allow_all(topic, batch))
    op.output("kafka_out", op.map("by_key", allowed, routing_key), kafka_io.outbound_sink(kafka))
    return flow


def main(argv: list[str]) -> int:
    from riskflow.runner import run_flow

    settings: Settings = load_settings(Path(argv[0]))
    try:
        run_flow(passthrough_flow(settings.kafka), settings)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
