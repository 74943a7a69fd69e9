"""Sources and sinks: Kafka, Redis, JSONL files, the simulator and metrics."""
