"""Run a flow in this process: metrics endpoint, recovery and cluster arguments."""

from __future__ import annotations

import logging
import os
import re
import signal
import ssl
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import redis
from bytewax.dataflow import Dataflow
from bytewax.errors import BytewaxRuntimeError
from bytewax.recovery import RecoveryConfig, init_db_dir
from bytewax.run import cli_main
from redis.exceptions import NoPermissionError

from riskflow.collector import pace_collector
from riskflow.connectors.kafka import (
    KafkaRefused,
    KafkaUnreachable,
    MissingTopics,
    prepare_topics,
    wait_for_kafka,
)
from riskflow.connectors.kafka_sink import flush_open
from riskflow.connectors.reachable import wait_until
from riskflow.connectors.redis_client import RedisSettings, redis_client, redis_username
from riskflow.contract.masking import mask_id
from riskflow.flows.config import KafkaInput, KafkaOutput, Settings

__all__ = [
    "FlowCrashed",
    "KafkaRefused",
    "KafkaUnreachable",
    "MissingTopics",
    "RedisRefused",
    "RedisUnreachable",
    "recovery_config",
    "run_flow",
    "stop_on_signals",
    "wait_for_redis",
    "wait_for_services",
]


class FlowCrashed(RuntimeError):
    """A step of the flow raised where nothing caught it; the message is one line that
    names the step and the exception's type, and the key it was on only masked."""


_log = logging.getLogger(__name__)

# bytewax's own words: `(src/operators.rs:786:50): error calling ... in step "s" for key "k"`.
_RUST_PLACE = re.compile(r"^\([^)]*\.rs:\d+(?::\d+)?\):\s*")
_KEY = re.compile(r'(for key )"((?:[^"\\]|\\.)*)"')


def crash_line(exc: BaseException) -> str:
    """One line for a flow that stopped on `exc`: no traceback, no account key in clear, and
    of the cause its type only (its text may quote the event)."""
    first = (str(exc).strip().splitlines() or [""])[0]
    where = _KEY.sub(lambda m: f'{m.group(1)}"{mask_id(m.group(2))}"', _RUST_PLACE.sub("", first))
    root: BaseException = exc
    while root.__cause__ is not None:
        root = root.__cause__
    cause = f": {type(root).__name__}" if root is not exc else ""
    return f"the flow stopped: {where or type(exc).__name__}{cause}"


class RedisUnreachable(ConnectionError):
    """Redis did not answer within the start-up timeout; the message names the address."""


class RedisRefused(ConnectionError):
    """Redis answered but refused riskflow: wrong user or password, no permission, or a
    certificate that does not verify. Waiting does not mend it, so it is raised at once."""


def _redis_address(url: str) -> str:
    """host:port/db of a Redis URL, without the credentials it may carry."""
    parts = urlsplit(url)
    return f"{parts.hostname or '127.0.0.1'}:{parts.port or 6379}{parts.path or ''}"


def _refusal(exc: redis.RedisError) -> bool:
    if isinstance(exc, redis.AuthenticationError | NoPermissionError):
        return True
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError):
            return True
        seen = seen.__cause__ or seen.__context__
    return "CERTIFICATE_VERIFY_FAILED" in str(exc)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def wait_for_redis(
    redis_settings: RedisSettings | str,
    timeout_s: float,
    *,
    waiting: Callable[[str], None] | None = None,
) -> None:
    """Return once Redis answers PING, retrying with backoff up to timeout_s.

    Raises RedisUnreachable after timeout_s, RedisRefused at once for a refusal, and
    RedisSecretError when the configured password cannot be read.
    """
    conf = RedisSettings(url=redis_settings) if isinstance(redis_settings, str) else redis_settings
    where = _redis_address(conf.url)

    def probe(step: float) -> str | None:
        client = redis_client(conf, timeout_s=step)
        try:
            client.ping()
            return None
        except redis.RedisError as exc:
            if _refusal(exc):
                user = redis_username(conf) or "default"
                raise RedisRefused(
                    f"Redis at {where} refused user {user}: {_one_line(exc)}"
                ) from None
            reason = _one_line(exc)
            dropped = "closed by server" in reason or "reset by peer" in reason
            if urlsplit(conf.url).scheme == "redis" and dropped:
                # What a TLS-only port does to a plain client: say so, not just "closed".
                reason += "; if that port speaks TLS, the url must be rediss://"
            return reason
        finally:
            client.close()

    wait_until(
        probe,
        what=f"Redis at {where}",
        timeout_s=timeout_s,
        unreachable=RedisUnreachable,
        waiting=waiting,
    )


