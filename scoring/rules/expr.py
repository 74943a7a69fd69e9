"""A safe expression language for rule conditions: a typed, bounded subset of Python.

A condition goes through four gates before anything runs:

1. a cheap scan of the text: its length and its bracket nesting are bounded, so
   the parser never sees input that could exhaust its stack;
2. `ast.parse`, with `RecursionError` and `MemoryError` caught all the same;
3. an iterative walk that bounds the node count and the nesting depth, so the
   recursive checks that follow can never overflow Python's stack;
4. a type check against the feature catalogue: arithmetic only on numbers,
   text only compared for equality or membership, collections only as the
   literal right-hand side of `in`, literals and folded constants bounded, and
   integer results provably bounded.

Only then is the checked tree compiled into an ordinary function with no
builtins. Nothing is ever evaluated as text. Because every node does a bounded
amount of work (there are no loops, no `**`, no calls but `abs`, `min`, `max`
and `round`, and no value can grow past a fixed size), the cost of one
evaluation is bounded by the node count: no timer is needed, and compiled
conditions still run at the speed of plain Python.
"""

from __future__ import annotations

import ast
import math
import operator
import sys
import types
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from riskflow.features.catalog import FEATURES

__all__ = [
    "FUNCTIONS",
    "INT_FEATURE_BOUND",
    "MAX_CONDITION_CHARS",
    "MAX_DEPTH",
    "MAX_INT_BOUND",
    "MAX_ITEMS",
    "MAX_LITERAL",
    "MAX_NESTING",
    "MAX_NODES",
    "MAX_STRING",
    "CheckedCondition",
    "RuleSyntaxError",
    "check_condition",
    "compile_condition",
    "names_in",
]

FUNCTIONS: Final[dict[str, Callable[..., Any]]] = {
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
}
_ALIASES: Final = {"true": True, "false": False, "True": True, "False": False, "None": None}

MAX_CONDITION_CHARS: Final = 2000
"""Longest condition text; checked before parsing."""
MAX_NESTING: Final = 16
"""Deepest bracket nesting in the text; checked before parsing."""
MAX_DEPTH: Final = 32
"""Deepest expression tree; checked before any recursive pass."""
MAX_NODES: Final = 500
"""Most expression nodes in one condition: the bound on its evaluation cost."""
MAX_STRING: Final = 256
"""Longest string constant."""
MAX_ITEMS: Final = 100
"""Most items in a literal list after `in`, and most arguments to `min`/`max`."""
MAX_LITERAL: Final = 10**15
"""Largest magnitude of a number literal and of any constant folded at load time."""
MAX_INT_BOUND: Final = 2**256
"""Largest provable magnitude of an integer subexpression. Below float's range, so
mixing integers with floats can never raise OverflowError either."""
INT_FEATURE_BOUND: Final = 2**63
"""What the type check assumes of an integer feature: counters fit in 64 bits."""
_MAX_ROUND: Final = 15

