"""Sliding windows and recency maps against brute-force references."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from riskflow.features.recency import LastSeen
from riskflow.features.windows import BucketedWindow, SlidingWindow

times = st.floats(min_value=0, max_value=200_000, allow_nan=False, allow_infinity=False)
amounts = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)
widths = st.sampled_from([300.0, 3600.0, 86400.0])


@settings(max_examples=300, deadline=None)
@given(events=st.lists(st.tuples(times, amounts), min_size=1, max_size=80), width=widths)
def test_count_and_total_match_brute_force_for_out_of_order_events(events, width):
    horizon = 86400.0
    window = SlidingWindow(horizon, cap=10_000)
    seen: list[tuple[float, float]] = []
    for t, amount in events:
        window.add(t, amount)
        seen.append((t, amount))
        latest = max(x for x, _ in seen)
        # Only history inside the horizon of the newest event is promised.
        if t <= latest - horizon + width:
            continue
        inside = [a for x, a in seen if t - width < x <= t]
        assert window.count(t, width) == len(inside)
        assert abs(window.total(t, width) - sum(inside)) <= 1e-6 * max(1.0, sum(inside))


@settings(max_examples=200, deadline=None)
@given(events=st.lists(st.tuples(times, amounts), min_size=1, max_size=60))
def test_window_keeps_only_the_horizon_and_the_cap(events):
    window = SlidingWindow(3600.0, cap=10)
    for t, amount in events:
        window.add(t, amount)
        assert window.times == sorted(window.times)
        assert len(window.times) <= 10
        assert len(window.times) == len(window.amounts)
        assert all(x > window.times[-1] - 3600.0 for x in window.times)


def test_window_edges_are_open_on_the_left_and_closed_on_the_right():
    window = SlidingWindow(86400.0, cap=100)
    for t in (0.0, 100.0, 300.0):
        window.add(t, 1.0)
    assert window.count(300.0, 300.0) == 2  # 100 and 300; 0 is exactly on the open edge
    assert window.count(299.0, 300.0) == 2  # 0 and 100
    assert window.total(300.0, 1.0) == 1.0


@settings(max_examples=200, deadline=None)
@given(
    sightings=st.lists(
        st.tuples(st.sampled_from("abcdefgh"), st.floats(min_value=0, max_value=1e5)),
        min_size=1,
        max_size=50,
    ),
    since=st.floats(min_value=0, max_value=1e5),
)
def test_last_seen_distinct_count_matches_brute_force(sightings, since):
    recent = LastSeen(cap=100)
    last: dict[str, float] = {}
    for value, t in sightings:
        recent.touch(value, t)
        last[value] = max(t, last.get(value, t))
    assert recent.distinct_since(since) == sum(1 for x in last.values() if x > since)
    assert set(recent.seen) == set(last)


def test_last_seen_evicts_the_stalest_value_past_its_cap():
    recent = LastSeen(cap=2)
    recent.touch("old", 1.0)
    recent.touch("mid", 2.0)
    recent.touch("new", 3.0)
    assert "old" not in recent
    assert "mid" in recent and "new" in recent


@settings(max_examples=200, deadline=None)
@given(events=st.lists(st.tuples(times, amounts), min_size=1, max_size=60), t=times)
def test_nested_windows_match_count_and_total_per_width(events, t):
    window = SlidingWindow(86400.0, cap=10_000)
    for x, amount in events:
        window.add(x, amount)
    widths = (300.0, 3600.0, 86400.0)
    for (count, total), width in zip(window.nested(t, widths), widths, strict=True):
        assert count == window.count(t, width)
        assert abs(total - window.total(t, width)) <= 1e-9 * max(1.0, total)


@settings(max_examples=200, deadline=None)
@given(events=st.lists(st.tuples(times, amounts), min_size=1, max_size=60))
def test_the_floor_promises_every_later_entry_even_under_the_cap(events):
    window = SlidingWindow(3600.0, cap=8)
    added: list[float] = []
    for x, amount in events:
        window.add(x, amount)
        added.append(x)
        held = sorted(x for x in added if x > window.floor)
        assert [x for x in window.times if x > window.floor] == held
    restored = SlidingWindow(3600.0, cap=8)
    restored.load_state(window.to_state())
    assert restored.floor == window.floor


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(60.0, 40_000.0), st.decimals("0.01", "5000", places=2)),
        min_size=1,
        max_size=60,
    ),
    st.floats(0.0, 30_000.0),
)
def test_a_restored_bucketed_window_answers_to_the_last_bit(steps, later):
    # A replay after a restart must give the features the first run gave, bit for bit.
    window, exact = BucketedWindow(7 * 86400.0, 6 * 3600.0), SlidingWindow(86400.0, 2000)
    t = 1.8e9
    for gap, amount in steps:
        t += gap
        window.add(t, float(amount))
    restored = BucketedWindow(7 * 86400.0, 6 * 3600.0)
    restored.load_state(window.to_state())
    assert restored.total_sum == window.total_sum
    for w in (window, restored):
        w.add(t + later, 12.34)
    assert restored.window(t + later, exact) == window.window(t + later, exact)


def test_a_bucketed_window_saved_without_its_running_total_still_loads():
    window = BucketedWindow(7 * 86400.0, 6 * 3600.0)
    for i, amount in enumerate((0.1, 0.2, 0.3, 651.53)):
        window.add(1.8e9 + i * 7000.0, amount)
    older = BucketedWindow(7 * 86400.0, 6 * 3600.0)
    older.load_state(window.to_state()[:4])
    assert older.total_count == window.total_count == 4
    assert math.isclose(older.total_sum, window.total_sum)
