"""The learner as a bytewax stateful step: every label goes to one key, `learner`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bytewax.operators import StatefulBatchLogic

from riskflow.contract.messages import DeadLetter, Feedback
from riskflow.scoring.models.learning import Learned, Learner

__all__ = ["LearnerLogic", "learner_logic"]

_RETRY = timedelta(seconds=1)


class LearnerLogic(StatefulBatchLogic[Feedback, Learned | DeadLetter, bytes]):
    def __init__(self, learner: Learner) -> None:
        self.learner = learner

    def _run(self, labels: list[Feedback]) -> tuple[list[Learned | DeadLetter], bool]:
        learned, dead = self.learner.on_batch(labels)
        return [*learned, *dead], StatefulBatchLogic.RETAIN

    def on_batch(self, values: list[Feedback]) -> tuple[list[Learned | DeadLetter], bool]:
        return self._run(values)

    def notify_at(self) -> datetime | None:
        # Labels waiting for their event are retried while the flow runs ...
        return datetime.now(UTC) + _RETRY if self.learner.state.pending else None

    def on_notify(self) -> tuple[list[Learned | DeadLetter], bool]:
        return self._run([])

    def on_eof(self) -> tuple[list[Learned | DeadLetter], bool]:
        # ... and once more when a replay ends, when every event has been decided: a label
        # still waiting then will never find its event, and is dead-lettered, not kept.
        out, keep = self._run([])
        return [*out, *self.learner.give_up_waiting()], keep

    def snapshot(self) -> bytes:
        return self.learner.snapshot()


def learner_logic(make: Callable[[], Learner]) -> Callable[[bytes | None], LearnerLogic]:
    def build(snapshot: bytes | None) -> LearnerLogic:
        learner = make()
        if snapshot is not None:
            learner.restore(snapshot)
        return LearnerLogic(learner)

    return build
