"""Default Kafka topic names of the contract (each can be renamed in the config)."""

__all__ = ["ALERTS", "DEADLETTER", "DECISIONS", "FEEDBACK", "INBOUND", "LOGINS", "PAYMENTS"]

PAYMENTS = "payments"
LOGINS = "logins"
FEEDBACK = "risk.feedback"
DECISIONS = "risk.decisions"
ALERTS = "risk.alerts"
DEADLETTER = "risk.deadletter"

INBOUND = (PAYMENTS, LOGINS, FEEDBACK)
