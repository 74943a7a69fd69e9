"""Review thresholds from each branch's daily alert capacity."""

from __future__ import annotations

import itertools

import msgspec
from bytewax.operators import StatefulBatchLogic

from riskflow.scoring.budget import AlertBudget, BranchBudget, budget_logic
from riskflow.scoring.policy import Policy


def test_todays_bar_is_yesterdays_nth_best_candidate_per_branch():
    budget = AlertBudget(3, floor=0.3)
    assert budget.threshold("BR1", 1) is None  # no history on the first day
    for score in (0.35, 0.9, 0.5, 0.7, 0.2, 0.65, 0.4):
        budget.observe("BR1", 1, score)
    budget.observe("BR2", 1, 0.99)
    assert budget.threshold("BR1", 2) == 0.65  # 0.9, 0.7, 0.65 would have filled the day
    assert budget.threshold("BR2", 2) == 0.3  # a quiet branch: everything above the floor
    budget.observe("BR1", 2, 0.31)
    assert budget.threshold("BR1", 3) == 0.3  # one candidate on day 2: under capacity
    assert budget.threshold("BR1", 5) == 0.3  # after a day without events: the floor


def test_a_late_candidate_of_yesterday_still_counts_towards_todays_bar():
    # Several processes deliver a little out of order around midnight.
    budget = BranchBudget()
    for score in (0.9, 0.8):
        budget.observe(1, score, 3, 0.3)
    assert budget.threshold(2, 3, 0.3) == 0.3  # two of three so far: under capacity
    budget.observe(1, 0.7, 3, 0.3)  # yesterday's third candidate, arriving today
    assert budget.threshold(2, 3, 0.3) == 0.7
    budget.observe(3, 0.5, 3, 0.3)  # day 3 began...
    assert budget.threshold(2, 3, 0.3) == 0.7  # ...and a late event of day 2 keeps its bar
    assert budget.threshold(1, 3, 0.3) is None  # the branch's first day has none
    budget.observe(5, 0.9, 3, 0.3)  # day 5: only days 3 to 5 are kept
    assert sorted(budget.heaps) == [3, 5]


def test_the_bar_does_not_depend_on_the_order_of_a_days_candidates():
    scores = [0.95, 0.4, 0.81, 0.33, 0.77, 0.5]
    bars = set()
    for order in itertools.permutations(scores):
        budget = BranchBudget()
        for s in order:
            budget.observe(1, s, 3, 0.3)
        bars.add(budget.threshold(2, 3, 0.3))
    assert bars == {0.77}


def test_the_budget_step_bars_each_item_in_event_time_order_and_its_snapshot_restores():
    build = budget_logic(
        2,
        0.3,
        order=lambda item: (item[0] * 86400.0 + item[1], ""),
        day_and_score=lambda item: (item[0], item[2]),
        with_bar=lambda item, bar: (*item[:3], bar),
    )
    logic = build(None)
    out, keep = logic.on_batch([(1, 20.0, 0.6, None), (1, 10.0, 0.9, None), (2, 5.0, 0.5, None)])
    assert keep is StatefulBatchLogic.RETAIN
    # In event-time order: day 1 has no bar; day 2's is the 2nd best of 0.9 and 0.6.
    assert [bar for *_, bar in out] == [None, None, 0.6]
    restored = build(logic.snapshot())
    assert msgspec.structs.asdict(restored.state) == msgspec.structs.asdict(logic.state)
    later, _ = restored.on_batch([(2, 9.0, 0.95, None), (3, 1.0, 0.4, None)])
    # Day 2's candidates were 0.5 and 0.95: the budget of two is full, the bar is the 2nd best.
    assert [bar for *_, bar in later] == [0.6, 0.5]


def test_a_hostile_item_gets_the_policys_bar_and_the_step_goes_on():
    def day_and_score(item):
        if item == "broken":
            raise ValueError("no timestamp")
        return item

    errors = []
    build = budget_logic(
        1,
        0.3,
        order=lambda _: (0.0, ""),
        day_and_score=day_and_score,
        with_bar=lambda i, b: b,
        on_error=lambda step, error: errors.append((step, error)),
    )
    logic = build(None)
    out, _ = logic.on_batch([(1, float("nan")), "broken", (1, 0.9), (2, 0.5)])
    assert errors == [("budget", "ValueError")]  # counted
    assert out == [None, None, None, 0.9]  # the NaN did not displace 0.9 as day 1's best


def test_the_policy_uses_the_derived_bar_for_score_driven_reviews_only():
    policy = Policy(review_budget_per_branch_day=3)
    assert policy.action(0.62, [], review=0.65) == "challenge"  # over 0.60, under the bar
    assert policy.action(0.66, [], review=0.65) == "review"
    assert policy.action(0.95, [], review=0.99) == "block"  # blocks are never budgeted
