"""A safe expression language for rule conditions: a whitelisted subset of Python.

A condition is parsed with `ast`, every node is checked against a short
whitelist, feature names are checked against the catalogue, and the tree is
then compiled once into an ordinary function. Nothing is ever evaluated as
text: there is no attribute or item access, no `**`, and only a handful of
pure functions can be called, so a ruleset file cannot reach Python's
internals or burn the CPU. Compiled conditions run at the speed of plain
Python (tens of nanoseconds per rule), which CEL-style interpreters cannot
match once the feature context must be converted for them on every event.
"""

from __future__ import annotations

import ast
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from features.catalog import FEATURES

__all__ = ["FUNCTIONS", "RuleSyntaxError", "compile_condition", "names_in"]

FUNCTIONS: Final[dict[str, Callable[..., Any]]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
}
_ALIASES: Final = {"true": True, "false": False, "True": True, "False": False, "None": None}
_MAX_STRING: Final = 256
_MAX_NODES: Final = 500

_BOOL_OPS = (ast.And, ast.Or)
_UNARY_OPS = (ast.Not, ast.USub, ast.UAdd)
# No ast.Pow: `9 ** 9 ** 9` would stall a worker.
_BIN_OPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)
_CMP_OPS = (ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE, ast.In, ast.NotIn)
_FEATURE_ARG: Final = "f"
# Python 3.12 added a required `type_params` field to function nodes; 3.11 rejects it.
_TYPE_PARAMS: Final[dict[str, Any]] = {"type_params": []} if sys.version_info >= (3, 12) else {}


class RuleSyntaxError(ValueError):
    """A condition that is not valid in the rule language."""


def _fail(rule_id: str, node: ast.AST | None, what: str) -> RuleSyntaxError:
    where = (
        f" at column {node.col_offset + 1}"
        if node is not None and hasattr(node, "col_offset")
        else ""
    )
    return RuleSyntaxError(f"rule {rule_id!r}: {what}{where}")


class _Checker:
    def __init__(self, rule_id: str, names: Iterable[str]) -> None:
        self.rule_id = rule_id
        self.names = frozenset(names)
        self.count = 0

    def _is_text(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, str)
        if isinstance(node, ast.Name):
            return node.id in FEATURES and FEATURES[node.id][0] is str
        return False

    def check(self, node: ast.AST) -> None:
        self.count += 1
        if self.count > _MAX_NODES:
            raise _fail(self.rule_id, node, "condition is too long")
        if isinstance(node, ast.BoolOp):
            if not isinstance(node.op, _BOOL_OPS):
                raise _fail(self.rule_id, node, "unsupported boolean operator")
            for v in node.values:
                self.check(v)
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, _UNARY_OPS):
                raise _fail(self.rule_id, node, f"operator {type(node.op).__name__} is not allowed")
            self.check(node.operand)
        elif isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BIN_OPS):
                raise _fail(self.rule_id, node, f"operator {type(node.op).__name__} is not allowed")
            # Arithmetic is for numbers; `'x' * 10**8` would be a memory bomb.
            if self._is_text(node.left) or self._is_text(node.right):
                raise _fail(self.rule_id, node, "arithmetic on text is not allowed")
            self.check(node.left)
            self.check(node.right)
        elif isinstance(node, ast.Compare):
            for op in node.ops:
                if not isinstance(op, _CMP_OPS):
                    raise _fail(
                        self.rule_id, node, f"comparison {type(op).__name__} is not allowed"
                    )
            self.check(node.left)
            for c in node.comparators:
                self.check(c)
        elif isinstance(node, ast.IfExp):
            self.check(node.test)
            self.check(node.body)
            self.check(node.orelse)
        elif isinstance(node, ast.Constant):
            value = node.value
            if not (value is None or isinstance(value, bool | int | float | str)):
                raise _fail(self.rule_id, node, f"constant {value!r} is not allowed")
            if isinstance(value, str) and len(value) > _MAX_STRING:
                raise _fail(self.rule_id, node, "string constant is too long")
        elif isinstance(node, ast.Name):
            if node.id not in self.names and node.id not in _ALIASES:
                raise _fail(self.rule_id, node, f"unknown feature {node.id!r}")
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            for elt in node.elts:
                if not isinstance(elt, ast.Constant):
                    raise _fail(self.rule_id, elt, "collections may only hold constants")
                self.check(elt)
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise _fail(self.rule_id, node, "only abs, min, max and round may be called")
            if node.keywords:
                raise _fail(self.rule_id, node, "keyword arguments are not allowed")
            for arg in node.args:
                if isinstance(arg, ast.Starred):
                    raise _fail(self.rule_id, arg, "star arguments are not allowed")
                self.check(arg)
        else:
            raise _fail(self.rule_id, node, f"{type(node).__name__} is not allowed")


class _ToLookups(ast.NodeTransformer):
    """Feature names become `f["name"]`; aliases become constants."""

    def visit_Call(self, node: ast.Call) -> ast.expr:
        # The callee is a whitelisted function, not a feature: rewrite only the arguments.
        node.args = [self.visit(a) for a in node.args]
        return node

    def visit_Name(self, node: ast.Name) -> ast.expr:
        if node.id in _ALIASES:
            return ast.copy_location(ast.Constant(_ALIASES[node.id]), node)
        lookup = ast.Subscript(
            value=ast.Name(_FEATURE_ARG, ast.Load()),
            slice=ast.Constant(node.id),
            ctx=ast.Load(),
        )
        return ast.copy_location(lookup, node)


def _parse(text: str, rule_id: str) -> ast.expr:
    if not isinstance(text, str) or not text.strip():
        raise _fail(rule_id, None, "condition is empty")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise _fail(rule_id, None, f"syntax error: {exc.msg}") from None
    return tree.body


def names_in(text: str, *, rule_id: str = "?") -> set[str]:
    """The feature names a condition reads."""
    body = _parse(text, rule_id)
    return {n.id for n in ast.walk(body) if isinstance(n, ast.Name) and n.id not in _ALIASES} - set(
        FUNCTIONS
    )


def compile_condition(
    text: str, *, rule_id: str, names: Iterable[str] = FEATURES
) -> Callable[[Mapping[str, Any]], bool]:
    """Validate `text` and compile it into `condition(features) -> bool`."""
    body = _parse(text, rule_id)
    _Checker(rule_id, names).check(body)
    body = _ToLookups().visit(body)
    func = ast.FunctionDef(
        name=f"rule_{rule_id}",
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(_FEATURE_ARG)],
            kwonlyargs=[],
            kw_defaults=[],
            defaults=[],
        ),
        body=[ast.Return(ast.Call(ast.Name("bool", ast.Load()), [body], []))],
        decorator_list=[],
        **_TYPE_PARAMS,
    )
    module = ast.fix_missing_locations(ast.Module(body=[func], type_ignores=[]))
    code = compile(module, f"<rule {rule_id}>", "exec")
    func_code = next(c for c in code.co_consts if isinstance(c, types.CodeType))
    # Empty builtins: the compiled body can reach only what this namespace holds.
    namespace: dict[str, Any] = {"__builtins__": {}, "bool": bool, **FUNCTIONS}
    return types.FunctionType(func_code, namespace, f"rule_{rule_id}")
