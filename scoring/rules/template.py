"""Detail templates: `str.format` text over feature names, with bounded format specs.

A rule's `detail` is filled from the event's features when the rule fires. A
placeholder may only name a feature, and its format spec may only be a plain
one (`:.2f`, `:,.0f`, `:>8`) with a small width and precision: an unchecked
spec such as `{amount:>300000000}` would allocate 300 MB per event.
"""

from __future__ import annotations

import re
import string
from typing import Final

from riskflow.features.catalog import FEATURES

__all__ = [
    "MAX_PLACEHOLDERS",
    "MAX_PRECISION",
    "MAX_TEMPLATE_CHARS",
    "MAX_WIDTH",
    "TemplateError",
    "check_template",
]

MAX_TEMPLATE_CHARS: Final = 500
MAX_PLACEHOLDERS: Final = 16
MAX_WIDTH: Final = 32
MAX_PRECISION: Final = 12

# [align][sign][0][width][grouping][.precision][type]; no fill character, no nesting.
_SPEC: Final = re.compile(
    r"(?P<align>[<>=^])?(?P<sign>[-+ ])?0?(?P<width>\d+)?[,_]?(?:\.(?P<precision>\d+))?[dfFeEgG%s]?"
)


class TemplateError(ValueError):
    """A detail template that is not allowed."""


def check_template(rule_id: str, template: str) -> None:
    """Raise TemplateError unless every placeholder is a feature with a bounded spec."""
    if len(template) > MAX_TEMPLATE_CHARS:
        raise TemplateError(f"rule {rule_id!r}: detail is longer than {MAX_TEMPLATE_CHARS}")
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(f"rule {rule_id!r}: detail template: {exc}") from None
    placeholders = 0
    for _literal, name, spec, conversion in fields:
        if name is None:
            continue
        placeholders += 1
        if placeholders > MAX_PLACEHOLDERS:
            raise TemplateError(f"rule {rule_id!r}: detail has over {MAX_PLACEHOLDERS} fields")
        # Only bare feature names: `{x.__class__}` or `{x[0]}` would reach into objects.
        if name not in FEATURES:
            raise TemplateError(f"rule {rule_id!r}: detail placeholder {{{name}}} is not a feature")
        if conversion is not None:
            raise TemplateError(f"rule {rule_id!r}: detail conversion !{conversion} is not allowed")
        _check_spec(rule_id, name, spec or "")


def _check_spec(rule_id: str, name: str, spec: str) -> None:
    where = f"rule {rule_id!r}: detail {{{name}:{spec}}}"
    if "{" in spec:
        raise TemplateError(f"{where}: nested placeholders are not allowed")
    match = _SPEC.fullmatch(spec)
    if match is None:
        raise TemplateError(f"{where}: format spec is not a plain one like .2f or ,.0f")
    width, precision = match.group("width"), match.group("precision")
    # Length first: int() of a 5,000-digit width would itself raise.
    if width is not None and (len(width) > 2 or int(width) > MAX_WIDTH):
        raise TemplateError(f"{where}: width is over {MAX_WIDTH}")
    if precision is not None and (len(precision) > 2 or int(precision) > MAX_PRECISION):
        raise TemplateError(f"{where}: precision is over {MAX_PRECISION}")
    # The spec must suit the feature's type (`{channel:.2f}` fails on text): try it now,
    # on the type's neutral value, rather than on every event.
    kind = FEATURES[name][0]
    try:
        format(kind(), spec)
    except (ValueError, TypeError) as exc:
        raise TemplateError(f"{where}: {exc}") from None
