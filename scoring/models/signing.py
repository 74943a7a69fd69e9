"""HMAC-SHA256 signatures of model snapshots, under keys that never enter the store.

Whoever can write the snapshot store could otherwise hand every worker a model of
their making (a model that waves one account's payments through). The key comes from
the environment or a file (`models.signing_key_env`, `models.signing_key_file`), never
from Redis. Several keys may be given, one per line: the first signs, every one
verifies, so a key is rotated without a moment where workers refuse each other's
snapshots (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

__all__ = ["MIN_KEY_BYTES", "SigningKeyError", "SnapshotSigner", "read_keys"]

MIN_KEY_BYTES: Final = 32
_CONTEXT: Final = b"riskflow model snapshot v1\x00"
"""Signed before the bytes, so a signature made for something else never verifies here."""


class SigningKeyError(ValueError):
    """No usable signing key; the message is one line and never contains a key."""


class SnapshotSigner:
    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise SigningKeyError("no snapshot signing key")
        for key in keys:
            if len(key) < MIN_KEY_BYTES:
                raise SigningKeyError(
                    f"a snapshot signing key is shorter than {MIN_KEY_BYTES} bytes"
                )
        self._keys = tuple(keys)

    def sign(self, blob: bytes) -> str:
        return hmac.new(self._keys[0], _CONTEXT + blob, hashlib.sha256).hexdigest()

    def verify(self, blob: bytes, signature: str) -> bool:
        given = signature.encode("ascii", "replace")
        return any(
            hmac.compare_digest(
                hmac.new(key, _CONTEXT + blob, hashlib.sha256).hexdigest().encode(), given
            )
            for key in self._keys
        )


def _split(text: str) -> list[bytes]:
    return [key.encode() for key in text.split()]


def read_keys(env_name: str | None, file: str | None, env: Mapping[str, str]) -> SnapshotSigner:
    """The signer the config names: whitespace-separated keys from the variable or the
    file (both: the variable's first, then the file's)."""
    keys: list[bytes] = []
    if env_name:
        value = env.get(env_name)
        if not value or not value.strip():
            raise SigningKeyError(f"models.signing_key_env: ${env_name} is not set")
        keys += _split(value)
    if file:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "unreadable"
            raise SigningKeyError(f"models.signing_key_file: {file}: {reason}") from None
        found = _split(text)
        if not found:
            raise SigningKeyError(f"models.signing_key_file: {file}: no key in it")
        keys += found
    if not keys:
        raise SigningKeyError(
            "models.backend redis needs models.signing_key_env or models.signing_key_file"
        )
    return SnapshotSigner(keys)
