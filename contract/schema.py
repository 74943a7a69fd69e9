"""JSON Schemas of the contract, generated from the message structs.

The shipped files in `contract/schemas/` are checked against this generator by
the test suite, so they cannot drift from the code. Regenerate them with
`python -m contract.schema`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from riskflow.contract.messages import (
    Alert,
    DeadLetter,
    Decision,
    Feedback,
    Login,
    Notification,
    Payment,
)

__all__ = ["MESSAGE_TYPES", "SCHEMA_DIR", "schema_for", "write_schemas"]

SCHEMA_DIR = Path(__file__).parent / "schemas"

MESSAGE_TYPES: dict[str, type] = {
    "payment": Payment,
    "login": Login,
    "feedback": Feedback,
    "decision": Decision,
    "alert": Alert,
    "deadletter": DeadLetter,
    "notification": Notification,
}


def schema_for(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = msgspec.json.schema(MESSAGE_TYPES[name])
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"https://riskflow.dev/schemas/{name}.schema.json"
    return schema


def render(name: str) -> str:
    return json.dumps(schema_for(name), indent=2, sort_keys=True) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name in MESSAGE_TYPES:
        path = directory / f"{name}.schema.json"
        path.write_text(render(name), encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    for p in write_schemas():
        print(p)
