"""Real infrastructure for the test suite: Apache Kafka and redis-server."""
