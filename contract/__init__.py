"""The event contract: message types, validation and JSON Schemas (data in)."""
