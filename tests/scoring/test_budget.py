"""Review thresholds from each branch's daily alert capacity."""

from __future__ import annotations

from riskflow.scoring.budget import AlertBudget
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


def test_a_worker_budgets_its_share_of_the_branch():
    assert AlertBudget(40, share=0.25).budget == 10


def test_the_policy_uses_the_derived_bar_for_score_driven_reviews_only():
    policy = Policy(review_budget_per_branch_day=3)
    assert policy.action(0.62, [], review=0.65) == "challenge"  # over 0.60, under the bar
    assert policy.action(0.66, [], review=0.65) == "review"
    assert policy.action(0.95, [], review=0.99) == "block"  # blocks are never budgeted
