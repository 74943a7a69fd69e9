"""The rule expression language: what compiles, what is refused, and that it computes right."""

from __future__ import annotations

import ast
import operator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskflow.features.catalog import defaults
from riskflow.scoring.rules.expr import RuleSyntaxError, compile_condition, names_in


def run(text: str, **features) -> bool:
    return compile_condition(text, rule_id="t")(defaults() | features)


def test_accepted_constructs_evaluate_correctly():
    assert run("amount > 100 and channel == 'online'", amount=150.0, channel="online")
    assert not run("amount > 100 and channel == 'online'", amount=150.0, channel="atm")
    assert run("channel in ('atm', 'pos')", channel="pos")
    assert run("channel not in ['atm', 'pos']", channel="mobile")
    assert run("not is_new_device or amount / 2 >= 10", is_new_device=True, amount=20.0)
    assert run("abs(amount_zscore) > 3", amount_zscore=-4.0)
    assert run("max(pay_count_5m, pay_count_1h) == 7", pay_count_5m=2, pay_count_1h=7)
    assert run("(amount if is_night else 0) > 5", is_night=True, amount=6.0)
    assert run("1 < hour <= 5", hour=5)
    assert run("amount % 100 == 0 and -amount < 0", amount=300.0)
    assert run("is_night == true", is_night=True)


@pytest.mark.parametrize(
    "condition",
    [
        "().__class__",
        "amount.__class__",
        "__import__('os')",
        "open('/etc/passwd')",
        "eval('1')",
        "features['amount']",
        "amount[0]",
        "(lambda: 1)()",
        "[x for x in (1, 2)]",
        "{x: 1 for x in (1,)}",
        "9 ** 9 ** 9",
        "amount ** 2 > 1",
        "(y := 1)",
        "f'{amount}'",
        "unknown_feature > 1",
        "__builtins__",
        "max(*(1, 2))",
        "round(amount, ndigits=2) > 1",
        "amount << 2",
        "amount > 1; amount < 2",
        "",
        "amount >",
        "amount is None",
        "b'bytes' == channel",
        "channel in (channel, 'x')",
        "'x' * 10000000 == channel",
        "channel * 100000000 == 'x'",
    ],
)
def test_unsafe_or_invalid_conditions_are_refused(condition):
    with pytest.raises(RuleSyntaxError) as info:
        compile_condition(condition, rule_id="evil")
    assert "evil" in str(info.value)


def test_compiled_rule_has_no_builtins():
    rule = compile_condition("amount > 1", rule_id="t")
    assert rule.__globals__["__builtins__"] == {}


def test_names_in_lists_features_only():
    assert names_in("amount > max(pay_sum_1h, 3) and is_night == true") == {
        "amount",
        "pay_sum_1h",
        "is_night",
    }


# --- property test against a reference interpreter -------------------------

NUMERIC = ["amount", "amount_zscore", "pay_count_5m", "travel_kmh"]
BOOLEAN = ["is_night", "is_new_payee", "hour_unusual"]
CMP = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq}


def reference(node: ast.AST, f: dict) -> object:
    """A deliberately naive tree walker: the meaning the compiler must preserve."""
    if isinstance(node, ast.Expression):
        return reference(node.body, f)
    if isinstance(node, ast.BoolOp):
        values = [bool(reference(v, f)) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        operand = reference(node.operand, f)
        return -operand if isinstance(node.op, ast.USub) else not operand
    if isinstance(node, ast.Compare):
        left = reference(node.left, f)
        for op, comp in zip(node.ops, node.comparators, strict=True):
            right = reference(comp, f)
            fn = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt}.get(type(op))
            fn = fn or {ast.GtE: operator.ge, ast.Eq: operator.eq}[type(op)]
            if not fn(left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BinOp):
        a, b = reference(node.left, f), reference(node.right, f)
        return {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul}[
            type(node.op)
        ](a, b)
    if isinstance(node, ast.Name):
        return f[node.id]
    if isinstance(node, ast.Constant):
        return node.value
    raise AssertionError(type(node))


numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
atoms = st.one_of(
    st.builds(
        lambda n, op, c: f"{n} {op} {c!r}",
        st.sampled_from(NUMERIC),
        st.sampled_from(sorted(CMP)),
        numbers,
    ),
    st.builds(
        lambda a, op, b, c: f"{a} {op} {b} > {c!r}",
        st.sampled_from(NUMERIC),
        st.sampled_from(["+", "-", "*"]),
        st.sampled_from(NUMERIC),
        numbers,
    ),
    st.sampled_from(BOOLEAN),
)
conditions = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        st.builds(lambda a: f"not ({a})", inner),
    ),
    max_leaves=6,
)
feature_values = st.fixed_dictionaries(
    {name: numbers for name in NUMERIC} | {name: st.booleans() for name in BOOLEAN}
)


@settings(max_examples=400, deadline=None)
@given(text=conditions, values=feature_values)
def test_compiled_condition_matches_reference_interpreter(text, values):
    features = defaults() | values
    compiled = compile_condition(text, rule_id="prop")
    expected = bool(reference(ast.parse(text, mode="eval"), features))
    assert compiled(features) is expected
