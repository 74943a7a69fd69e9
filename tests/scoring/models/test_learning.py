"""The learner: labels joined to logged features, never early; publishing, resuming, promotion."""

from __future__ import annotations

import random
import threading
import time
from datetime import UTC, datetime, timedelta, timezone

from riskflow.contract.messages import Feedback
from riskflow.scoring.models.featurelog import (
    LoggedEvent,
    MemoryFeatureLog,
    encode,
    encode_with_outcome,
)
from riskflow.scoring.models.holder import ModelHolder
from riskflow.scoring.models.learning import Learned, Learner, LearnerConfig
from riskflow.scoring.models.store import MemoryModelStore, promote

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def label(event_id: str, at: datetime, fraud: bool) -> Feedback:
    return Feedback(event_id=event_id, account_id="A1", label="fraud" if fraud else "legit", ts=at)


def log_event(log: MemoryFeatureLog, event_id: str, at: datetime, fraud: bool, rng) -> None:
    """Log what the decision saw; fraud shows in the amount and a new payee."""
    x = {"amount": rng.gauss(8 if fraud else 5, 1), "new_payee": float(fraud)}
    log.put_many([(event_id, encode(LoggedEvent("payment", at.timestamp(), "A1", x, 0.0, 0.0)))])


def stream(n: int, seed: int = 3):
    """n decided events one minute apart, each labelled an hour later; one in five fraud."""
    rng = random.Random(seed)
    return [(f"E{i}", T0 + timedelta(minutes=i), rng.random() < 0.2) for i in range(n)]


def setup(**cfg):
    cfg.setdefault("every_s", 1e9)  # snapshots by label count unless a test says otherwise
    store, log = MemoryModelStore(), MemoryFeatureLog()
    return store, log, Learner(store, log, LearnerConfig(**cfg))


def test_labels_are_learned_from_the_features_logged_at_decision_time_and_published():
    store, log, learner = setup(every_labels=100, challenger=None)
    rng = random.Random(1)
    events = stream(250)
    for event_id, at, fraud in events:
        log_event(log, event_id, at, fraud, rng)
    learned, dead = learner.on_batch([label(e, at + timedelta(hours=1), f) for e, at, f in events])
    assert dead == [] and len(learned) == 250
    assert all(isinstance(x, Learned) and x.delay_s == 3600.0 for x in learned)
    newest = store.newest("champion")
    # Snapshots at exact label counts, whatever the batches: the last 50 wait for the next one.
    assert newest is not None and newest[0] == "champion-200"
    assert newest[1] == (events[199][1] + timedelta(hours=1)).timestamp()
    assert learner.state.since_publish == 50


def test_snapshots_also_follow_label_time():
    store, log, learner = setup(every_labels=10_000, every_s=1800.0, challenger=None)
    rng = random.Random(1)
    events = stream(100)  # labels a minute apart: a snapshot each half hour of label time
    for event_id, at, fraud in events:
        log_event(log, event_id, at, fraud, rng)
    learner.on_batch([label(e, at + timedelta(hours=1), f) for e, at, f in events])
    assert [s.version for s in store.since("champion", -1.0)] == [
        "champion-30",
        "champion-60",
        "champion-90",
    ]


def test_the_same_labels_give_the_same_snapshots_however_they_are_batched():
    events = stream(300)
    labels = [label(e, at + timedelta(hours=1), f) for e, at, f in events]
    snapshots = []
    for batch in (300, 7, 64):
        store, log, learner = setup(every_labels=50, every_s=5400.0)
        for event_id, at, fraud in events:
            log_event(log, event_id, at, fraud, random.Random(event_id))
        for i in range(0, 300, batch):
            # Within a batch labels may come in any order; they are learned in label-time order.
            part = labels[i : i + batch]
            learner.on_batch(part[::-1])
        snapshots.append([(s.version, s.blob) for s in store.since("champion", -1.0)])
    assert snapshots[0] == snapshots[1] == snapshots[2]


def test_a_label_older_than_its_event_is_dead_lettered_never_learned():
    _, log, learner = setup(challenger=None)
    rng = random.Random(1)
    log_event(log, "E1", T0 + timedelta(hours=2), True, rng)
    learned, dead = learner.on_batch([label("E1", T0 + timedelta(hours=1), True)])
    assert learned == [] and [d.reason for d in dead] == ["feedback_before_event"]
    assert learner.state.champion.labels == 0


