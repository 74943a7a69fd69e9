"""Per-account features computed from the account's history and the event."""
