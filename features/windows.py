"""Sliding windows over one account's timestamped amounts: exact ones and bucketed ones."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from typing import Any

__all__ = ["BucketedWindow", "SlidingWindow"]

_NEVER = -math.inf


class SlidingWindow:
    """Timestamps and amounts kept sorted by time, so any window is two bisections.

    Counting the interval `(t - width, t]` rather than "the last N events"
    makes the answer exact for events that arrive out of order: a late event
    is inserted in its place and counted only by events at or after its time.
    """

    __slots__ = ("amounts", "cap", "floor", "horizon", "times")

    def __init__(self, horizon: float, cap: int) -> None:
        self.horizon = horizon
        """Seconds of history kept: the widest window anyone asks for."""
        self.cap = cap
        """Most entries kept, so a hyperactive account cannot grow state without bound."""
        self.times: list[float] = []
        self.amounts: list[float] = []
        self.floor = _NEVER
        """Every entry ever added with a time above this is still held (pruning raises it)."""

    def add(self, t: float, amount: float) -> None:
        times = self.times
        if not times or t >= times[-1]:
            times.append(t)
            self.amounts.append(amount)
        else:
            i = bisect_right(times, t)
            times.insert(i, t)
            self.amounts.insert(i, amount)
        self._prune()

    def _prune(self) -> None:
        times = self.times
        cutoff = times[-1] - self.horizon
        if cutoff > self.floor:
            self.floor = cutoff
        drop = bisect_right(times, cutoff)
        over = len(times) - self.cap
        if over > drop:
            drop = over
            # The cap drops entries inside the horizon: from here on, history is only
            # complete after the newest of them.
            if times[drop - 1] > self.floor:
                self.floor = times[drop - 1]
        if drop > 0:
            del times[:drop]
            del self.amounts[:drop]

    def count(self, t: float, width: float) -> int:
        """Entries with time in `(t - width, t]`."""
        times = self.times
        return bisect_right(times, t) - bisect_right(times, t - width)

    def total(self, t: float, width: float) -> float:
        """Sum of amounts with time in `(t - width, t]`."""
        times = self.times
        hi = bisect_right(times, t)
        lo = bisect_right(times, t - width)
        return sum(self.amounts[lo:hi])

    def nested(self, t: float, widths: tuple[float, ...]) -> list[tuple[int, float]]:
        """Count and sum over `(t - w, t]` for each of `widths` (ascending), in one pass.

        The same as `count` and `total` per width, with the shared upper bisection done
        once and each wider sum grown from the narrower one.
        """
        times = self.times
        amounts = self.amounts
        hi = bisect_right(times, t)
        out: list[tuple[int, float]] = []
        edge = hi
        total = 0.0
        for width in widths:
            lo = bisect_right(times, t - width, 0, edge)
            if lo < edge:
                total += sum(amounts[lo:edge])
            out.append((hi - lo, total))
            edge = lo
        return out

    def closed(self, start: float, t: float) -> tuple[int, float]:
        """Count and sum of entries with time in `[start, t]`."""
        times = self.times
        hi = bisect_right(times, t)
        lo = bisect_left(times, start)
        if hi <= lo:
            return 0, 0.0
        return hi - lo, sum(self.amounts[lo:hi])

    def to_state(self) -> tuple[list[float], list[float], float]:
        return (self.times, self.amounts, self.floor)

    def load_state(self, state: tuple[Any, ...]) -> None:
        """The state of `to_state`, or the `(times, amounts)` pair of snapshot version 2."""
        self.times, self.amounts = list(state[0]), list(state[1])
        if len(state) > 2:
            self.floor = float(state[2])
        else:
            # Snapshot version 2 kept no floor: the horizon is all it ever pruned by
            # unless the cap was full, and then the oldest kept entry is the safe bound.
            times = self.times
            if not times:
                self.floor = _NEVER
            elif len(times) >= self.cap:
                self.floor = times[0]
            else:
                self.floor = times[-1] - self.horizon


class BucketedWindow:
    """Count and sum of amounts over `(t - width, t]`, kept as epoch-aligned buckets.

    Bucket `k` holds the events with time in `[k * bucket, (k + 1) * bucket)`; only
    the `ceil(width / bucket) + 1` buckets up to the newest one are kept, so the
    memory is bounded by the width whatever the account's activity. The part of
    the window inside the bucket of `t` is read from the exact window of recent
    payments when that still holds all of it, so the upper edge stays exact for
    events in order (and late ones whose bucket starts inside the exact window's
    history). The error is at the old edge only: the whole bucket holding
    `t - width` counts.

    Error bound, for an event at `t` in bucket `k = floor(t / bucket)` and
    `lo = floor((t - width) / bucket)`: the counted events are a superset of those
    in `(t - width, t]` (as long as bucket `lo` is still kept) and a subset of
    those in `[lo * bucket, t]`, itself inside `(t - width - bucket, t]`. When the
    exact window no longer holds all of `[k * bucket, t]` (an event late by more
    than the exact horizon less a bucket, or a capped exact window) the upper edge
    is the end of bucket `k`, `(k + 1) * bucket`, instead of `t`.
    """

    __slots__ = ("bucket", "counts", "keep", "newest", "sums", "total_count", "total_sum", "width")

    def __init__(self, width: float, bucket: float) -> None:
        self.width = width
        self.bucket = bucket
        self.keep = math.ceil(width / bucket) + 1
        """Buckets kept, newest included: enough for a window ending anywhere in the newest."""
        self.counts: dict[int, int] = {}
        self.sums: dict[int, float] = {}
        self.newest: int | None = None
        self.total_count = 0
        """Of all kept buckets: the window of an in-order event is these minus its own bucket."""
        self.total_sum = 0.0

    def add(self, t: float, amount: float) -> bool:
        """Count an event; False when it is older than every bucket kept (it counts nowhere)."""
        k = math.floor(t / self.bucket)
        newest = self.newest
        if newest is None or k > newest:
            self.newest = newest = k
            self._evict(k - self.keep + 1)
        elif k <= newest - self.keep:
            return False
        counts = self.counts
        counts[k] = counts.get(k, 0) + 1
        sums = self.sums
        sums[k] = sums.get(k, 0.0) + amount
        self.total_count += 1
        self.total_sum += amount
        return True

    def _evict(self, first: int) -> None:
        counts = self.counts
        old = [k for k in counts if k < first]
        if not old:
            return
        sums = self.sums
        for k in old:
            del counts[k]
            del sums[k]
        # Re-summed rather than subtracted, so rounding cannot drift over months.
        self.total_count = sum(counts.values())
        self.total_sum = math.fsum(sums.values())

    def window(self, t: float, exact: SlidingWindow) -> tuple[int, float]:
        """Count and sum over `(t - width, t]` within the bound above, from the kept history."""
        newest = self.newest
        if newest is None:
            return 0, 0.0
        bucket = self.bucket
        k = math.floor(t / bucket)
        start = max(math.floor((t - self.width) / bucket), newest - self.keep + 1)
        counts = self.counts
        sums = self.sums
        edge = k * bucket
        if exact.floor < edge:
            # Bucket k comes from the exact window, cut at t; only buckets before it here.
            count, total = exact.closed(edge, t)
            hi = k
        else:
            count, total = 0, 0.0
            hi = k + 1
        if k == newest and hi == k and start == newest - self.keep + 1:
            # The common case, an event in the newest bucket: every kept bucket but its own.
            return (
                count + self.total_count - counts.get(k, 0),
                total + self.total_sum - sums.get(k, 0.0),
            )
        for j, c in counts.items():
            if start <= j < hi:
                count += c
                total += sums[j]
        return count, total

    def to_state(self) -> tuple[int | None, list[int], list[int], list[float], float]:
        # Bucket numbers relative to the newest: small ints pickle in two bytes, not five.
        newest = self.newest
        if newest is None:
            return (None, [], [], [], 0.0)
        keys = sorted(self.counts)
        return (
            newest,
            [newest - k for k in keys],
            [self.counts[k] for k in keys],
            [self.sums[k] for k in keys],
            # The running total as it stands, not re-summed on load: a restored window
            # must answer to the last bit what the window it was taken from would have.
            self.total_sum,
        )

    def load_state(self, state: tuple[Any, ...]) -> None:
        """A state from `to_state`, or one of four fields (before the running total)."""
        newest, offsets, counts, sums = state[:4]
        self.newest = newest
        if newest is None:
            self.counts, self.sums = {}, {}
        else:
            keys = [newest - d for d in offsets]
            self.counts = dict(zip(keys, counts, strict=True))
            self.sums = dict(zip(keys, sums, strict=True))
        self.total_count = sum(self.counts.values())
        self.total_sum = state[4] if len(state) > 4 else math.fsum(self.sums.values())
