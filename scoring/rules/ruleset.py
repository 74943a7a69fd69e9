"""Rulesets: versioned YAML files of rules, validated strictly and compiled once."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import msgspec
import yaml

from features.catalog import FEATURES
from scoring.rules.expr import RuleSyntaxError, compile_condition

__all__ = [
    "DEFAULT_RULESET_PATH",
    "CompiledRule",
    "RuleHit",
    "Ruleset",
    "RulesetError",
    "load_ruleset",
    "parse_ruleset",
]

DEFAULT_RULESET_PATH: Final = str(resources.files("scoring.rules") / "default.yaml")

_ID = re.compile(r"^[a-z0-9_]{1,64}$")
_REASON = re.compile(r"^[A-Z0-9_]{1,64}$")
EventType = Literal["payment", "login"]


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


def _check_template(rule_id: str, template: str) -> None:
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise RulesetError(f"rule {rule_id!r}: detail template: {exc}") from None
    for _literal, name, spec, _conversion in fields:
        if name is None:
            continue
        # Only bare feature names: `{x.__class__}` or `{x[0]}` would reach into objects.
        if name not in FEATURES:
            raise RulesetError(f"rule {rule_id!r}: detail placeholder {{{name}}} is not a feature")
        if spec and "{" in spec:
            raise RulesetError(f"rule {rule_id!r}: nested placeholders are not allowed")


def _compile(spec: _RuleSpec) -> CompiledRule:
    if not _ID.match(spec.id):
        raise RulesetError(f"rule id {spec.id!r} must match [a-z0-9_]+")
    if not _REASON.match(spec.reason):
        raise RulesetError(f"rule {spec.id!r}: reason {spec.reason!r} must match [A-Z0-9_]+")
    if not spec.applies_to:
        raise RulesetError(f"rule {spec.id!r}: applies_to is empty")
    _check_template(spec.id, spec.detail)
    try:
        condition = compile_condition(spec.condition, rule_id=spec.id)
    except RuleSyntaxError as exc:
        raise RulesetError(str(exc)) from None
    return CompiledRule(
        id=spec.id,
        description=spec.description,
        condition_text=spec.condition,
        condition=condition,
        action=spec.action,
        severity=spec.severity,
        reason=spec.reason,
        detail=spec.detail,
        applies_to=frozenset(spec.applies_to),
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

    def evaluate(self, features: Mapping[str, Any], event_type: str) -> list[RuleHit]:
        hits: list[RuleHit] = []
        for rule in self._by_type.get(event_type, ()):
            try:
                fired = rule.condition(features)
            except Exception:
                self.errors[rule.id] = self.errors.get(rule.id, 0) + 1
                continue
            if fired:
                detail = rule.description
                if rule.detail:
                    try:
                        detail = rule.detail.format_map(features)
                    except (KeyError, ValueError, TypeError):
                        self.errors[rule.id] = self.errors.get(rule.id, 0) + 1
                hits.append(RuleHit(rule.id, rule.action, rule.severity, rule.reason, detail))
        return hits


def parse_ruleset(text: str, *, source: str = "<string>") -> Ruleset:
    """Validate and compile a ruleset from YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise RulesetError(f"{source}: not valid YAML: {exc}") from None
    try:
        spec = msgspec.convert(data, _RulesetSpec)
    except msgspec.ValidationError as exc:
        raise RulesetError(f"{source}: {exc}") from None
    if not spec.version.strip():
        raise RulesetError(f"{source}: version is empty")
    seen: set[str] = set()
    for rule in spec.rules:
        if rule.id in seen:
            raise RulesetError(f"{source}: duplicate rule id {rule.id!r}")
        seen.add(rule.id)
    rules = tuple(_compile(r) for r in spec.rules if r.enabled)
    return Ruleset(spec.version, rules)


def load_ruleset(path: str | Path) -> Ruleset:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise RulesetError(f"{path}: {exc}") from None
    return parse_ruleset(text, source=str(path))