def test_a_label_waits_for_its_event_then_is_learned_or_dead_lettered():
    _, log, learner = setup(hold_s=3600.0, challenger=None)
    rng = random.Random(1)
    early = label("LATE", T0 + timedelta(minutes=10), False)
    assert learner.on_batch([early]) == ([], [])  # held: its event may not be decided yet
    log_event(log, "LATE", T0, False, rng)
    learned, _ = learner.on_batch([])
    assert [x.event_type for x in learned] == ["payment"]

    orphan = label("NEVER", T0 + timedelta(minutes=20), True)
    assert learner.on_batch([orphan]) == ([], [])
    much_later = label("OTHER", T0 + timedelta(hours=2), False)
    learned, dead = learner.on_batch([much_later])
    assert [d.reason for d in dead] == ["feedback_unmatched"]
    assert "NEVER" in dead[0].payload and len(learner.state.pending) == 1  # OTHER still waits


def test_a_restarted_learner_resumes_from_the_newest_snapshot():
    store, log, learner = setup(every_labels=50, challenger=None)
    rng = random.Random(2)
    events = stream(120)
    for event_id, at, fraud in events:
        log_event(log, event_id, at, fraud, rng)
    learner.on_batch([label(e, at + timedelta(hours=1), f) for e, at, f in events])
    restarted = Learner(store, log, LearnerConfig(every_labels=50, challenger=None))
    # The newest snapshot is the one after 100 labels; the 20 after it await the next one.
    assert restarted.state.champion.version == store.newest("champion")[0] == "champion-100"


def test_holders_swap_to_newer_snapshots_but_never_to_one_from_the_future():
    store, log, learner = setup(every_labels=40, challenger=None)
    holder = ModelHolder(store, check_interval_s=0.0)
    rng = random.Random(4)
    events = stream(200)
    for event_id, at, fraud in events:
        log_event(log, event_id, at, fraud, rng)
    labels = [label(e, at + timedelta(hours=1), f) for e, at, f in events]
    for i in range(0, 200, 40):
        learner.on_batch(labels[i : i + 40])
    # The snapshot after 80 labels learned up to the 80th label's time: an event just before
    # that time must not see it, one just after must.
    cut = labels[79].ts.timestamp()
    before, after = holder.for_event(cut - 1), holder.for_event(cut)
    assert before is not None and before.version == "champion-40"
    assert after is not None and after.version == "champion-80"
    assert holder.for_event(T0.timestamp()) is None  # before any label: rules only
    assert holder.for_event(labels[-1].ts.timestamp() + 1).version == "champion-200"


def test_promotion_makes_the_challenger_the_champion_and_the_learner_follows():
    store, log, learner = setup(every_labels=60)
    rng = random.Random(5)
    events = stream(180)
    for event_id, at, fraud in events:
        log_event(log, event_id, at, fraud, rng)
    labels = [label(e, at + timedelta(hours=1), f) for e, at, f in events]
    learned, _ = learner.on_batch(labels[:120])
    assert learned[-1].challenger == "challenger-119"
    version = promote(store, "challenger", "champion")
    assert version == "champion-120.from-challenger-120"
    holder = ModelHolder(store, check_interval_s=0.0)
    assert holder.for_event(labels[-1].ts.timestamp()).version == version
    learner.on_batch(labels[120:])
    assert store.newest("champion")[0] == "champion-180.from-challenger-120"


def test_an_unreadable_logged_record_is_dead_lettered_not_fatal():
    _, log, learner = setup(challenger=None)
    log.put_many([("E1", b"\x93not a record")])
    learned, dead = learner.on_batch([label("E1", T0, True)])
    assert learned == [] and [d.reason for d in dead] == ["feedback_record_unreadable"]


def test_a_label_carries_back_what_was_decided_about_its_event():
    _store, log, learner = setup(every_labels=100, challenger=None)
    at = T0.timestamp()
    record = LoggedEvent("payment", at, "A1", {"amount": 9.0}, 0.0, 0.0)
    log.put_many(
        [
            ("alerted", encode_with_outcome(record, "review", "BR007", ["new_payee_large"])),
            ("old-format", encode(record)),
        ]
    )
    learned, dead = learner.on_batch(
        [label("alerted", T0 + timedelta(hours=3), True), label("old-format", T0, False)]
    )
    assert not dead
    old, alerted = learned  # learned in label-time order
    assert (alerted.action, alerted.branch_id, alerted.rule_ids) == (
        "review",
        "BR007",
        ("new_payee_large",),
    )
    assert alerted.delay_s == 3 * 3600
    # Records logged before the outcome was kept still load, with no outcome.
    assert (old.action, old.branch_id, old.rule_ids) == ("", "", ())


