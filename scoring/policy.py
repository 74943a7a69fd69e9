"""The decision policy: from a score and rule hits to one action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal, cast

from riskflow.contract.messages import Action
from riskflow.scoring.rules.ruleset import RuleHit

__all__ = ["ACTIONS", "ACTION_RANK", "Policy"]

ACTIONS: Final[tuple[Action, ...]] = ("allow", "challenge", "review", "block")
ACTION_RANK: Final[dict[str, int]] = {a: i for i, a in enumerate(ACTIONS)}


@dataclass(frozen=True, slots=True)
class Policy:
    """Score thresholds per action; a rule's own action is a floor the score cannot lower."""

    challenge: float = 0.03
    """The score is a calibrated probability of fraud: a step-up costs the customer a few
    seconds, so it is asked from 3% up (on the own bank: 1.26% of payments, 69% of fraud)."""
    review: float = 0.60
    block: float = 0.90
    combine: Literal["both", "model"] = "both"
    """both: rules and model as independent evidence, rule actions and deny lists as floors.
    model: while a model is warm, its probability alone is the score and sets the action
    (rules and lists still give reasons) — what the model would do alone, for backtests."""
    review_budget_per_branch_day: int | None = None
    """If set, each branch's review threshold is derived from this many alerts a day
    (see `scoring.budget`) instead of `review`: the whole branch's capacity, however many
    processes run (the flow budgets each branch in one place)."""

    def __post_init__(self) -> None:
        if not 0 < self.challenge <= self.review <= self.block <= 1:
            raise ValueError("policy thresholds must satisfy 0 < challenge <= review <= block <= 1")

    def by_score(self, score: float, review: float | None = None) -> Action:
        if score >= self.block:
            return "block"
        if score >= (self.review if review is None else review):
            return "review"
        if score >= self.challenge:
            return "challenge"
        return "allow"

    def action(self, score: float, hits: list[RuleHit], review: float | None = None) -> Action:
        chosen = self.by_score(score, review)
        for hit in hits:
            if ACTION_RANK[hit.action] > ACTION_RANK[chosen]:
                chosen = cast(Action, hit.action)
        return chosen