_BOOL_OPS = (ast.And, ast.Or)
# No ast.Pow: `9 ** 9 ** 9` would stall a worker.
_BIN_OPS: Final[dict[type[ast.operator], Callable[[Any, Any], Any]]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_DIVISIONS = (ast.Div, ast.FloorDiv, ast.Mod)
_EQUALITY = (ast.Eq, ast.NotEq)
_ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
_MEMBERSHIP = (ast.In, ast.NotIn)
_FEATURE_ARG: Final = "f"
# Python 3.12 added a required `type_params` field to function nodes; 3.11 rejects it.
_TYPE_PARAMS: Final[dict[str, Any]] = {"type_params": []} if sys.version_info >= (3, 12) else {}

_NUMERIC: Final = frozenset({"bool", "int", "float"})
_KIND_OF_TYPE: Final[dict[type, str]] = {bool: "bool", int: "int", float: "float", str: "str"}
_DESCRIBE: Final = {
    "bool": "a flag",
    "int": "a number",
    "float": "a number",
    "str": "text",
    "none": "None",
    "any": "a value of mixed type",
    "seq": "a list",
}


class RuleSyntaxError(ValueError):
    """A condition that is not valid in the rule language."""


def _fail(rule_id: str, node: ast.AST | None, what: str) -> RuleSyntaxError:
    col = getattr(node, "col_offset", None) if node is not None else None
    where = f" at column {col + 1}" if isinstance(col, int) else ""
    return RuleSyntaxError(f"rule {rule_id!r}: {what}{where}")


@dataclass(frozen=True, slots=True)
class _Type:
    """What the checker knows of a subexpression's value."""

    kind: str  # bool | int | float | str | none | any | seq
    bound: float = math.inf  # for int and bool: |value| <= bound
    const: bool = False  # the value is known at load time
    value: Any = None
    items: frozenset[str] = frozenset()  # for seq: the kinds of its items


@dataclass(frozen=True, slots=True)
class CheckedCondition:
    """A condition that passed every check, compiled, with its measured size."""

    text: str
    function: Callable[[Mapping[str, Any]], bool]
    nodes: int
    depth: int


def _const(value: Any) -> _Type:
    if isinstance(value, bool):
        return _Type("bool", 1.0, True, value)
    if isinstance(value, int):
        return _Type("int", float(abs(value)), True, value)
    if isinstance(value, float):
        return _Type("float", abs(value), True, value)
    if isinstance(value, str):
        return _Type("str", const=True, value=value)
    return _Type("none", const=True, value=None)


def _too_big(value: float) -> bool:
    # abs() first: math.isfinite of a 4,000-digit int would raise OverflowError.
    return bool(abs(value) > MAX_LITERAL or not math.isfinite(value))


def _join(parts: list[_Type]) -> _Type:
    """The type of a value that is one of `parts` (the branches of `if`/`else`, `and`, `or`)."""
    kinds = {p.kind for p in parts}
    if kinds <= {"bool"}:
        return _Type("bool", 1.0)
    if kinds <= {"bool", "int"}:
        return _Type("int", max(p.bound for p in parts))
    if kinds <= _NUMERIC:
        return _Type("float")
    if len(kinds) == 1 and kinds <= {"str", "none"}:
        return _Type(kinds.pop())
    # Still fine as a truth value; anything else (arithmetic, comparison) is refused.
    return _Type("any")


def _prescan(text: str, rule_id: str) -> None:
    """Bound the text and its bracket nesting before the parser sees it."""
    if len(text) > MAX_CONDITION_CHARS:
        raise _fail(rule_id, None, f"condition is longer than {MAX_CONDITION_CHARS} characters")
    depth = 0
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            # Brackets inside string literals do not nest; a rough scan is enough because the
            # parser and the tree walk bound the nesting again.
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
            if depth > MAX_NESTING:
                raise _fail(rule_id, None, f"brackets nested deeper than {MAX_NESTING}")
        elif ch in ")]}":
            depth -= 1


def _measure(body: ast.expr, rule_id: str) -> tuple[int, int]:
    """Node count and depth of the expression tree, without recursion."""
    nodes = 0
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(body, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.expr):
            nodes += 1
            if nodes > MAX_NODES:
                raise _fail(rule_id, None, f"condition is too long (over {MAX_NODES} nodes)")
            if depth > MAX_DEPTH:
                raise _fail(rule_id, node, f"condition is nested deeper than {MAX_DEPTH}")
            deepest = max(deepest, depth)
            depth += 1
        stack.extend((child, depth) for child in ast.iter_child_nodes(node))
    return nodes, deepest


def _parse(text: object, rule_id: str) -> ast.expr:
    if not isinstance(text, str) or not text.strip():
        raise _fail(rule_id, None, "condition is empty")
    text = text.strip()
    _prescan(text, rule_id)
    try:
        with warnings.catch_warnings():
            # An invalid escape such as `'\d'` only warns today, on stderr at every reload;
            # refused here, it is one line naming the rule.
            warnings.simplefilter("error", SyntaxWarning)
            warnings.simplefilter("error", DeprecationWarning)
            tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise _fail(rule_id, None, f"syntax error: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        # Null bytes, or input the parser cannot hold: refused like any other bad text.
        raise _fail(rule_id, None, f"cannot parse: {type(exc).__name__}") from None
    return tree.body


class _Checker:
    """Checks every node against the whitelist and infers its type; depth is already bounded."""

    def __init__(self, rule_id: str, names: Iterable[str]) -> None:
        self.rule_id = rule_id
        self.names = frozenset(names)

    def fail(self, node: ast.AST | None, what: str) -> RuleSyntaxError:
        return _fail(self.rule_id, node, what)

    def folded(self, node: ast.AST, compute: Callable[[], Any]) -> _Type:
        """Fold a constant subexpression whose operands are already bounded."""
        try:
            value = compute()
        except ZeroDivisionError:
            raise self.fail(node, "division by zero") from None
        if _too_big(value):
            raise self.fail(node, f"constant arithmetic exceeds {MAX_LITERAL:.0e}")
        return _const(value)

    def numeric(self, node: ast.AST, parts: list[_Type], what: str) -> None:
        for part in parts:
            if part.kind not in _NUMERIC:
                raise self.fail(node, f"{what} needs numbers, not {_DESCRIBE[part.kind]}")

    def int_result(self, node: ast.AST, bound: float) -> _Type:
        if bound > MAX_INT_BOUND:
            raise self.fail(node, "integer arithmetic could grow beyond 2**256")
        return _Type("int", bound)

    def check(self, node: ast.expr, *, list_ok: bool = False) -> _Type:
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Tuple | ast.List | ast.Set):
            return self.collection(node, list_ok)
        if isinstance(node, ast.BoolOp):
            if not isinstance(node.op, _BOOL_OPS):  # pragma: no cover - the grammar has no other
                raise self.fail(node, "unsupported boolean operator")
            return _join([self.check(v) for v in node.values])
        if isinstance(node, ast.UnaryOp):
            return self.unary(node)
        if isinstance(node, ast.BinOp):
            return self.binary(node)
        if isinstance(node, ast.Compare):
            return self.compare(node)
        if isinstance(node, ast.IfExp):
            self.check(node.test)
            return _join([self.check(node.body), self.check(node.orelse)])
        if isinstance(node, ast.Call):
            return self.call(node)
        raise self.fail(node, f"{type(node).__name__} is not allowed")

    def constant(self, node: ast.Constant) -> _Type:
        value = node.value
        if isinstance(value, bool) or value is None:
            return _const(value)
        if isinstance(value, int | float):
            if _too_big(value):
                raise self.fail(node, f"number literal larger than {MAX_LITERAL:.0e}")
            return _const(value)
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                raise self.fail(node, f"string constant is longer than {MAX_STRING}")
            return _const(value)
        raise self.fail(node, f"constant of type {type(value).__name__} is not allowed")

    def name(self, node: ast.Name) -> _Type:
        if node.id in _ALIASES:
            return _const(_ALIASES[node.id])
        if node.id not in self.names:
            raise self.fail(node, f"unknown feature {node.id!r}")
        entry = FEATURES.get(node.id)
        kind = _KIND_OF_TYPE.get(entry[0]) if entry else None
        if kind is None:
            raise self.fail(node, f"feature {node.id!r} has no type in the catalogue")
        bound = {"bool": 1.0, "int": float(INT_FEATURE_BOUND)}.get(kind, math.inf)
        return _Type(kind, bound)

    def collection(self, node: ast.Tuple | ast.List | ast.Set, list_ok: bool) -> _Type:
        if not list_ok:
            raise self.fail(node, "a list is only allowed as the right side of `in` / `not in`")
        if len(node.elts) > MAX_ITEMS:
            raise self.fail(node, f"a list may hold at most {MAX_ITEMS} items")
        kinds: set[str] = set()
        for elt in node.elts:
            # Constants only, though `-1` or `true` count: they fold to one.
            item = self.check(elt)
            if not item.const:
                raise self.fail(elt, "collections may only hold constants")
            kinds.add(item.kind)
        if "str" in kinds and kinds & _NUMERIC:
            raise self.fail(node, "a list may not mix text and numbers")
        return _Type("seq", items=frozenset(kinds))

    def unary(self, node: ast.UnaryOp) -> _Type:
        if isinstance(node.op, ast.Not):
            self.check(node.operand)
            return _Type("bool", 1.0)
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        operand = self.check(node.operand)
        self.numeric(node, [operand], "unary minus or plus")
        if operand.const:
            fn = operator.neg if isinstance(node.op, ast.USub) else operator.pos
            return self.folded(node, lambda: fn(operand.value))
        return _Type("float") if operand.kind == "float" else _Type("int", operand.bound)

    def binary(self, node: ast.BinOp) -> _Type:
        fn = _BIN_OPS.get(type(node.op))
        if fn is None:
            raise self.fail(node, f"operator {type(node.op).__name__} is not allowed")
        left, right = self.check(node.left), self.check(node.right)
        # Arithmetic is for numbers: `'x' * 10**8` or `[0] * 10**9` would be a memory bomb.
        self.numeric(node, [left, right], "arithmetic")
        if left.const and right.const:
            return self.folded(node, lambda: fn(left.value, right.value))
        if isinstance(node.op, _DIVISIONS) and right.const and right.value == 0:
            raise self.fail(node, "division by zero")
        if isinstance(node.op, ast.Div) or "float" in (left.kind, right.kind):
            return _Type("float")
        if isinstance(node.op, ast.Add | ast.Sub):
            return self.int_result(node, left.bound + right.bound)
        if isinstance(node.op, ast.Mult):
            return self.int_result(node, left.bound * right.bound)
        if isinstance(node.op, ast.FloorDiv):
            return self.int_result(node, max(left.bound, 1.0))
        return self.int_result(node, right.bound)  # |a % b| < |b|

    def compare(self, node: ast.Compare) -> _Type:
        left = self.check(node.left)
        last = len(node.ops) - 1
        for i, (op, comparator) in enumerate(zip(node.ops, node.comparators, strict=True)):
            membership = isinstance(op, _MEMBERSHIP)
            # A list may follow `in` but may not go on to be the left side of the next link.
            right = self.check(comparator, list_ok=membership and i == last)
            if membership:
                self.membership(comparator, left, right)
            elif isinstance(op, _EQUALITY):
                self.equality(comparator, left, right)
            elif isinstance(op, _ORDERING):
                if left.kind not in _NUMERIC or right.kind not in _NUMERIC:
                    raise self.fail(
                        comparator, "only numbers can be ordered; text allows == != in not in"
                    )
            else:
                raise self.fail(node, f"comparison {type(op).__name__} is not allowed")
            left = right
        return _Type("bool", 1.0)

    def membership(self, node: ast.AST, left: _Type, right: _Type) -> None:
        if right.kind != "seq":
            raise self.fail(node, "`in` needs a literal list of constants on its right")
        if left.kind == "str":
            allowed = {"str", "none"}
        elif left.kind in _NUMERIC:
            allowed = set(_NUMERIC | {"none"})
        elif left.kind == "none":
            return
        else:
            raise self.fail(node, f"`in` needs text or a number on its left, not {left.kind}")
        if not right.items <= allowed:
            raise self.fail(
                node, f"`in` compares {_DESCRIBE[left.kind]} with a list of another type"
            )

    def equality(self, node: ast.AST, left: _Type, right: _Type) -> None:
        if "none" in (left.kind, right.kind) and "any" not in (left.kind, right.kind):
            return
        if left.kind in _NUMERIC and right.kind in _NUMERIC:
            return
        if left.kind == right.kind == "str":
            return
        raise self.fail(node, f"compares {_DESCRIBE[left.kind]} with {_DESCRIBE[right.kind]}")

    def call(self, node: ast.Call) -> _Type:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            raise self.fail(node, "only abs, min, max and round may be called")
        if node.keywords:
            raise self.fail(node, "keyword arguments are not allowed")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise self.fail(arg, "star arguments are not allowed")
        name = node.func.id
        if name == "round":
            return self.round(node)
        arity = (1, 1) if name == "abs" else (2, MAX_ITEMS)
        if not arity[0] <= len(node.args) <= arity[1]:
            raise self.fail(
                node, f"{name} takes {'one argument' if name == 'abs' else '2 or more'}"
            )
        args = [self.check(a) for a in node.args]
        self.numeric(node, args, name)
        fn = FUNCTIONS[name]
        if all(a.const for a in args):
            return self.folded(node, lambda: fn(*(a.value for a in args)))
        joined = _join(args)
        if joined.kind == "float":
            return joined
        return _Type("int", joined.bound)

    def round(self, node: ast.Call) -> _Type:
        if not 1 <= len(node.args) <= 2:
            raise self.fail(node, "round takes a number and optionally a digit count")
        value = self.check(node.args[0])
        self.numeric(node, [value], "round")
        digits = 0
        if len(node.args) == 2:
            arg = node.args[1]
            count = self.check(arg)
            if not (count.const and type(count.value) is int and abs(count.value) <= _MAX_ROUND):
                raise self.fail(
                    arg, f"round's digit count must be a whole number within ±{_MAX_ROUND}"
                )
            digits = count.value
        if value.const:
            return self.folded(node, lambda: round(value.value, digits))
        if value.kind == "float":
            if len(node.args) == 1:
                # round(x) of a float is an int up to 309 digits; round(x, 0) rounds the same
                # way but stays a float, so its size stays fixed.
                node.args.append(ast.copy_location(ast.Constant(0), node))
            return _Type("float")
        # round(n, -k) of an int may round up, to at most twice its magnitude.
        return self.int_result(node, 2 * max(value.bound, 1.0))


class _ToLookups(ast.NodeTransformer):
    """Feature names become `f["name"]`; aliases become constants."""

    def visit_Call(self, node: ast.Call) -> ast.expr:
        # The callee is a whitelisted function, not a feature: rewrite only the arguments.
        node.args = [self.visit(a) for a in node.args]
        return node

    def visit_Compare(self, node: ast.Compare) -> ast.expr:
        self.generic_visit(node)
        # A literal list after `in` becomes a set: CPython folds it into one frozenset
        # constant, so membership costs one hash however long the list. The meaning is
        # unchanged, since the items are numbers, text, flags or None (never NaN).
        node.comparators = [
            ast.copy_location(ast.Set(elts=c.elts), c)
            if isinstance(op, _MEMBERSHIP) and isinstance(c, ast.Tuple | ast.List)
            else c
            for op, c in zip(node.ops, node.comparators, strict=True)
        ]
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


def names_in(text: str, *, rule_id: str = "?") -> set[str]:
    """The feature names a condition reads."""
    body = _parse(text, rule_id)
    _measure(body, rule_id)
    return {n.id for n in ast.walk(body) if isinstance(n, ast.Name) and n.id not in _ALIASES} - set(
        FUNCTIONS
    )


def _build(body: ast.expr, rule_id: str) -> Callable[[Mapping[str, Any]], bool]:
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


def check_condition(
    text: str, *, rule_id: str, names: Iterable[str] = FEATURES
) -> CheckedCondition:
    """Validate `text`, compile it, and report its size; RuleSyntaxError if refused."""
    body = _parse(text, rule_id)
    nodes, depth = _measure(body, rule_id)
    try:
        _Checker(rule_id, names).check(body)
        function = _build(body, rule_id)
    except (RecursionError, MemoryError) as exc:
        # The bounds above make this unreachable; if it happens anyway, it is a refusal.
        raise _fail(rule_id, None, f"condition too complex: {type(exc).__name__}") from None
    return CheckedCondition(text=text, function=function, nodes=nodes, depth=depth)


def compile_condition(
    text: str, *, rule_id: str, names: Iterable[str] = FEATURES
) -> Callable[[Mapping[str, Any]], bool]:
    """Validate `text` and compile it into `condition(features) -> bool`."""
    return check_condition(text, rule_id=rule_id, names=names).function
