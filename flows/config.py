"""The typed configuration of a flow, loaded from YAML.

Each backend owns its settings (`connectors.kafka.KafkaSettings`,
`connectors.redis_store.RedisSettings`, `features.account.FeatureConfig`,
`scoring.policy.Policy`); this module composes them with the run's own.

Every section has working defaults, so an empty file is a valid config. The
environment variables `KAFKA_BOOTSTRAP_SERVERS` and `REDIS_URL` override the
file, which is how containers and the test suite point a run at their brokers.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Literal

import msgspec
import msgspec.inspect as mi
import yaml

from riskflow.connectors.kafka import KafkaSettings
from riskflow.connectors.kafka_client import KafkaSecretError, resolve_client
from riskflow.connectors.redis_store import RedisSettings
from riskflow.contract import topics
from riskflow.contract.messages import DEAD_LETTER_PAYLOAD_BYTES
from riskflow.contract.parse import MAX_DEPTH, ParseLimits
from riskflow.features.account import FeatureConfig
from riskflow.scoring.limits import LimitsTable
from riskflow.scoring.lists.proposer import ProposerConfig
from riskflow.scoring.notify import NotificationPolicy
from riskflow.scoring.policy import Policy
from riskflow.scoring.priors import Priors

__all__ = [
    "AuditSettings",
    "ConfigError",
    "DeadLetterSettings",
    "FileInput",
    "FileOutput",
    "KafkaInput",
    "KafkaOutput",
    "KafkaSettings",
    "ListsSettings",
    "MetricsSettings",
    "ModelsSettings",
    "ParseSettings",
    "RecoverySettings",
    "RedisSettings",
    "RulesSettings",
    "Settings",
    "SimulatorInput",
    "load_settings",
    "parse_settings",
]


class ConfigError(ValueError):
    """A config file that cannot be used; the message is one line naming the file and key."""


class _Strict(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class RulesSettings(_Strict, frozen=True):
    path: str | None = None
    """Ruleset YAML; None uses the packaged default ruleset."""
    check_interval_s: float = 1.0


class ListsSettings(_Strict, frozen=True):
    backend: Literal["file", "redis"] = "file"
    """`redis`: the shared lists in `redis` (source of truth), followed on `topic`."""
    path: str | None = None
    """`file` backend: a lists CSV (see `scoring.lists.csvfile`), re-read when it changes."""
    check_interval_s: float = 1.0
    topic: str = topics.LISTS
    """Control topic announcing every change to every flow process."""
    sweep_interval_s: float = 5.0
    """How often expired entries are removed from Redis and audited."""
    proposals: ProposerConfig = ProposerConfig()
    """Watch entries proposed from confirmed fraud labels, held in Redis for the risk team
    (`riskflow lists proposals`); `redis` backend with models enabled only."""


class ModelsSettings(_Strict, frozen=True):
    enabled: bool = True
    backend: Literal["memory", "redis"] = "memory"
    """memory: one process (demo, backtests); redis: snapshots and feature log in `redis`."""
    every_labels: int = 1000
    """Publish a snapshot after this many labels ..."""
    every_s: float = 3600.0
    """... or this many seconds of label time, whichever comes first."""
    hold_s: float = 3600.0
    """How long a label waits for its event's logged features before it is dead-lettered."""
    hold_wall_s: float = 600.0
    """With Kafka input it also waits this many wall-clock seconds: after downtime the small
    feedback topic is read ahead of the backlog of events its labels are about."""
    check_interval_s: float = 1.0
    """How often each worker looks for a newer snapshot."""
    challenger: bool = True
    """Train a challenger that scores in shadow; `riskflow models promote` swaps them."""
    learning_rate: float = 0.01
    """The champion's classifier step size (a fresh champion; a resumed one keeps its own)."""
    challenger_learning_rate: float = 0.005
    """The challenger's: the same recipe learning more slowly. A backtest with the two
    swapped is the champion-against-challenger comparison (docs/simulator.md)."""
    holdout_share: float = 0.005
    """Share of model-only blocks sent to review instead, so their outcomes are observed."""
    recipe: str = "blend"
    """The classifier recipe (`scoring.models.learners.RECIPES`): blend (logistic regression
    and boosted trees), logistic, boosted; amf or arf (River forests, memory backend only)."""
    detector: Literal["distance", "hst"] = "distance"
    """The anomaly detector whose rank carries the score before labels arrive."""
    fraud_label_share: float = 1.0
    """Share of fraudulent events that ever get a label (chargebacks, reports)."""
    legit_label_share: float | None = None
    """Share of legitimate events that ever get a label: calibration turns the odds learned
    on labels (where fraud is over-represented) into odds on real traffic. None estimates
    it from the stream (labels per scored event); set it where that estimate is known to
    be off (legitimate labels that arrive much later than fraud ones)."""
    counterparty_features: list[Literal["payee", "merchant", "terminal", "device", "ip"]] = (
        msgspec.field(default_factory=lambda: ["payee", "merchant", "terminal"])
    )
    """Counterparties whose fraud rate over recent labels (1, 7, 30 days, as arrived by the
    event's time) is a model input."""
    counterparty_slots: int = 1 << 17
    """Size of the hashed counterparty table in each snapshot (16 bytes a slot)."""
    feature_log_ttl_days: float = 60.0
    feature_log_cap: int = 2_000_000
    """memory backend: most decisions whose features are kept."""
    feature_log_in_memory: int = 50_000
    """memory backend: the newest of them held in memory; older ones wait for their label
    in a temporary file on disk (a replay with a week of label delay logs millions)."""
    signing_key_env: str | None = None
    """redis backend: the environment variable holding the key(s) that sign and verify model
    snapshots (whitespace-separated, at least 32 bytes each; the first signs)."""
    signing_key_file: str | None = None
    """redis backend: a file holding such keys, one a line. The key is never in Redis:
    whoever can write Redis must not be able to make every worker load their model."""

    def __post_init__(self) -> None:
        if self.backend != "redis" or not self.enabled:
            return
        if not (self.signing_key_env or self.signing_key_file):
            raise ValueError(
                "models.backend: redis needs models.signing_key_env or models.signing_key_file"
                " (a snapshot signing key kept out of Redis; docs/operations.md)"
            )
        # Here, not at the top: it imports River, which only a redis config needs.
        from riskflow.scoring.models.snapshot import SHAREABLE

        if self.recipe not in SHAREABLE:
            raise ValueError(
                f"models.recipe {self.recipe!r} cannot be shared through models.backend: redis"
                f" (shareable: {', '.join(sorted(SHAREABLE))})"
            )


