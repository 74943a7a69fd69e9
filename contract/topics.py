"""Default Kafka topic names of the contract (each can be renamed in the config)."""

__all__ = [
    "ALERTS",
    "DEADLETTER",
    "DECISIONS",
    "FEEDBACK",
    "INBOUND",
    "LISTS",
    "LOGINS",
    "NOTIFICATIONS",
    "PAYMENTS",
]

PAYMENTS = "payments"
LOGINS = "logins"
FEEDBACK = "risk.feedback"
DECISIONS = "risk.decisions"
ALERTS = "risk.alerts"
DEADLETTER = "risk.deadletter"
NOTIFICATIONS = "risk.notifications"
LISTS = "risk.lists"

INBOUND = (PAYMENTS, LOGINS, FEEDBACK)
