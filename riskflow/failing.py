"""How every `riskflow` command ends on an error an operator must fix: one line, no traceback."""

from __future__ import annotations

import sys
from typing import NoReturn

import redis
import typer

from riskflow.connectors.redis_client import RedisSecretError, RedisSettings, redis_client

__all__ = ["EXIT_CONFIG", "EXIT_UNREACHABLE", "fail", "redis_or_fail"]

EXIT_CONFIG = 2
"""A config or option the command cannot use (click's own code for usage errors)."""
EXIT_UNREACHABLE = 3
"""Kafka or Redis did not answer in time."""


def fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    # Plain write, not rich: one line however narrow the terminal, no markup in paths.
    print(f"riskflow: {message}", file=sys.stderr, flush=True)
    raise typer.Exit(code)


def redis_or_fail(conf: RedisSettings, timeout_s: float = 10.0) -> redis.Redis:
    """A client that has answered PING, or one line and exit 2 (refused, no password) or 3."""
    from riskflow.runner import RedisRefused, RedisUnreachable, wait_for_redis

    try:
        wait_for_redis(conf, timeout_s)
        return redis_client(conf)
    except (RedisRefused, RedisSecretError) as exc:
        fail(str(exc))
    except RedisUnreachable as exc:
        fail(str(exc), EXIT_UNREACHABLE)
