"""`riskflow bench crash` at small size: three kill -9s of a live flow, and its books balance."""

from __future__ import annotations

import pytest

from riskflow.benchmarks.crash import bench_crash

pytestmark = pytest.mark.integration


def test_three_kills_lose_nothing_repeat_identically_and_count_no_window_twice(
    tmp_path, kafka_bootstrap, redis_url
):
    kills = 3
    r = bench_crash(
        kafka_bootstrap,
        redis_url,
        tmp_path,
        events=3000,
        customers=600,
        rate=150.0,
        kills=kills,
        snapshot_interval_s=1.0,
        quiet_s=30.0,
    )
    assert r["kills"] == kills
    assert r["restarts_that_decided"] == kills
    assert (r["crash_run_exit_code"], r["clean_run_exit_code"]) == (0, 0)
    assert not r["crash_run_stalled"]
    assert r["lost"] == 0
    assert r["decided"] == r["clean_run_decided"] == r["events"]
    assert r["decisions_for_no_input"] == 0
    # The kills did make the flow publish decisions again, and every copy is the first one.
    assert r["decided_more_than_once"] > 0
    assert r["duplicates_not_identical"] == 0
    assert r["accounts_same_history"] > 20
    assert r["accounts_different"] == 0
    assert r["accounts_equal"] == r["accounts_same_history"]