def wait_for_services(settings: Settings, *, waiting: Callable[[str], None] | None = None) -> None:
    """Wait, bounded by `kafka.connect_timeout_s`, for the Kafka and Redis the flow will use.

    Checked before the flow is built, so an unreachable address is one clear error at start
    instead of a failure deep inside a worker. The Kafka topics the flow reads and writes
    are created here when missing (`kafka.create_topics`). Raises KafkaUnreachable,
    KafkaRefused (credentials), RedisUnreachable or MissingTopics.
    """
    timeout = settings.kafka.connect_timeout_s
    uses_kafka = (
        isinstance(settings.input, KafkaInput)
        or isinstance(settings.output, KafkaOutput)
        or settings.lists.backend == "redis"  # the lists' control topic
    )
    if uses_kafka:
        wait_for_kafka(
            settings.kafka.bootstrap_servers,
            timeout,
            client=settings.kafka.client,
            waiting=waiting,
        )
    topics = settings.kafka.topics
    needed = (topics.inbound() if isinstance(settings.input, KafkaInput) else []) + (
        topics.outbound() if isinstance(settings.output, KafkaOutput) else []
    )
    if needed:
        created = prepare_topics(settings.kafka, needed)
        if created and waiting is not None:
            waiting(
                f"created Kafka topic(s) {', '.join(created)} with "
                f"{settings.kafka.partitions} partition(s)"
            )
    if settings.redis is not None:
        wait_for_redis(settings.redis, timeout, waiting=waiting)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_PANIC_LINE = re.compile(
    r"^(thread '.*' panicked at |Box<dyn Any>|stack backtrace:|note: |\s+\d+: |\s+at )"
)


class _PanicMuffle:
    """Holds back stderr while bytewax stops on a signal, then replays it without the panic.

    bytewax unwinds its workers on a signal by panicking, and Rust's panic hook writes
    the panic and a backtrace straight to file descriptor 2; to an operator who pressed
    Ctrl-C that reads as a crash. Everything else written meanwhile is passed on.
    """

    def __init__(self) -> None:
        self._saved: int | None = None
        self._held: tempfile._TemporaryFileWrapper[bytes] | None = None

    def start(self) -> None:
        if self._saved is not None:
            return
        sys.stderr.flush()
        self._held = tempfile.NamedTemporaryFile(prefix="riskflow-stderr-")  # noqa: SIM115
        self._saved = os.dup(2)
        os.dup2(self._held.fileno(), 2)

    def stop(self) -> None:
        if self._saved is None or self._held is None:
            return
        sys.stderr.flush()
        os.dup2(self._saved, 2)
        os.close(self._saved)
        self._saved = None
        self._held.seek(0)
        kept = [
            line
            for line in self._held.read().decode("utf-8", "replace").splitlines(keepends=True)
            if not _PANIC_LINE.match(line)
        ]
        self._held.close()
        self._held = None
        if kept:
            sys.stderr.write("".join(kept))
            sys.stderr.flush()


_MUFFLE = _PanicMuffle()