class ParseSettings(_Strict, frozen=True):
    """What inbound messages must meet beyond their structs (docs/contract.md#limits)."""

    past_days: float = 730.0
    """Live input: oldest event time accepted, in days before the clock."""
    future_days: float = 1.0
    """Live input: latest event time accepted, in days after the clock (clock skew)."""
    max_depth: int = MAX_DEPTH
    """Deepest nesting of objects and arrays in a message."""

    def limits(self, *, live: bool) -> ParseLimits:
        """Live input is judged against the clock; a replay only against the fixed range."""
        return ParseLimits(
            live=live,
            past_s=self.past_days * 86400.0,
            future_s=self.future_days * 86400.0,
            max_depth=self.max_depth,
        )


class DeadLetterSettings(_Strict, frozen=True):
    """What a dead letter keeps of its message (docs/security.md#dead-letters)."""

    payload_bytes: int = DEAD_LETTER_PAYLOAD_BYTES
    """At most this many bytes of the message are kept (1 to 4096)."""
    raw_payload: bool = False
    """Keep the message's bytes as they came; by default identifiers in it are masked."""

    def __post_init__(self) -> None:
        if not 1 <= self.payload_bytes <= DEAD_LETTER_PAYLOAD_BYTES:
            raise ValueError(f"payload_bytes must be from 1 to {DEAD_LETTER_PAYLOAD_BYTES}")


class AuditSettings(_Strict, frozen=True):
    """Where ruleset loads and refusals and model promotions are recorded (connectors.audit)."""

    path: str | None = None
    """A JSONL file the records are appended to; None: the `{key_prefix}:audit` stream when
    there is a redis section, else `audit.jsonl` in a file output's directory."""
    actor: str | None = None
    """Who the records of this process name; None: $RISKFLOW_ACTOR, else the process's user."""


class MetricsSettings(_Strict, frozen=True):
    enabled: bool = True
    port: int = 9100
    """Prometheus endpoint; process N of a cluster serves on port + N."""


class RecoverySettings(_Strict, frozen=True):
    directory: str | None = None
    """bytewax recovery partitions; None runs without recovery."""
    snapshot_interval_s: float = 10.0
    """bytewax epoch length: how often state is snapshotted and how much a restart replays."""
    backup_interval_s: float = 0.0
    partitions: int = 1


class KafkaInput(_Strict, frozen=True, tag="kafka"):
    pass


class FileInput(_Strict, frozen=True, tag="files"):
    payments: str | None = None
    logins: str | None = None
    feedback: str | None = None
    rate: float | None = None
    """Replay pace in messages/s; None replays as fast as the flow goes."""


class SimulatorInput(_Strict, frozen=True, tag="simulator"):
    seed: int = 7
    customers: int = 5000
    events: int | None = None
    days: float = 1.0
    malformed_rate: float = 0.001
    rate: float | None = None
    """Messages/s; None generates as fast as the flow goes."""


class KafkaOutput(_Strict, frozen=True, tag="kafka"):
    pass


class FileOutput(_Strict, frozen=True, tag="files"):
    directory: str = "out"


