"""Redis settings and the one function every Redis client of riskflow is built with.

The lists store and follower, the account mirror, the model snapshots, the feature log,
published-decision memory, the start-up probe and the CLI all connect through
`redis_client`, so an ACL user, its password and TLS apply to each of them alike.

The password is read from an environment variable (`password_env`) or a file
(`password_file`, e.g. a mounted secret) when a client is built, never kept in the
settings, so a config file holds no secret. The user name may come the same way
(`username_env`, `username_file`), where the platform hands out both together.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
import redis

__all__ = ["RedisSecretError", "RedisSettings", "redis_client", "redis_password", "redis_username"]

# Characters that are patterns in an ACL key rule: a prefix holding one would make
# `~{prefix}:*` grant more (or other) keys than riskflow writes.
_GLOB = re.compile(r"[*?\[\]\\\s]")


class RedisSecretError(ValueError):
    """The configured password's environment variable or file is missing; one line."""


class RedisSettings(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str = "redis://127.0.0.1:6379/0"
    """`redis://` or, for TLS, `rediss://`; no password in it (use `password_env`/`_file`)."""
    key_prefix: str = "riskflow"
    """Every key riskflow reads or writes is `{key_prefix}:...`; the ACL grants just those."""
    ttl_s: int = 30 * 86400
    """Accounts idle this long expire from Redis (the flow's own state keeps them)."""
    max_pending: int = 100_000
    """Accounts buffered while Redis is unreachable; the oldest are dropped beyond it."""
    published_ttl_s: int = 900
    """How long a decision published to Kafka is kept so that a restart's replay of the last
    epoch re-emits it byte for byte (connectors/published_redis.py); longer than a restart."""
    username: str | None = None
    """The ACL user riskflow authenticates as; None is Redis's `default` user."""
    username_env: str | None = None
    """Environment variable holding the user name, instead of `username`."""
    username_file: str | None = None
    """File holding the user name (one trailing newline is ignored), instead of `username`."""
    password_env: str | None = None
    """Environment variable holding the password."""
    password_file: str | None = None
    """File holding the password (one trailing newline is ignored)."""
    ssl_ca_file: str | None = None
    """`rediss://`: CA bundle the server's certificate is checked against (None: system's)."""
    ssl_cert_file: str | None = None
    """`rediss://`: client certificate, where the server asks for one (mutual TLS)."""
    ssl_key_file: str | None = None
    """`rediss://`: the client certificate's private key."""
    ssl_cert_reqs: Literal["required", "optional", "none"] = "required"
    """`rediss://`: whether the server's certificate must verify."""
    ssl_check_hostname: bool = True
    """`rediss://`: whether the certificate must name the host of `url`."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"url must be redis://, rediss:// or unix://, not {self.url!r}")
        if self.password_env and self.password_file:
            raise ValueError("give password_env or password_file, not both")
        if sum(bool(v) for v in (self.username, self.username_env, self.username_file)) > 1:
            raise ValueError("give one of username, username_env and username_file")
        if parts.username and (self.username or self.username_env or self.username_file):
            raise ValueError("the url carries a user name and username/_env/_file another")
        if parts.password and (self.password_env or self.password_file):
            raise ValueError("the url carries a password and password_env/_file another")
        if not self.key_prefix or _GLOB.search(self.key_prefix):
            raise ValueError("key_prefix must be non-empty, without spaces, *, ?, [, ] or \\")
        tls_files = (self.ssl_ca_file, self.ssl_cert_file, self.ssl_key_file)
        if parts.scheme != "rediss" and any(tls_files):
            raise ValueError("ssl_ca_file, ssl_cert_file and ssl_key_file need a rediss:// url")
        if self.ssl_key_file and not self.ssl_cert_file:
            raise ValueError("ssl_key_file needs ssl_cert_file")


def _secret(name: str, env: str | None, file: str | None) -> str | None:
    """The value of setting `name` from its `_env` variable or `_file`; None when neither."""
    if env:
        value = os.environ.get(env)
        if not value:
            raise RedisSecretError(f"redis.{name}_env: environment variable {env} is not set")
        return value
    if file:
        path = Path(file)
        try:
            value = path.read_text(encoding="utf-8").removesuffix("\n")
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise RedisSecretError(f"redis.{name}_file: cannot read {path}: {reason}") from None
        if not value:
            raise RedisSecretError(f"redis.{name}_file: {path} is empty")
        return value
    return None


def redis_password(settings: RedisSettings) -> str | None:
    """The password from `password_env` or `password_file`; None when neither is set."""
    return _secret("password", settings.password_env, settings.password_file)


def redis_username(settings: RedisSettings) -> str | None:
    """The ACL user: `username`, or read from `username_env` or `username_file`; None is
    Redis's `default` user."""
    return settings.username or _secret("username", settings.username_env, settings.username_file)


def redis_client(settings: RedisSettings, *, timeout_s: float | None = None) -> redis.Redis:
    """A client for `settings`: its ACL user, password and TLS; raises RedisSecretError."""
    options: dict[str, Any] = {}
    if timeout_s is not None:
        options.update(socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
    username = redis_username(settings)
    if username:
        options["username"] = username
    password = redis_password(settings)
    if password is not None:
        options["password"] = password
    if urlsplit(settings.url).scheme == "rediss":
        options.update(
            ssl_ca_certs=settings.ssl_ca_file,
            ssl_certfile=settings.ssl_cert_file,
            ssl_keyfile=settings.ssl_key_file,
            ssl_cert_reqs=settings.ssl_cert_reqs,
            ssl_check_hostname=settings.ssl_check_hostname,
        )
    return redis.Redis.from_url(settings.url, **options)
