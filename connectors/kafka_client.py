"""The configuration of every Kafka client riskflow creates, from one `kafka.client` section.

A cluster that takes only TLS or SASL refuses any client missing the section, so the
flow's consumer and producer, the admin calls at start, the risk lists' control topic,
the simulator, the branch desk, the benchmarks and the test helpers all build their
configuration here: bootstrap servers and the client section first, then what the
client's role needs.

A value may name where it comes from instead of holding it, so that a password need not
sit in the YAML: `sasl.password_env: VAR` reads the environment variable VAR and
`sasl.password_file: PATH` the file at PATH (its trailing newline dropped), both giving
`sasl.password`. This works for any key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "ClientSection",
    "ClientValue",
    "KafkaSecretError",
    "client_config",
    "redacted",
    "resolve_client",
]

ClientValue = str | int | float | bool
"""What YAML gives for a librdkafka property; confluent-kafka takes each as it is."""

ClientSection = Mapping[str, Any]
"""A `kafka.client` section as written: its `_env` and `_file` keys not yet read."""

_FROM_ENV = "_env"
_FROM_FILE = "_file"


class KafkaSecretError(ValueError):
    """A `_env` or `_file` value of the client section that cannot be read; one line."""


def resolve_client(
    section: Mapping[str, ClientValue], *, environ: Mapping[str, str] | None = None
) -> dict[str, ClientValue]:
    """The section with every `KEY_env` / `KEY_file` replaced by `KEY` and what it names.

    Raises KafkaSecretError naming the key when the variable is unset or empty, the file
    cannot be read, or a key is given both directly and indirectly.
    """
    environ = os.environ if environ is None else environ
    out: dict[str, ClientValue] = {}
    for key, value in section.items():
        if key.endswith(_FROM_ENV):
            target = key.removesuffix(_FROM_ENV)
            out[target] = _from_env(key, value, environ)
        elif key.endswith(_FROM_FILE):
            target = key.removesuffix(_FROM_FILE)
            out[target] = _from_file(key, value)
        else:
            target = key
            out[target] = value
        given = [k for k in (target, target + _FROM_ENV, target + _FROM_FILE) if k in section]
        if len(given) > 1:
            raise KafkaSecretError(f"kafka.client: give one of {', '.join(given)}, not several")
    return out


def _from_env(key: str, name: ClientValue, environ: Mapping[str, str]) -> str:
    if not isinstance(name, str) or not name:
        raise KafkaSecretError(f"kafka.client.{key}: give the name of an environment variable")
    value = environ.get(name)
    if value is None:
        raise KafkaSecretError(f"kafka.client.{key}: environment variable {name} is not set")
    if not value:
        raise KafkaSecretError(f"kafka.client.{key}: environment variable {name} is empty")
    return value


def _from_file(key: str, path: ClientValue) -> str:
    if not isinstance(path, str) or not path:
        raise KafkaSecretError(f"kafka.client.{key}: give the path of a file")
    try:
        # Secrets mounted by orchestrators end with a newline that is not part of them.
        value = Path(path).read_text(encoding="utf-8").rstrip("\r\n")
    except FileNotFoundError:
        raise KafkaSecretError(f"kafka.client.{key}: no such file {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise KafkaSecretError(f"kafka.client.{key}: cannot read {path}: {reason}") from None
    if not value:
        raise KafkaSecretError(f"kafka.client.{key}: {path} is empty")
    return value


_SECRET_WORDS = ("password", "secret", "key.pem")


def redacted(section: Mapping[str, ClientValue]) -> dict[str, ClientValue]:
    """The section fit for a report: values given in the YAML that look secret are masked;
    `_env` and `_file` keys name where a secret is, not the secret, and stay."""
    return {
        key: value
        if key.endswith((_FROM_ENV, _FROM_FILE)) or not any(w in key for w in _SECRET_WORDS)
        else "***"
        for key, value in section.items()
    }


def client_config(
    bootstrap: str,
    client: Mapping[str, ClientValue] | None = None,
    *overrides: Mapping[str, object],
) -> dict[str, Any]:
    """A librdkafka configuration: bootstrap and the client section, then each override.

    The overrides are the client's role, in order: its defaults (a consumer's group, a
    producer's linger), then what the operator set for that role (`kafka.consumer`).
    """
    config: dict[str, Any] = {"bootstrap.servers": bootstrap}
    config |= resolve_client(client or {})
    for more in overrides:
        config |= more
    return config
