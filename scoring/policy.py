"""The decision policy: from a score and rule hits to one action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, cast

from contract.messages import Action
from scoring.rules.ruleset import RuleHit

__all__ = ["ACTIONS", "ACTION_RANK", "Policy"]

ACTIONS: Final[tuple[Action, ...]] = ("allow", "challenge", "review", "block")
ACTION_RANK: Final[dict[str, int]] = {a: i for i, a in enumerate(ACTIONS)}


@dataclass(frozen=True, slots=True)
class Policy:
    """Score thresholds per action; a rule's own action is a floor the score cannot lower."""

    challenge: float = 0.30
    review: float = 0.60
    block: float = 0.90

    def __post_init__(self) -> None:
        if not 0 < self.challenge <= self.review <= self.block <= 1:
            raise ValueError("policy thresholds must satisfy 0 < challenge <= review <= block <= 1")

    def by_score(self, score: float) -> Action:
        if score >= self.block:
            return "block"
        if score >= self.review:
            return "review"
        if score >= self.challenge:
            return "challenge"
        return "allow"

    def action(self, score: float, hits: list[RuleHit]) -> Action:
        chosen = self.by_score(score)
        for hit in hits:
            if ACTION_RANK[hit.action] > ACTION_RANK[chosen]:
                chosen = cast(Action, hit.action)
        return chosen
