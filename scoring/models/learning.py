"""The learner: labels joined to what their decisions saw, learned in label-time order.

Labels are far fewer than events, so one learner per model serves the whole
flow; it publishes a snapshot every `every_labels` labels or `every_s` seconds
of label time, and scoring workers swap to it. A label is only ever joined to
the features logged when its event was decided; one that comes before its
event, or whose event is never seen, is dead-lettered, never used early.
"""

from __future__ import annotations

import dataclasses
import logging
import pickle
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import msgspec

from riskflow.connectors.metrics import observe_snapshot_refused
from riskflow.contract.messages import DeadLetter, Feedback
from riskflow.scoring.models.bundle import ModelBundle, Snapshot, SnapshotError
from riskflow.scoring.models.counterparties import CounterpartyStats
from riskflow.scoring.models.featurelog import FeatureLog, LoggedEvent, decode
from riskflow.scoring.models.store import ModelStore

__all__ = ["Learned", "Learner", "LearnerConfig"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LearnerConfig:
    champion: str = "champion"
    challenger: str | None = "challenger"
    every_labels: int = 1000
    every_s: float = 3600.0
    hold_s: float = 3600.0
    """How long (label time) a label waits for its event before it is dead-lettered."""
    hold_wall_s: float | None = None
    """Live input: a label also waits this long in wall-clock seconds, because labels read
    ahead of a backlog of events (after downtime, say) would otherwise be given up on."""
    learning_rate: float = 0.01
    """The champion's classifier step size when it starts from nothing."""
    challenger_learning_rate: float = 0.005
    recipe: str = "logistic"
    fraud_label_share: float = 1.0
    legit_label_share: float | None = None
    """None: estimated from the stream (`scoring.models.label_rates`)."""
    counterparty_slots: int = 0
    """Size of the champion's counterparty table (0 when no counterparty is a model input)."""
    session_logins_cap: int = 100_000
    """Most session logins remembered as already labelled through a payment."""
    feedback_source: str = "risk.feedback"
    """Where labels come from (the feedback topic, or file, as configured): the
    `source_topic` of a label's dead letter."""


@dataclass(frozen=True, slots=True)
class Learned:
    """One label learned, with what each model predicted for it just before (prequential)."""

    event_type: str
    fraud: bool
    delay_s: float
    champion: str
    champion_score: float | None
    challenger: str | None = None
    challenger_score: float | None = None
    action: str = ""
    """What was decided about the labelled event ("" for records logged before it was kept)."""
    branch_id: str = ""
    """The branch alerted, if the event raised an alert."""
    rule_ids: tuple[str, ...] = ()
    event_id: str = ""
    account_id: str = ""
    """The labelled event's account: the victim of a fraud label."""
    parties: tuple[str, ...] = ()
    """The labelled event's counterparties (`payee:X`, ...), as logged with its decision."""
    labelled_at: float = 0.0
    """The label's time."""


@dataclass
class _State:
    champion: ModelBundle
    challenger: ModelBundle | None
    pending: list[Feedback] = field(default_factory=list)
    since_publish: int = 0
    last_publish_at: float = 0.0
    published: str = ""
    session_labelled: OrderedDict[str, None] = field(default_factory=OrderedDict)
    """Logins already labelled through a payment of their session (each learned once)."""


class _SnapData(msgspec.Struct, array_like=True):
    version: str
    as_of: float
    blob: bytes

    def load(self) -> ModelBundle:
        return Snapshot(self.version, self.as_of, self.blob).load()


class _StateData(msgspec.Struct, kw_only=True):
    """The learner's recovery state; fields added later need defaults."""

    format: int = 1
    champion: _SnapData
    challenger: _SnapData | None = None
    pending: list[bytes] = []
    """Each waiting label as JSON, as read: its time keeps its offset for dead letters."""
    since_publish: int = 0
    last_publish_at: float = 0.0
    published: str = ""
    session_labelled: list[str] = []


_STATE_MAGIC: Final = b"riskflow learner state\x00"
"""Precedes the data form, told apart from the pickles earlier versions saved."""
_state_encoder: Final = msgspec.msgpack.Encoder()


def _dead(fb: Feedback, source: str, reason: str, error: str) -> DeadLetter:
    # The label's offset is not kept while it waits: its payload (event_id and ts) finds it.
    return DeadLetter(
        reason=reason,
        error=error,
        source_topic=source,
        source_partition=None,
        source_offset=None,
        payload=msgspec.json.encode(fb).decode(),
        payload_encoding="utf-8",
        ts=fb.ts.isoformat(),
    )


class Learner:
    def __init__(
        self,
        store: ModelStore,
        features: FeatureLog,
        cfg: LearnerConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.features = features
        self.cfg = cfg
        self.clock = clock
        self.state = _State(self._resume(cfg.champion), self._challenger())
        self._waiting: dict[str, float] = {}
        """Wall-clock time each label first waited for its event (live input only)."""
        self._not_adopted: tuple[str, float] | None = None

    def _challenger(self) -> ModelBundle | None:
        if self.cfg.challenger is None:
            return None
        resumed = self._resume(self.cfg.challenger)
        if resumed.labels == 0:
            # The challenger reads the champion's counterparty rates (the scorer adds them to
            # the vector both score), so it keeps no table of its own.
            resumed = self._fresh(self.cfg.challenger, self.cfg.challenger_learning_rate, 0)
        return resumed

    def _resume(self, name: str) -> ModelBundle:
        """Continue from the newest published snapshot: a restart loses no learning."""
        newest = self.store.newest(name)
        if newest is not None:
            for snap in reversed(self.store.since(name, -1.0)):
                try:
                    return snap.load()
                except SnapshotError as exc:
                    observe_snapshot_refused(exc.reason)
                    log.error("skipping model snapshot: %s (%s)", exc, exc.reason)
        return self._fresh(name, self.cfg.learning_rate, self.cfg.counterparty_slots)

    def _fresh(self, name: str, learning_rate: float, slots: int) -> ModelBundle:
        cfg = self.cfg
        return ModelBundle(
            name=name,
            learning_rate=learning_rate,
            recipe=cfg.recipe,
            fraud_label_share=cfg.fraud_label_share,
            legit_label_share=cfg.legit_label_share,
            counterparties=CounterpartyStats(slots),
        )

    def snapshot(self) -> bytes:
        """The learner's recovery state: its models in the snapshot format, as data."""
        state = self.state
        champion = state.champion.to_snapshot()
        challenger = state.challenger.to_snapshot() if state.challenger is not None else None
        if champion.blob is None or (challenger is not None and challenger.blob is None):
            # A forest is not expressible as data: its recovery state stays a pickle (the
            # recovery directory is private to the flow's user, docs/operations.md).
            return pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
        data = _StateData(
            champion=_SnapData(champion.version, champion.as_of, champion.blob),
            challenger=(
                _SnapData(challenger.version, challenger.as_of, challenger.blob or b"")
                if challenger is not None
                else None
            ),
            pending=[msgspec.json.encode(fb) for fb in state.pending],
            since_publish=state.since_publish,
            last_publish_at=state.last_publish_at,
            published=state.published,
            session_labelled=list(state.session_labelled),
        )
        return _STATE_MAGIC + _state_encoder.encode(data)

    def restore(self, blob: bytes) -> None:
        if blob.startswith(_STATE_MAGIC):
            data = msgspec.msgpack.decode(blob[len(_STATE_MAGIC) :], type=_StateData)
            self.state = _State(
                data.champion.load(),
                data.challenger.load() if data.challenger is not None else None,
                pending=[msgspec.json.decode(fb, type=Feedback) for fb in data.pending],
                since_publish=data.since_publish,
                last_publish_at=data.last_publish_at,
                published=data.published,
                session_labelled=OrderedDict.fromkeys(data.session_labelled),
            )
            return
        # Saved by an earlier version, or a forest's.
        state = pickle.loads(blob)
        if not hasattr(state, "session_labelled"):  # state saved before sessions were labelled
            state.session_labelled = OrderedDict()
        self.state = state

    def _adopt_promotion(self) -> None:
        newest = self.store.newest(self.cfg.champion)
        if newest is None or not self.state.published or newest[0] == self.state.published:
            return
        if newest == self._not_adopted:
            return  # refused once already: not read again on every batch
        # Someone promoted a challenger: keep learning from the promoted model.
        for snap in reversed(self.store.since(self.cfg.champion, -1.0)):
            if snap.version == newest[0]:
                try:
                    self.state.champion = snap.load()
                except SnapshotError as exc:
                    observe_snapshot_refused(exc.reason)
                    log.error("not adopting model snapshot: %s (%s)", exc, exc.reason)
                    break
                self.state.published = snap.version
                return
        # Refused by the store or unreadable: keep learning on the model in hand.
        self._not_adopted = newest

    def _waited_out(self, fb: Feedback, label_time_waited: float) -> bool:
        if label_time_waited < self.cfg.hold_s:
            return False
        if self.cfg.hold_wall_s is None:
            return True
        now = self.clock()
        since = self._waiting.setdefault(fb.event_id, now)
        if now - since < self.cfg.hold_wall_s:
            return False
        del self._waiting[fb.event_id]
        return True

    def _start_waiting(
        self, labels: list[Feedback], records: list[bytes | None], newest_label: float
    ) -> None:
        """Start the wall clock of the labels queued behind one still waiting.

        Otherwise each label whose event never comes would start its `hold_wall_s` only once
        the one ahead of it has gone: a hundred of them would hold up learning for a hundred
        times that wait.
        """
        if self.cfg.hold_wall_s is None:
            return
        now = self.clock()
        for fb, blob in zip(labels, records, strict=True):
            if blob is None and newest_label - fb.ts.timestamp() >= self.cfg.hold_s:
                self._waiting.setdefault(fb.event_id, now)

    def on_batch(self, labels: list[Feedback]) -> tuple[list[Learned], list[DeadLetter]]:
        """Learn labels strictly in label-time order; stop at the first whose event is missing.

        Order and snapshot points depend only on the labels, never on how the stream was cut
        into batches, so the same labels always give the same snapshots.
        """
        state = self.state
        self._adopt_promotion()
        queue = sorted(state.pending + labels, key=lambda fb: (fb.ts, fb.event_id))
        records = self.features.get_many([fb.event_id for fb in queue])
        newest_label = max((fb.ts.timestamp() for fb in queue), default=0.0)
        learned: list[Learned] = []
        dead: list[DeadLetter] = []
        state.pending = []
        for i, (fb, blob) in enumerate(zip(queue, records, strict=True)):
            at = fb.ts.timestamp()
            if blob is None:
                if self._waited_out(fb, newest_label - at):
                    dead.append(
                        _dead(
                            fb,
                            self.cfg.feedback_source,
                            "feedback_unmatched",
                            "no decision logged for event_id",
                        )
                    )
                    continue
                # Its event may not be decided yet: wait, and keep every later label waiting too.
                state.pending = queue[i:]
                self._start_waiting(queue[i + 1 :], records[i + 1 :], newest_label)
                break
            self._waiting.pop(fb.event_id, None)
            try:
                record = decode(blob)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                # A record from another version, or damaged in the store: never fatal.
                dead.append(
                    _dead(fb, self.cfg.feedback_source, "feedback_record_unreadable", str(exc))
                )
                continue
            if record.ts > at:
                dead.append(
                    _dead(
                        fb,
                        self.cfg.feedback_source,
                        "feedback_before_event",
                        "label is older than its event",
                    )
                )
                continue
            if not state.last_publish_at:
                state.last_publish_at = at  # label time starts with the first label
            if state.since_publish and at - state.last_publish_at >= self.cfg.every_s:
                self.publish(at)
            learned.append(
                dataclasses.replace(
                    self._learn(record, fb.label == "fraud", at),
                    event_id=fb.event_id,
                    account_id=record.account_id,
                    parties=tuple(record.parties),
                    labelled_at=at,
                )
            )
            if record.session_login:
                self._learn_session(record.session_login, fb.label == "fraud", at)
            if state.since_publish >= self.cfg.every_labels:
                self.publish(at)
        return learned, dead

    def give_up_waiting(self) -> list[DeadLetter]:
        """Dead-letter every label still waiting for its event (the input has ended)."""
        waiting, self.state.pending = self.state.pending, []
        self._waiting.clear()
        return [
            _dead(
                fb,
                self.cfg.feedback_source,
                "feedback_unmatched",
                "no decision logged for event_id",
            )
            for fb in waiting
        ]

    def _learn_session(self, login_id: str, fraud: bool, at: float) -> None:
        """A payment's label also labels the login that opened its session, once: banks
        label money, and the login head would otherwise never warm."""
        done = self.state.session_labelled
        if login_id in done:
            return
        (blob,) = self.features.get_many([login_id])
        if blob is None:
            return
        try:
            record = decode(blob)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return
        if record.event_type != "login" or record.ts > at:
            return
        done[login_id] = None
        while len(done) > self.cfg.session_logins_cap:
            done.popitem(last=False)
        self._learn(record, fraud, at, derived=True)

    def _learn(
        self, record: LoggedEvent, fraud: bool, at: float, *, derived: bool = False
    ) -> Learned:
        state = self.state
        champ, challenger = state.champion, state.challenger
        # Versions as they predicted: prequential metrics belong to the model before the label.
        versions = (champ.version, challenger.version if challenger else None)
        args = (
            record.event_type,
            record.x,
            record.anomaly,
            record.evidence,
            record.rules,
            fraud,
            at,
            record.parties,
            record.seq,
        )
        before = champ.learn(*args, derived=derived)
        challenger_before = challenger.learn(*args, derived=derived) if challenger else None
        state.since_publish += 1
        return Learned(
            record.event_type,
            fraud,
            at - record.ts,
            versions[0],
            before,
            versions[1],
            challenger_before,
            record.action,
            record.branch_id,
            tuple(record.rule_ids),
        )

    def publish(self, at: float) -> None:
        state = self.state
        snap = state.champion.to_snapshot()
        self.store.publish(self.cfg.champion, snap)
        if state.challenger is not None:
            self.store.publish(self.cfg.challenger or "challenger", state.challenger.to_snapshot())
        state.published = snap.version
        state.since_publish = 0
        state.last_publish_at = at
