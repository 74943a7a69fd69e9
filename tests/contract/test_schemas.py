"""The shipped JSON Schemas match the structs and accept the documented examples."""

from __future__ import annotations

import json

import jsonschema
import msgspec
import pytest

from riskflow.contract.schema import MESSAGE_TYPES, SCHEMA_DIR, render

EXAMPLES = SCHEMA_DIR.parent / "examples"


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
def test_shipped_schema_is_the_generated_one(name):
    shipped = (SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8")
    assert shipped == render(name), "run `python -m contract.schema` and commit the result"


@pytest.mark.parametrize("name", sorted(MESSAGE_TYPES))
def test_example_is_valid_for_schema_and_struct(name):
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    example = (EXAMPLES / f"{name}.json").read_bytes()
    jsonschema.validate(json.loads(example), schema)
    msgspec.json.decode(example, type=MESSAGE_TYPES[name])


BROKEN_PAYMENTS = {
    "missing amount": {"amount": None},
    "zero amount": {"amount": 0},
    "negative amount": {"amount": -3.5},
    "amount as string": {"amount": "100"},
    "unknown channel": {"channel": "fax"},
    "unknown txn_type": {"txn_type": "loan"},
    "empty event_id": {"event_id": ""},
    "latitude out of range": {"lat": 123.0},
    "attributes not numbers": {"attributes": {"x": "high"}},
}


@pytest.mark.parametrize("case", sorted(BROKEN_PAYMENTS))
def test_schema_and_struct_agree_on_broken_payments(case):
    payment = json.loads((EXAMPLES / "payment.json").read_bytes())
    for key, value in BROKEN_PAYMENTS[case].items():
        if value is None:
            del payment[key]
        else:
            payment[key] = value
    schema = json.loads((SCHEMA_DIR / "payment.schema.json").read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(payment, schema)
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(json.dumps(payment), type=MESSAGE_TYPES["payment"])
