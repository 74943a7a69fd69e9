"""`yaml.safe_load` behind a depth check that cannot itself overflow the stack.

PyYAML's composer builds nodes recursively, so `[[[[...]]]]` a thousand deep
raises RecursionError inside `safe_load`. Its event parser keeps an explicit
state stack instead, so walking the events first, and stopping at the first
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

_OPEN: Final = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_CLOSE: Final = (yaml.MappingEndEvent, yaml.SequenceEndEvent)


class YamlLimitError(ValueError):
    """YAML that is well formed but beyond what a ruleset may be."""


def load_bounded(text: str) -> Any:
    """The document in `text`; YamlLimitError if too deep or using aliases, YAMLError if invalid."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, _OPEN):
            depth += 1
            if depth > MAX_YAML_DEPTH:
                raise YamlLimitError(f"YAML nested deeper than {MAX_YAML_DEPTH} levels")
        elif isinstance(event, _CLOSE):
            depth -= 1
        elif isinstance(event, yaml.AliasEvent):
            raise YamlLimitError("YAML aliases (*name) are not allowed")
    return yaml.safe_load(text)
