"""Hostile rulesets: refused at load with a clear message, the previous version kept.

Every example the security review found (memory bombs through text or list
arithmetic, huge integers, a huge format width, YAML or expressions deep enough
to overflow the stack) is rejected, through `parse_ruleset` and through hot
reload; a rule that fails at evaluation is skipped and counted without
silencing the others.
"""

from __future__ import annotations

import logging
import os

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskflow.features.catalog import FEATURES, defaults
from riskflow.scoring.rules import bounded_yaml
from riskflow.scoring.rules import ruleset as ruleset_module
from riskflow.scoring.rules.bounded_yaml import MAX_YAML_DEPTH
from riskflow.scoring.rules.expr import (
    MAX_CONDITION_CHARS,
    MAX_DEPTH,
    MAX_ITEMS,
    MAX_NODES,
    RuleSyntaxError,
    compile_condition,
)
from riskflow.scoring.rules.reload import RulesetHolder
from riskflow.scoring.rules.ruleset import (
    DEFAULT_RULESET_PATH,
    MAX_FILE_BYTES,
    MAX_RULES,
    MAX_RULESET_NODES,
    RulesetError,
    load_ruleset,
    parse_ruleset,
)
from riskflow.scoring.rules.template import MAX_WIDTH, TemplateError, check_template


def rule(rid: str = "r1", condition: str = "amount > 10", **extra: object) -> dict:
    return {
        "id": rid,
        "description": "test rule",
        "condition": condition,
        "action": "review",
        "severity": "high",
        "reason": rid.upper(),
    } | extra


def ruleset_text(*rules: dict, version: str = "t1") -> str:
    # safe_dump quotes whatever the condition holds, so the text under test is exactly it.
    return yaml.safe_dump({"version": version, "rules": list(rules)}, width=10**9)


def nested_yaml(depth: int) -> str:
    return 'version: "deep"\nrules: []\nx: ' + "[" * depth + "]" * depth + "\n"


FEATURE_CHAIN = "pay_count_5m * " + " * ".join(["999999999999999"] * 30) + " > 1"

# (what, ruleset text, words the rejection must contain)
HOSTILE = [
    (
        "text from max() multiplied",
        ruleset_text(rule(condition="max('a', 'b') * 1000000000 == channel")),
        "max needs numbers, not text",
    ),
    (
        "text from if/else multiplied",
        ruleset_text(rule(condition="('a' if amount > 0 else 'b') * 1000000000 == channel")),
        "arithmetic needs numbers, not text",
    ),
    (
        "a list multiplied",
        ruleset_text(rule(condition="[0] * 1000000000 == channel")),
        "a list is only allowed as the right side of `in`",
    ),
    (
        "a text feature multiplied",
        ruleset_text(rule(condition="channel * 100000000 == 'x'")),
        "arithmetic needs numbers",
    ),
    (
        "a 4,000-digit integer",
        ruleset_text(rule(condition="9" * 4000 + " > amount")),
        f"longer than {MAX_CONDITION_CHARS} characters",
    ),
    (
        "a 1,500-digit integer",
        ruleset_text(rule(condition="9" * 1500 + " > amount")),
        "number literal larger than 1e+15",
    ),
    (
        "a constant chain folding to 135 digits",
        ruleset_text(rule(condition=" * ".join(["999999999"] * 15) + " > amount")),
        "constant arithmetic exceeds 1e+15",
    ),
    (
        "an integer feature times a chain of large constants",
        ruleset_text(rule(condition=FEATURE_CHAIN)),
        "integer arithmetic could grow beyond 2**256",
    ),
    (
        "a 300 MB format width",
        ruleset_text(rule(detail="{amount:>300000000}")),
        f"width is over {MAX_WIDTH}",
    ),
    (
        "a 10,000-deep unary chain",
        ruleset_text(rule(condition="-" * 10_000 + "amount > 1")),
        f"longer than {MAX_CONDITION_CHARS} characters",
    ),
    (
        "a 1,900-deep unary chain",
        ruleset_text(rule(condition="-" * 1900 + "amount > 1")),
        f"nested deeper than {MAX_DEPTH}",
    ),
    (
        "a long left-leaning sum",
        ruleset_text(rule(condition="+".join(["amount"] * 100) + " > 1")),
        f"nested deeper than {MAX_DEPTH}",
    ),
    (
        "parentheses 500 deep",
        ruleset_text(rule(condition="(" * 500 + "amount" + ")" * 500 + " > 1")),
        "brackets nested deeper than 16",
    ),
    (
        "YAML lists 10,000 deep",
        nested_yaml(10_000),
        "YAML nested deeper than 16 levels",
    ),
    (
        "YAML mappings 5,000 deep",
        'version: "deep"\nrules: []\nx: ' + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
        "YAML nested deeper than 16 levels",
    ),
    (
        "YAML aliases",
        'version: &v "x"\ndescription: *v\nrules: []\n',
        "YAML aliases",
    ),
    (
        "a file over the size bound",
        ruleset_text(rule(), version="big") + "#" * MAX_FILE_BYTES,
        f"larger than {MAX_FILE_BYTES}",
    ),
    (
        "one bad rule among good ones",
        ruleset_text(rule("good"), rule("bad", "channel < 'b'"), rule("also_good")),
        "only numbers can be ordered",
    ),
]