class Settings(_Strict, frozen=True):
    input: KafkaInput | FileInput | SimulatorInput = KafkaInput()
    output: KafkaOutput | FileOutput = KafkaOutput()
    kafka: KafkaSettings = KafkaSettings()
    redis: RedisSettings | None = None
    rules: RulesSettings = RulesSettings()
    lists: ListsSettings = ListsSettings()
    features: FeatureConfig = FeatureConfig()
    policy: Policy = Policy()
    priors: Priors = Priors()
    limits: LimitsTable = LimitsTable()
    notifications: NotificationPolicy = NotificationPolicy()
    models: ModelsSettings = ModelsSettings()
    parse: ParseSettings = ParseSettings()
    deadletters: DeadLetterSettings = DeadLetterSettings()
    audit: AuditSettings = AuditSettings()
    metrics: MetricsSettings = MetricsSettings()
    recovery: RecoverySettings = RecoverySettings()

    def replace(self, **changes: object) -> Settings:
        return msgspec.structs.replace(self, **changes)


def _unknown_keys(data: object, info: mi.Type, path: str) -> str | None:
    """The first key nothing reads, as `path.key: ...`, walking the YAML against the types.

    msgspec refuses unknown fields of Structs but ignores them in dataclasses (`Policy`,
    `FeatureConfig`), where a typo would silently keep the default; this walk covers both.
    """
    if isinstance(info, mi.StructType | mi.DataclassType) and isinstance(data, dict):
        fields = {f.encode_name: f for f in info.fields}
        tag_field = info.tag_field if isinstance(info, mi.StructType) else None
        for key, value in data.items():
            where = f"{path}.{key}" if path else str(key)
            if key == tag_field:
                continue
            field = fields.get(key) if isinstance(key, str) else None
            if field is None:
                close = difflib.get_close_matches(str(key), list(fields), n=1)
                hint = f"did you mean `{close[0]}`?" if close else "known: " + ", ".join(fields)
                return f"{where}: unknown key ({hint})"
            if found := _unknown_keys(value, field.type, where):
                return found
    elif isinstance(info, mi.UnionType) and isinstance(data, dict):
        shaped = [t for t in info.types if isinstance(t, mi.StructType | mi.DataclassType)]
        tagged = [t for t in shaped if isinstance(t, mi.StructType) and t.tag_field is not None]
        if tagged:
            chosen = [t for t in tagged if data.get(t.tag_field) == t.tag]
            # A missing or unknown tag is msgspec's to report.
            return _unknown_keys(data, chosen[0], path) if chosen else None
        if len(shaped) == 1:
            return _unknown_keys(data, shaped[0], path)
    elif isinstance(info, mi.DictType) and isinstance(data, dict):
        for key, value in data.items():
            if found := _unknown_keys(value, info.value_type, f"{path}.{key}"):
                return found
    elif isinstance(info, mi.ListType | mi.VarTupleType) and isinstance(data, list):
        for i, value in enumerate(data):
            if found := _unknown_keys(value, info.item_type, f"{path}[{i}]"):
                return found
    return None


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def _validation_line(exc: msgspec.ValidationError) -> str:
    """msgspec's `Expected int, got str - at `$.a.b`` as `a.b: expected int, got str`."""
    m = _AT.match(str(exc))
    what, where = (m["what"], (m["path"] or "").lstrip(".")) if m else (str(exc), "")
    what = " ".join(what.split())
    what = what[:1].lower() + what[1:]
    return f"{where}: {what}" if where else what


def _read_yaml(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such config file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the config: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}:{where}: invalid YAML: {' '.join(problem.split())}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: the config must be a mapping of sections, not a {type(data).__name__}"
        )
    return data


def parse_settings(data: dict[str, object], *, source: str = "config") -> Settings:
    """The Settings a YAML mapping describes; ConfigError names the first wrong key."""
    if unknown := _unknown_keys(data, mi.type_info(Settings), ""):
        raise ConfigError(f"{source}: {unknown}")
    try:
        return msgspec.convert(data, Settings, str_keys=True)
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{source}: {_validation_line(exc)}") from None


def load_settings(path: str | Path | None = None, *, env: dict[str, str] | None = None) -> Settings:
    """Read a YAML config (or defaults) and apply environment overrides.

    Raises ConfigError, a one-line message naming the file and the key, for a missing
    file, invalid YAML, an unknown key in any section or a value of the wrong type, and
    for a `kafka.client` secret whose variable or file (read from the process, not `env`)
    is not there.
    """
    env = dict(os.environ) if env is None else env
    data: dict[str, object] = {}
    if path is not None:
        data = _read_yaml(Path(path))
    source = str(path) if path is not None else "config"
    settings = parse_settings(data, source=source)
    try:
        # Read once here so that a missing secret stops the start in one line; every
        # client reads it again when it is made, which picks up a rotated file.
        resolve_client(settings.kafka.client)
    except KafkaSecretError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    if bootstrap := env.get("KAFKA_BOOTSTRAP_SERVERS"):
        settings = settings.replace(
            kafka=msgspec.structs.replace(settings.kafka, bootstrap_servers=bootstrap)
        )
    if redis_url := env.get("REDIS_URL"):
        base = msgspec.structs.asdict(settings.redis or RedisSettings())
        try:
            # Built anew, not replaced, so the url is checked against the rest of the section.
            redis = RedisSettings(**(base | {"url": redis_url}))
        except ValueError as exc:
            raise ConfigError(f"REDIS_URL: {exc}") from None
        settings = settings.replace(redis=redis)
    return settings
