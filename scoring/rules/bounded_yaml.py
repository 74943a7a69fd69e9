"""A safe YAML load behind a depth check that cannot itself overflow the stack.

PyYAML's composer builds nodes recursively, so `[[[[...]]]]` a thousand deep
raises RecursionError inside `safe_load`. Its event parser (Python or libyaml)
keeps an explicit state stack instead, so walking the events first, and stopping at the first
one too deep, costs little and never recurses. Aliases are refused too: a
ruleset has no use for them, and they are how YAML multiplies a small file
into a huge document.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

__all__ = ["MAX_YAML_DEPTH", "YamlLimitError", "load_bounded"]

MAX_YAML_DEPTH: Final = 16
"""Deepest nesting of mappings and lists; a ruleset needs four."""

# libyaml when the wheel has it: the pure-Python scanner takes seconds on a few hundred
# kilobytes of flow lists, and a reload runs between two events on the worker.
_LOADER: Final[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_OPEN: Final = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE: Final = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class YamlLimitError(ValueError):
    """YAML that is well formed but beyond what a ruleset may be."""


def load_bounded(text: str) -> Any:
    """The document in `text`; YamlLimitError if too deep or using aliases, YAMLError if invalid."""
    too_deep = f"YAML nested deeper than {MAX_YAML_DEPTH} levels"
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            if isinstance(event, _OPEN):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    raise YamlLimitError(too_deep)
            elif isinstance(event, _CLOSE):
                depth -= 1
            elif isinstance(event, yaml.AliasEvent):
                raise YamlLimitError("YAML aliases (*name) are not allowed")
    except yaml.YAMLError as exc:
        # libyaml looks ahead and stops at its own limit (1,000 levels) before we see the
        # events: the same refusal, in the same words.
        if "maximum nesting depth" in str(exc):
            raise YamlLimitError(too_deep) from None
        raise
    return yaml.load(text, Loader=_LOADER)  # a safe loader, as above