@pytest.mark.parametrize(("what", "text", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_ruleset_is_rejected_with_a_clear_message(what, text, message):
    with pytest.raises(RulesetError) as info:
        parse_ruleset(text, source="rules.yaml")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write(path, text: str | bytes, stamp: float) -> None:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    os.utime(path, (stamp, stamp))


GOOD = ruleset_text(rule("big", "amount > 100"), version="v1")


def holder_on(tmp_path) -> tuple[RulesetHolder, Clock, object]:
    path = tmp_path / "rules.yaml"
    write(path, GOOD, 1000)
    clock = Clock()
    return RulesetHolder(path, check_interval_s=1.0, clock=clock), clock, path


@pytest.mark.parametrize(("what", "text", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hot_reload_keeps_the_previous_ruleset_in_force(tmp_path, caplog, what, text, message):
    holder, clock, path = holder_on(tmp_path)
    write(path, text, 1001)
    clock.now = 1.5
    with caplog.at_level(logging.WARNING, logger="riskflow.scoring.rules.reload"):
        current = holder.current()
    assert current.version == "v1"
    assert [h.rule_id for h in current.evaluate(defaults() | {"amount": 500.0}, "payment")] == [
        "big"
    ]
    assert holder.rejected == 1 and holder.reloads == 0
    assert message in (holder.last_error or "")
    [record] = [r for r in caplog.records if r.name == "riskflow.scoring.rules.reload"]
    assert "\n" not in record.getMessage() and "keeping v1" in record.getMessage()


@pytest.mark.parametrize(
    ("what", "content", "message"),
    [
        ("not UTF-8", b"version: \xff\xfe\nrules: []\n", "not UTF-8"),
        ("over the size bound", b"#" * (MAX_FILE_BYTES + 1), f"larger than {MAX_FILE_BYTES}"),
    ],
)
def test_hot_reload_rejects_unreadable_files(tmp_path, what, content, message):
    holder, clock, path = holder_on(tmp_path)
    write(path, content, 1001)
    clock.now = 1.5
    assert holder.current().version == "v1"
    assert holder.rejected == 1 and message in (holder.last_error or "")


@pytest.mark.parametrize("error", [RecursionError, MemoryError, KeyError, AssertionError])
def test_an_unforeseen_exception_while_loading_is_a_rejection(tmp_path, monkeypatch, error):
    holder, clock, path = holder_on(tmp_path)

    def explode(text: str) -> object:
        raise error("unforeseen")

    monkeypatch.setattr(ruleset_module, "load_bounded", explode)
    write(path, ruleset_text(rule(), version="v2"), 1001)
    clock.now = 1.5
    assert holder.current().version == "v1"
    assert holder.rejected == 1
    assert error.__name__ in (holder.last_error or "")
    assert holder.replace_text(ruleset_text(rule(), version="v3")) is False
    assert holder.rejected == 2


def test_a_control_message_that_is_not_text_is_rejected(tmp_path):
    holder, _, _ = holder_on(tmp_path)
    assert holder.replace_text(None) is False  # type: ignore[arg-type]
    assert holder.version == "v1" and holder.rejected == 1


def test_too_many_rules_or_too_many_nodes_in_total_are_rejected():
    tiny = [rule(f"r{i}", "amount > 1") for i in range(MAX_RULES + 1)]
    with pytest.raises(RulesetError, match=f"more than {MAX_RULES} rules"):
        parse_ruleset(ruleset_text(*tiny))
    # 133 comparisons of three nodes each, plus the `or`: 400 nodes per rule.
    wide = " or ".join(["hour > 1"] * 133)
    per_rule = 400
    count = MAX_RULESET_NODES // per_rule + 1
    with pytest.raises(RulesetError, match=f"over {MAX_RULESET_NODES}"):
        parse_ruleset(ruleset_text(*(rule(f"w{i}", wide) for i in range(count))))
    parse_ruleset(ruleset_text(*(rule(f"w{i}", wide) for i in range(count - 1))))


def test_condition_node_bound():
    at_bound = " or ".join(["hour > 1"] * ((MAX_NODES - 1) // 3))
    compile_condition(at_bound, rule_id="wide")
    with pytest.raises(RuleSyntaxError, match="over 500 nodes"):
        compile_condition(at_bound + " or hour > 1", rule_id="wide")
    items = ", ".join(str(i) for i in range(MAX_ITEMS + 1))
    with pytest.raises(RuleSyntaxError, match=f"at most {MAX_ITEMS} items"):
        compile_condition(f"hour in ({items})", rule_id="long_list")


# --- what the type check refuses and still accepts -----------------------------------


@pytest.mark.parametrize(
    ("condition", "message"),
    [
        ("channel < 'b'", "only numbers can be ordered"),
        ("'a' in channel", "needs a literal list"),
        ("channel in ('atm', 1)", "may not mix text and numbers"),
        ("channel in (1, 2)", "with a list of another type"),
        ("channel == 1", "compares text with a number"),
        ("(channel or amount) == 'a'", "mixed type"),
        ("min(channel, 'a') == 'a'", "min needs numbers"),
        ("abs(channel) == 1", "abs needs numbers"),
        ("round(amount, 99) > 1", "digit count"),
        ("round(amount, hour) > 1", "digit count"),
        ("max(amount) > 1", "2 or more"),
        ("amount / 0 > 1", "division by zero"),
        ("amount % (2 - 2) > 1", "division by zero"),
        ("1e400 > amount", "number literal larger"),
        ("-channel == 'a'", "needs numbers"),
        ("hour in (1, 2) == true", "only allowed as the right side"),
        ("(1, 2)", "only allowed as the right side"),
        ("pay_count_5m * pay_count_1h * pay_count_24h * hour * hour > 3", "2**256"),
        ("amount ~ 1", "syntax error"),
        ("~hour > 1", "Invert is not allowed"),
        ("'\x00' == channel", "null bytes"),
        (r"device_id == 'C:\d'", "invalid escape sequence"),
    ],
)
def test_type_check_refuses(condition, message):
    with pytest.raises(RuleSyntaxError) as info:
        compile_condition(condition, rule_id="typed")
    assert message in str(info.value) and "typed" in str(info.value)


@pytest.mark.parametrize(
    ("condition", "features", "expected"),
    [
        ("channel in ['atm', 'pos']", {"channel": "pos"}, True),
        ("hour in (-1, 2, 3)", {"hour": 2}, True),
        ("is_new_payee + is_new_device >= 2", {"is_new_payee": True, "is_new_device": True}, True),
        ("round(amount) == 2", {"amount": 2.5}, True),  # banker's rounding, as in Python
        ("round(amount) * 2 == 8", {"amount": 3.5}, True),
        ("round(pay_count_5m, -1) == 10", {"pay_count_5m": 7}, True),
        ("(channel or 'none') == 'none'", {"channel": ""}, True),
        ("channel != None", {}, True),
        ("pay_count_5m * pay_count_1h * pay_count_24h * hour > 3", {"hour": 1}, False),
        ("amount > 1e9 * 1e5", {"amount": 2e14}, True),
        ("amount > 2 * 3 - 1", {"amount": 6.0}, True),
        ("(amount if is_night else 'off')", {"is_night": False}, True),
    ],
)
def test_type_check_still_accepts(condition, features, expected):
    assert compile_condition(condition, rule_id="ok")(defaults() | features) is expected


@pytest.mark.parametrize(
    "template", ["{amount:.2f}", "{amount:,.0f}", "{hour:02d}", "{channel:>10}"]
)
def test_plain_format_specs_are_accepted(template):
    check_template("ok", template)


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{amount:>300000000}", "width is over"),
        ("{amount:>33}", "width is over"),
        ("{amount:.13f}", "precision is over"),
        ("{amount:.99999999f}", "precision is over"),
        ("{amount:x<30}", "not a plain one"),
        ("{amount:{hour}}", "nested placeholders"),
        ("{amount!r}", "conversion"),
        ("{channel:.2f}", "Unknown format code"),
        ("{amount:d}", "Unknown format code"),
        ("{amount.real}", "not a feature"),
        ("{}", "not a feature"),
        ("{amount} " * 17, "over 16 fields"),
        ("x" * 501, "longer than 500"),
        ("{amount", "detail template"),
    ],
)
def test_unbounded_or_unsafe_format_specs_are_refused(template, message):
    with pytest.raises(TemplateError) as info:
        check_template("fmt", template)
    assert message in str(info.value)


# --- evaluation: one failing rule never takes others down ----------------------------


def test_a_rule_raising_at_evaluation_is_skipped_counted_and_others_fire(tmp_path):
    path = tmp_path / "rules.yaml"
    text = ruleset_text(
        # pay_count_5m can be 0 (a login, a first payment): the division raises then.
        rule("ratio", "amount / pay_count_5m > 100"),
        rule("big", "amount > 100"),
        rule("night", "is_night", detail="{amount:,.2f} at night"),
        version="v1",
    )
    write(path, text, 1000)
    clock = Clock()
    holder = RulesetHolder(path, clock=clock)
    rs = holder.current()

    hits = rs.evaluate(defaults() | {"amount": 500.0, "pay_count_5m": 0}, "payment")
    assert [h.rule_id for h in hits] == ["big"]
    assert rs.errors == {"ratio": 1} and rs.evaluation_errors == 1

    hits = rs.evaluate(defaults() | {"amount": 500.0, "pay_count_5m": 2}, "payment")
    assert [h.rule_id for h in hits] == ["ratio", "big"]
    assert rs.evaluation_errors == 1

    # A feature of the wrong type at run time: the detail falls back to the description.
    hits = rs.evaluate(defaults() | {"amount": "lots", "is_night": True}, "payment")
    night = [h for h in hits if h.rule_id == "night"]
    assert night and night[0].detail == "test rule"
    # The text amount also breaks both arithmetic rules for this event.
    assert rs.errors == {"ratio": 2, "big": 1, "night": 1}

    # A feature vector missing a feature: every rule reading it is skipped, nothing raises.
    assert rs.evaluate({"is_night": False}, "payment") == []
    assert rs.errors == {"ratio": 3, "big": 2, "night": 1}
    assert holder.evaluation_errors == rs.evaluation_errors == 6

    # Counts survive a reload on the holder; the new version starts its own.
    assert holder.replace_text(ruleset_text(rule("big", "amount > 100"), version="v2"))
    assert holder.current().evaluation_errors == 0
    assert holder.evaluation_errors == 6


# --- property: random token soup loads or is refused with the loader's error ---------

TOKENS = [
    *sorted(FEATURES)[:12],
    "channel",
    "amount",
    "hour",
    "nope",
    "0",
    "1",
    "2.5",
    "1e308",
    "999999999999999999",
    "'atm'",
    "'x'",
    '""',
    "true",
    "false",
    "None",
    "+",
    "-",
    "*",
    "/",
    "//",
    "%",
    "**",
    "<",
    "<=",
    "==",
    "!=",
    ">",
    "in",
    "not",
    "and",
    "or",
    "if",
    "else",
    "is",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    ".",
    "abs",
    "min",
    "max",
    "round",
    "lambda",
    "__class__",
    "=",
    ":=",
    ";",
    "\\",
    "'",
    "\x00",
]
token_soup = st.lists(st.sampled_from(TOKENS), min_size=0, max_size=16).map(" ".join)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=token_soup)
def test_random_token_strings_load_or_are_refused_with_the_loaders_error(text):
    try:
        compile_condition(text, rule_id="soup")
    except RuleSyntaxError:
        return
    # Loaded: inside a ruleset, evaluating it never raises, whatever it meets.
    rs = parse_ruleset(ruleset_text(rule("soup", text), rule("fine", "hour >= 0")))
    for features in (defaults(), defaults() | {"amount": 0.0, "hour": 0}):
        assert "fine" in [h.rule_id for h in rs.evaluate(features, "payment")]


RAW_RULE = """version: v
rules:
  - id: r
    description: d
    action: review
    severity: high
    reason: R
    condition: {}
"""


@settings(max_examples=200, deadline=None)
@given(text=token_soup.map(RAW_RULE.format))
def test_random_ruleset_text_raises_only_ruleset_error(text):
    # Unquoted in the YAML, so the tokens reach the YAML parser as well as the expression's.
    try:
        rs = parse_ruleset(text)
    except RulesetError as exc:
        assert "\n" not in str(exc)
    else:
        assert [r.id for r in rs.rules] == ["r"]


@settings(max_examples=100, deadline=None)
@given(depth=st.integers(min_value=0, max_value=3000), kind=st.sampled_from("[{"))
def test_yaml_of_any_depth_loads_or_is_refused(depth, kind):
    body = "[" * depth + "]" * depth if kind == "[" else "{a: " * depth + "1" + "}" * depth
    text = f'version: "v"\nrules: []\nextra: {body}\n'
    with pytest.raises(RulesetError) as info:
        parse_ruleset(text)
    # The top mapping is one level: past the bound, the depth check speaks first.
    too_deep = depth + 1 > MAX_YAML_DEPTH
    assert ("YAML nested deeper" in str(info.value)) is too_deep
    assert too_deep or "unknown field" in str(info.value)


def test_the_default_ruleset_still_loads_within_every_bound():
    rs = load_ruleset(DEFAULT_RULESET_PATH)
    assert len(rs.rules) == 25  # device_failures_across_accounts, ..., fan_in_payee
    assert sum(r.nodes for r in rs.rules) <= MAX_RULESET_NODES
    assert all(0 < r.nodes <= MAX_NODES for r in rs.rules)


@pytest.mark.parametrize("loader", ["SafeLoader", "CSafeLoader"])
@pytest.mark.parametrize("depth", [17, 5000])
def test_python_and_libyaml_loaders_refuse_deep_yaml_alike(monkeypatch, loader, depth):
    if not hasattr(yaml, loader):
        pytest.skip(f"PyYAML built without {loader}")
    monkeypatch.setattr(bounded_yaml, "_LOADER", getattr(yaml, loader))
    with pytest.raises(RulesetError, match="YAML nested deeper than 16 levels"):
        parse_ruleset(nested_yaml(depth))
    assert parse_ruleset(GOOD).version == "v1"