def test_with_live_input_a_label_read_ahead_of_its_event_waits_in_wall_clock_too():
    now = [0.0]
    store, log = MemoryModelStore(), MemoryFeatureLog()
    cfg = LearnerConfig(hold_s=3600.0, hold_wall_s=600.0, challenger=None, every_s=1e9)
    learner = Learner(store, log, cfg, clock=lambda: now[0])
    rng = random.Random(1)
    # After downtime the whole feedback topic is read before the backlog of events:
    # a day of labels, none of whose events is decided yet.
    labels = [label(f"E{i}", T0 + timedelta(hours=i), i % 5 == 0) for i in range(24)]
    assert learner.on_batch(labels) == ([], [])
    now[0] = 599.0
    assert learner.on_batch([]) == ([], [])  # label time says give up; wall clock says wait
    for i in range(24):
        log_event(log, f"E{i}", T0 + timedelta(hours=i, minutes=-5), i % 5 == 0, rng)
    learned, dead = learner.on_batch([])
    assert len(learned) == 24 and dead == []
    # A label whose event never comes is given up on once both waits are over.
    orphan = label("NEVER", T0 + timedelta(hours=30), True)
    later = label("LATER", T0 + timedelta(hours=32), False)
    assert learner.on_batch([orphan, later]) == ([], [])
    now[0] = 1300.0
    learned, dead = learner.on_batch([])
    assert [d.reason for d in dead] == ["feedback_unmatched"] and learned == []


def test_labels_whose_events_never_come_wait_out_the_wall_clock_together():
    now = [0.0]
    store, log = MemoryModelStore(), MemoryFeatureLog()
    cfg = LearnerConfig(hold_s=3600.0, hold_wall_s=600.0, challenger=None, every_s=1e9)
    learner = Learner(store, log, cfg, clock=lambda: now[0])
    rng = random.Random(2)
    orphans = [label(f"NEVER{i}", T0 + timedelta(minutes=i), True) for i in range(50)]
    log_event(log, "KNOWN", T0 + timedelta(hours=5), False, rng)
    known = label("KNOWN", T0 + timedelta(hours=6), False)
    assert learner.on_batch([*orphans, known]) == ([], [])
    now[0] = 601.0
    # One wall-clock wait for all fifty, not fifty waits one after another.
    learned, dead = learner.on_batch([])
    assert [d.reason for d in dead] == ["feedback_unmatched"] * 50
    assert len(learned) == 1 and not learned[0].fraud
    assert learner.state.pending == []


def test_the_champion_and_challenger_recipes_come_from_the_config():
    _, _, learner = setup(learning_rate=0.02, challenger_learning_rate=0.001)
    assert learner.state.champion.learning_rate == 0.02
    assert learner.state.challenger is not None
    assert learner.state.challenger.learning_rate == 0.001


def test_a_payment_label_also_labels_the_login_that_opened_its_session_once():
    _store, log, learner = setup(every_labels=10_000, challenger=None)
    at = T0.timestamp()
    login = LoggedEvent("login", at, "A1", {"is_new_device": 1.0}, 0.5, 0.01, seq=1)
    log.put_many([("L1", encode(login))])
    for i in (1, 2):  # two payments of the same session
        pay = LoggedEvent(
            "payment", at + 60 * i, "A1", {"amount": 9.0}, 0.5, 0.01, seq=i, session_login="L1"
        )
        log.put_many([(f"P{i}", encode(pay))])
    learned, dead = learner.on_batch(
        [label("P1", T0 + timedelta(days=2), True), label("P2", T0 + timedelta(days=2), True)]
    )
    assert dead == [] and [x.event_type for x in learned] == ["payment", "payment"]
    heads = learner.state.champion.heads
    # The login head learned one fraud, from the session, although no login was labelled.
    assert (heads["login"].labels, heads["login"].positives) == (1, 1)
    assert heads["payment"].labels == 2


