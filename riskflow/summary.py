"""The terminal summary of a run: live while it runs, final when it ends."""

from __future__ import annotations

import time

from rich.console import Group
from rich.table import Table

from riskflow.connectors.metrics import RunStats

__all__ = ["summary_table"]


def summary_table(
    stats: RunStats, started: float, *, title: str = "riskflow", total: int | None = None
) -> Group:
    """`total`: messages the run will read (a replay), for a progress bar and an ETA."""
    elapsed = max(time.monotonic() - started, 1e-9)
    with stats.lock:
        events = sum(stats.events_in.values())
        actions = dict(stats.actions)
        branches = stats.alerts_by_branch.most_common()
        dead = dict(stats.deadletters)
    decided = sum(actions.values())
    head = Table(title=title, show_header=False, expand=False)
    head.add_row("events in", f"{events:,}")
    head.add_row("decisions", f"{decided:,}")
    head.add_row("dead letters", f"{sum(dead.values()):,}")
    head.add_row("elapsed", f"{elapsed:,.1f} s")
    head.add_row("throughput", f"{events / elapsed:,.0f} events/s")
    if total:
        rate = events / elapsed
        eta = (total - events) / rate if rate > 0 else float("inf")
        done = min(events / total, 1.0)
        bar = "█" * round(done * 24) + "░" * (24 - round(done * 24))
        head.add_row(
            "progress", f"{bar} {100 * done:.1f}% of {total:,}, ETA {max(eta, 0.0):,.0f} s"
        )
    head.add_row(
        "decision latency",
        f"p50 {stats.percentile(50):.2f} ms   p99 {stats.percentile(99):.2f} ms",
    )
    by_action = Table("action", "decisions", "share")
    for action in ("allow", "challenge", "review", "block"):
        n = actions.get(action, 0)
        by_action.add_row(action, f"{n:,}", f"{100.0 * n / max(decided, 1):.2f}%")
    by_branch = Table("branch", "alerts")
    for branch, n in branches[:10]:
        by_branch.add_row(branch, f"{n:,}")
    if len(branches) > 10:
        rest = sum(n for _, n in branches[10:])
        by_branch.add_row(f"{len(branches) - 10} more branches", f"{rest:,}")
    by_reason = Table("dead-letter reason", "messages")
    for reason, n in sorted(dead.items(), key=lambda kv: -kv[1]):
        by_reason.add_row(reason, f"{n:,}")
    return Group(head, by_action, by_branch, by_reason)