def _interrupt_between_steps(signum: int, frame: FrameType | None) -> None:
    """Raise KeyboardInterrupt only where bytewax itself asked for pending signals.

    Raised inside one of the flow's Python callbacks (a source's next_batch, a map), the
    interrupt would become a worker panic and a BytewaxRuntimeError. Raised while bytewax
    checks for signals between steps (the frame is then the one that called `cli_main`), it
    stops the workers cleanly and comes back out of `cli_main`. So a signal landing in a
    callback is delivered again a moment later, until it lands between steps.
    """
    if frame is not None and frame.f_code is _RUN_CODE:
        _MUFFLE.start()
        raise KeyboardInterrupt
    main = threading.main_thread().ident
    if main is not None:
        threading.Timer(0.01, signal.pthread_kill, args=(main, signum)).start()


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM stop the flow cleanly: KeyboardInterrupt out of `run_flow`.

    A container's stop (SIGTERM) then ends the run as cleanly as an operator's Ctrl-C,
    and a Ctrl-C never shows a Rust panic.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _interrupt_between_steps) for s in _STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _private_directory(directory: Path) -> None:
    """Create `directory` owner-only; warn in one line if an existing one is not."""
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
        # mkdir's mode passes through the umask; the directory must end up 0700 whatever it is.
        directory.chmod(0o700)
        return
    mode = directory.stat().st_mode & 0o777
    if mode & 0o077:
        # Every account's state and the Kafka offsets are in there: it is as secret as the data.
        print(
            f"riskflow: WARNING: recovery directory {directory} is open to group or others "
            f"(mode {mode:o}); chmod 700 it",
            file=sys.stderr,
            flush=True,
        )


def recovery_config(settings: Settings) -> RecoveryConfig | None:
    rec = settings.recovery
    if rec.directory is None:
        return None
    directory = Path(rec.directory)
    # The state in it is pickled: whoever can write it runs code in the flow on restart.
    _private_directory(directory)
    # A fresh directory gets its partitions; an existing one is resumed from.
    if not any(directory.glob("part-*.sqlite3")):
        init_db_dir(directory, rec.partitions)
        for part in directory.glob("part-*.sqlite3"):
            part.chmod(0o600)
    return RecoveryConfig(directory, backup_interval=timedelta(seconds=rec.backup_interval_s))


def run_flow(
    flow: Dataflow,
    settings: Settings,
    *,
    process_id: int | None = None,
    addresses: list[str] | None = None,
    workers_per_process: int = 1,
) -> None:
    """Block until the flow ends (its inputs are exhausted) or is interrupted.

    Ctrl-C and SIGTERM both raise KeyboardInterrupt here.
    """
    if settings.metrics.enabled:
        # bytewax's own HTTP endpoint serves its operator metrics and the Python
        # registry together, so one port per process carries everything.
        os.environ["BYTEWAX_DATAFLOW_API_ENABLED"] = "1"
        os.environ["BYTEWAX_DATAFLOW_API_PORT"] = str(settings.metrics.port + (process_id or 0))
        # The API server also writes the dataflow's shape to a file; keep it out of the cwd.
        os.environ.setdefault("BYTEWAX_DATAFLOW_API_CACHE_PATH", tempfile.gettempdir())
    pace_collector()
    with stop_on_signals():
        try:
            cli_main(
                flow,
                workers_per_process=workers_per_process,
                process_id=process_id,
                addresses=addresses,
                epoch_interval=timedelta(seconds=settings.recovery.snapshot_interval_s),
                recovery_config=recovery_config(settings),
            )
        except BytewaxRuntimeError as exc:
            # bytewax reports the interrupt it stopped on as its own error, caused by it.
            if not _caused_by_interrupt(exc):
                raise FlowCrashed(crash_line(exc)) from None
            raise KeyboardInterrupt from None
        finally:
            # Decisions handed to Kafka but not yet sent when the flow was stopped go now.
            unsent = flush_open()
            if unsent:
                _log.error("kafka out: %d messages could not be sent before exit", unsent)
            _MUFFLE.stop()


def _caused_by_interrupt(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_RUN_CODE = run_flow.__code__
