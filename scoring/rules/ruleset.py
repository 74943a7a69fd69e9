"""Rulesets: versioned YAML files of rules, validated strictly and compiled once."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import msgspec
import yaml

from riskflow.scoring.rules.bounded_yaml import YamlLimitError, load_bounded
from riskflow.scoring.rules.expr import RuleSyntaxError, check_condition
from riskflow.scoring.rules.template import TemplateError, check_template

__all__ = [
    "DEFAULT_RULESET_PATH",
    "MAX_FILE_BYTES",
    "MAX_RULES",
    "MAX_RULESET_NODES",
    "CompiledRule",
    "RuleHit",
    "Ruleset",
    "RulesetError",
    "load_ruleset",
    "one_line",
    "parse_ruleset",
    "read_ruleset_file",
]

DEFAULT_RULESET_PATH: Final = str(resources.files("riskflow.scoring.rules") / "default.yaml")

_ID = re.compile(r"^[a-z0-9_]{1,64}$")
_REASON = re.compile(r"^[A-Z0-9_]{1,64}$")
EventType = Literal["payment", "login"]

MAX_FILE_BYTES: Final = 256 * 1024
"""Largest ruleset file (or control message); the default is under 10 kB. Loading one
at the bound takes well under a second, and it happens between two events."""
MAX_RULES: Final = 500
MAX_RULESET_NODES: Final = 10_000
"""Most condition nodes in a whole ruleset: with each node doing bounded work, this
bounds the cost of evaluating the ruleset on one event, with no timer."""
_MAX_MESSAGE: Final = 500


class RulesetError(ValueError):
    """A ruleset that cannot be used; the previous one stays in force."""


class _RuleSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    description: str
    condition: str
    action: Literal["allow", "challenge", "review", "block"]
    severity: Literal["low", "medium", "high", "critical"]
    reason: str
    detail: str = ""
    applies_to: list[EventType] = msgspec.field(default_factory=lambda: ["payment", "login"])
    enabled: bool = True


class _RulesetSpec(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    version: str
    rules: list[_RuleSpec]
    description: str = ""


@dataclass(frozen=True, slots=True)
class RuleHit:
    """One rule that fired for one event."""

    rule_id: str
    action: str
    severity: str
    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class CompiledRule:
    id: str
    description: str
    condition_text: str
    condition: Callable[[Mapping[str, Any]], bool]
    action: str
    severity: str
    reason: str
    detail: str
    applies_to: frozenset[str]
    nodes: int = 0
    """Size of the condition: what one evaluation of it can cost."""


def _compile(spec: _RuleSpec) -> CompiledRule:
    if not _ID.match(spec.id):
        raise RulesetError(f"rule id {spec.id!r} must match [a-z0-9_]+")
    if not _REASON.match(spec.reason):
        raise RulesetError(f"rule {spec.id!r}: reason {spec.reason!r} must match [A-Z0-9_]+")
    if not spec.applies_to:
        raise RulesetError(f"rule {spec.id!r}: applies_to is empty")
    try:
        check_template(spec.id, spec.detail)
        checked = check_condition(spec.condition, rule_id=spec.id)
    except (TemplateError, RuleSyntaxError) as exc:
        raise RulesetError(str(exc)) from None
    return CompiledRule(
        id=spec.id,
        description=spec.description,
        condition_text=spec.condition,
        condition=checked.function,
        action=spec.action,
        severity=spec.severity,
        reason=spec.reason,
        detail=spec.detail,
        applies_to=frozenset(spec.applies_to),
        nodes=checked.nodes,
    )


@dataclass
class Ruleset:
    """A compiled ruleset; `evaluate` is the per-event hot path."""

    version: str
    rules: tuple[CompiledRule, ...]
    errors: dict[str, int] = field(default_factory=dict)
    """Runtime errors per rule id (such a rule counts as not fired)."""

    def __post_init__(self) -> None:
        self._by_type = {
            kind: tuple(r for r in self.rules if kind in r.applies_to)
            for kind in ("payment", "login")
        }

    @property
    def evaluation_errors(self) -> int:
        """Rule evaluations that raised, all rules together, since this ruleset was loaded."""
        return sum(self.errors.values())

    def _count_error(self, rule_id: str) -> None:
        self.errors[rule_id] = self.errors.get(rule_id, 0) + 1

    def evaluate(self, features: Mapping[str, Any], event_type: str) -> list[RuleHit]:
        """The rules that fire; never raises: a rule that fails is skipped and counted."""
        hits: list[RuleHit] = []
        for rule in self._by_type.get(event_type, ()):
            # Any exception (a zero divisor, a feature of an unexpected type) is that rule's
            # alone: it does not fire for this event and the others still run.
            try:
                fired = rule.condition(features)
            except Exception:
                self._count_error(rule.id)
                continue
            if fired:
                detail = rule.description
                if rule.detail:
                    try:
                        detail = rule.detail.format_map(features)
                    except Exception:
                        self._count_error(rule.id)
                hits.append(RuleHit(rule.id, rule.action, rule.severity, rule.reason, detail))
        return hits


def one_line(message: str) -> str:
    """A message fit for one log line: whitespace collapsed, length bounded."""
    text = " ".join(message.split())
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _parse(text: str, source: str) -> Ruleset:
    if not isinstance(text, str):
        raise RulesetError(f"{source}: a ruleset is text, not {type(text).__name__}")
    if len(text) > MAX_FILE_BYTES:
        raise RulesetError(f"{source}: larger than {MAX_FILE_BYTES} characters")
    try:
        data = load_bounded(text)
    except YamlLimitError as exc:
        raise RulesetError(f"{source}: {exc}") from None
    except yaml.YAMLError as exc:
        raise RulesetError(f"{source}: not valid YAML: {exc}") from None
    try:
        spec = msgspec.convert(data, _RulesetSpec)
    except msgspec.ValidationError as exc:
        raise RulesetError(f"{source}: {exc}") from None
    if not spec.version.strip():
        raise RulesetError(f"{source}: version is empty")
    if len(spec.rules) > MAX_RULES:
        raise RulesetError(f"{source}: more than {MAX_RULES} rules")
    seen: set[str] = set()
    for rule in spec.rules:
        if rule.id in seen:
            raise RulesetError(f"{source}: duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    # One bad rule rejects the whole file: a ruleset that silently lost a control is worse
    # than the previous version staying in force.
    try:
        rules = tuple(_compile(r) for r in spec.rules if r.enabled)
    except RulesetError as exc:
        raise RulesetError(f"{source}: {exc}") from None
    nodes = sum(r.nodes for r in rules)
    if nodes > MAX_RULESET_NODES:
        raise RulesetError(f"{source}: conditions total {nodes} nodes, over {MAX_RULESET_NODES}")
    return Ruleset(spec.version, rules)


def parse_ruleset(text: str, *, source: str = "<string>") -> Ruleset:
    """Validate and compile a ruleset from YAML text; any failure is a RulesetError."""
    try:
        return _parse(text, source)
    except RulesetError as exc:
        raise RulesetError(one_line(str(exc))) from None
    except Exception as exc:
        # RecursionError and MemoryError included: the bounds above should make them
        # unreachable, and if one slips through it must reject the file, not kill the worker.
        raise RulesetError(
            one_line(f"{source}: cannot load: {type(exc).__name__}: {exc}")
        ) from None


def read_ruleset_file(path: str | Path) -> str:
    """A ruleset file's text, refusing one too large to be a ruleset or not UTF-8."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise RulesetError(one_line(f"{path}: {exc}")) from None
    if len(data) > MAX_FILE_BYTES:
        raise RulesetError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RulesetError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None


def load_ruleset(path: str | Path) -> Ruleset:
    return parse_ruleset(read_ruleset_file(path), source=str(path))