def test_a_session_login_from_the_future_or_of_another_type_teaches_nothing():
    _store, log, learner = setup(every_labels=10_000, challenger=None)
    at = T0.timestamp()
    later = LoggedEvent("login", at + 10 * 86400, "A1", {}, 0.5, 0.01)
    other = LoggedEvent("payment", at, "A1", {}, 0.5, 0.01)
    log.put_many([("L_LATE", encode(later)), ("NOT_A_LOGIN", encode(other))])
    for name, session in (("P1", "L_LATE"), ("P2", "NOT_A_LOGIN"), ("P3", "MISSING")):
        pay = LoggedEvent("payment", at, "A1", {}, 0.5, 0.01, session_login=session)
        log.put_many([(name, encode(pay))])
    learner.on_batch([label(p, T0 + timedelta(days=1), True) for p in ("P1", "P2", "P3")])
    assert learner.state.champion.heads["login"].labels == 0


def test_labels_still_waiting_when_a_replay_ends_are_dead_lettered_not_kept():
    from riskflow.scoring.models.operator import LearnerLogic

    _store, _log, learner = setup(every_labels=10_000, challenger=None)
    logic = LearnerLogic(learner)
    out, _ = logic.on_batch([label("NEVER_DECIDED", T0, True)])
    assert out == [] and len(learner.state.pending) == 1  # it may still come
    out, _ = logic.on_eof()
    assert [d.reason for d in out] == ["feedback_unmatched"]  # type: ignore[union-attr]
    assert learner.state.pending == []


def test_the_learner_recovery_state_is_data_and_resumes_exactly():
    events = stream(400)
    rng = random.Random(5)
    _, log, learner = setup(every_labels=100)
    for event_id, at, fraud in events:
        log_event(log, event_id, at, fraud, rng)
    # Labels 300.. wait for an event not logged yet: the restored learner must keep them.
    tz = timezone(timedelta(hours=8))
    early = [label(e, (at + timedelta(hours=1)).astimezone(tz), f) for e, at, f in events[:300]]
    early.append(label("E-late", events[299][1] + timedelta(hours=1, seconds=1), True))
    learner.on_batch(early)
    assert learner.state.pending
    blob = learner.snapshot()
    assert b"riskflow learner state" in blob[:32] and b"\x80\x05" not in blob[:32]
    _, _, restored = setup(every_labels=100)
    restored.features = log
    restored.restore(blob)
    assert restored.state.pending == learner.state.pending
    assert [fb.ts.utcoffset() for fb in restored.state.pending] == [
        fb.ts.utcoffset() for fb in learner.state.pending
    ]
    later = [label(e, at + timedelta(hours=1, seconds=2), f) for e, at, f in events[300:]]
    log_event(log, "E-late", events[299][1], True, rng)
    assert restored.on_batch(later) == learner.on_batch(later)
    assert restored.snapshot() == learner.snapshot()


def test_a_learner_state_saved_as_a_pickle_by_an_earlier_version_still_restores():
    import pickle

    _, _, learner = setup(every_labels=100)
    _, _, restored = setup(every_labels=100)
    restored.restore(pickle.dumps(learner.state))
    assert restored.state.champion.version == learner.state.champion.version


def test_a_live_holder_loads_new_snapshots_in_its_own_thread_not_in_the_decision():
    store, log, learner = setup(every_labels=40, challenger=None)
    loaded_in: list[str] = []
    since = store.since

    def recording_since(name, as_of):
        loaded_in.append(threading.current_thread().name)
        return since(name, as_of)

    store.since = recording_since  # type: ignore[method-assign]
    holder = ModelHolder(store, check_interval_s=0.01, background=True)
    rng = random.Random(6)
    events = stream(80)
    for event_id, at, fraud in events:
        log_event(log, event_id, at, fraud, rng)
    labels = [label(e, at + timedelta(hours=1), f) for e, at, f in events]
    learner.on_batch(labels[:40])
    late = labels[-1].ts.timestamp() + 1
    assert holder.for_event(late).version == "champion-40"  # the first load, in line
    learner.on_batch(labels[40:])
    deadline = time.monotonic() + 5
    while holder.for_event(late).version != "champion-80" and time.monotonic() < deadline:
        time.sleep(0.01)
    assert holder.for_event(late).version == "champion-80"
    assert loaded_in[0] == threading.current_thread().name
    assert set(loaded_in[1:]) == {"models-champion"}
