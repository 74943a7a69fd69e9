"""The spilled feature log answers as the memory log does, holding only its newest in memory."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from riskflow.scoring.models.featurelog import MemoryFeatureLog
from riskflow.scoring.models.spilled_log import SpilledFeatureLog

_ids = st.sampled_from([f"e{i}" for i in range(40)])
_put = st.lists(st.tuples(_ids, st.binary(min_size=1, max_size=6)), max_size=12)
_ops = st.lists(st.one_of(_put.map(lambda r: ("put", r)), st.lists(_ids).map(lambda q: ("get", q))))


@settings(max_examples=150, deadline=None)
@given(ops=_ops, cap=st.integers(1, 30), hot=st.integers(1, 12))
def test_any_sequence_answers_as_the_memory_log_with_the_same_cap(ops, cap, hot) -> None:
    memory, spilled = MemoryFeatureLog(cap), SpilledFeatureLog(cap, hot=hot)
    try:
        for kind, arg in ops:
            if kind == "put":
                memory.put_many(arg)
                spilled.put_many(arg)
            else:
                assert spilled.get_many(arg) == memory.get_many(arg)
            assert len(spilled) == len(memory._records)
        everything = [f"e{i}" for i in range(40)]
        assert spilled.get_many(everything) == memory.get_many(everything)
    finally:
        spilled.close()


def test_older_records_go_to_disk_and_the_file_goes_at_close(tmp_path: Path) -> None:
    log = SpilledFeatureLog(1000, hot=10, directory=tmp_path)
    log.put_many((f"e{i}", bytes([i % 256]) * 100) for i in range(300))
    assert len(log._hot) == 10 and log._cold == 290
    assert log.get_many(["e0", "e150", "e299", "nope"]) == [
        b"\x00" * 100,
        bytes([150]) * 100,
        bytes([299 % 256]) * 100,
        None,
    ]
    files = list(tmp_path.rglob("log.sqlite3"))
    assert len(files) == 1 and files[0].stat().st_size > 290 * 100
    log.close()
    assert not list(tmp_path.iterdir())


def test_an_event_logged_again_on_disk_takes_the_new_bytes_and_keeps_its_place() -> None:
    log = SpilledFeatureLog(3, hot=1)
    log.put_many([("a", b"1"), ("b", b"2"), ("c", b"3")])
    log.put_many([("a", b"new")])
    assert log.get_many(["a"]) == [b"new"]
    log.put_many([("d", b"4")])  # over the cap: the first logged goes, new bytes or not
    assert log.get_many(["a", "b", "c", "d"]) == [None, b"2", b"3", b"4"]
    log.close()


def test_a_failing_file_drops_what_it_cannot_hold_and_never_raises(caplog) -> None:
    log = SpilledFeatureLog(100, hot=2)
    log.put_many([("a", b"1"), ("b", b"2"), ("c", b"3")])  # "a" is on disk
    log._db.close()  # from here every statement fails, as on a full or broken disk
    log.put_many([("a", b"again"), ("d", b"4"), ("e", b"5")])
    # The newest two stay in memory; the three older could not be written, nor "a" read.
    assert log.get_many(["a", "b", "c", "d", "e", "zz"]) == [None, None, None, b"4", b"5", None]
    assert log.dropped == 3
    assert "feature log on disk" in caplog.text
    log.close()
