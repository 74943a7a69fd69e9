"""The soak: the live flow under steady load for a long time, its RSS sampled throughout.

The flow runs as `riskflow run` in a process of its own (Kafka in and out, models on and
learning from labels, recovery on), so the resident memory sampled from
`/proc/<pid>/status` is the flow's alone. `benchmarks.soak_load` offers a steady rate of
valid messages over a pool of accounts, each visited in turn.

Every store that grows with traffic is given a horizon the soak reaches in its first
part: accounts, the event ids they remember and their decision memory expire after
`idle_s` without events (`features.idle_expiry_days`, `recent_ids_days`,
`decisions_kept_days`); the in-memory feature log keeps an idle horizon's worth of
decisions (`models.feature_log_cap`); snapshots are published often enough that the
model store's and holders' kept snapshots are full by then. After the horizon RSS should
stay flat: the summary gives its least-squares slope.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from riskflow.allocator import AllocatorUnavailable, allocator_env
from riskflow.benchmarks.soak_load import SteadyLoad

__all__ = ["Sample", "SoakError", "SoakPlan", "read_rss_mib", "run_soak", "slope_per_hour"]

_DAY = 86400.0
_TICK_S = 0.05
_TOPIC_NAMES = ("payments", "logins", "feedback", "decisions", "alerts", "deadletter")
_METRIC = re.compile(r"^(riskflow_[a-z_]+_total)(?:\{[^}]*\})? ([0-9.eE+-]+)$", re.M)


class SoakError(RuntimeError):
    """The soak could not run; the message is one line."""


@dataclass(frozen=True)
class SoakPlan:
    bootstrap: str
    out: Path
    minutes: float = 30.0
    accounts: int = 500_000
    rate: float = 800.0
    """Messages offered per second, labels and repeats included."""
    idle_minutes: float | None = None
    """Idle time after which an account expires; None is a quarter of the run."""
    sample_s: float = 5.0
    label_delay_s: float | None = None
    """Wall-clock time from a payment to its label; None is min(30 s, idle / 4)."""
    metrics_port: int = 0
    """0 picks a free port."""
    recovery: bool = True
    allocator: str = "jemalloc"
    """`jemalloc` (as the container image runs the flow) or `system` (glibc's)."""

    @property
    def idle_s(self) -> float:
        minutes = self.minutes / 4 if self.idle_minutes is None else self.idle_minutes
        return minutes * 60.0

    @property
    def delay_s(self) -> float:
        return min(30.0, self.idle_s / 4) if self.label_delay_s is None else self.label_delay_s

    @property
    def horizon_s(self) -> float:
        """When every store is full: the first accounts expire, and their labels came."""
        return self.idle_s + self.delay_s


@dataclass(frozen=True)
class Sample:
    t_s: float
    rss_mib: float
    offered: int
    decisions: int
    deadletters: int
    accounts_seen: int
    accounts_live: int
    """Accounts with an event within the idle horizon: those whose state the flow holds."""


_COLUMNS = [f.name for f in fields(Sample)]


@dataclass
class _Run:
    """The samples so far, each also written to the CSV as taken: a soak stopped early
    still leaves its figures."""

    csv_path: Path
    samples: list[Sample] = field(default_factory=list)
    exit_code: int | None = None

    def __post_init__(self) -> None:
        with open(self.csv_path, "w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow(_COLUMNS)

    @property
    def last(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    def record(self, sample: Sample) -> None:
        self.samples.append(sample)
        with open(self.csv_path, "a", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerow([getattr(sample, name) for name in _COLUMNS])


def read_rss_mib(pid: int) -> float:
    """Resident set size of a process, from `/proc/<pid>/status`."""
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise SoakError(f"no VmRSS for process {pid}")


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour; 0.0 with under two points."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    sxx = sum((t - mx) ** 2 for t, _ in points)
    if sxx == 0:
        return 0.0
    sxy = sum((t - mx) * (v - my) for t, v in points)
    return sxy / sxx * 3600.0


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _flow_config(plan: SoakPlan, topics: dict[str, str], port: int, where: Path) -> Path:
    idle_days = plan.idle_s / _DAY
    # A snapshot every twentieth of the horizon: the model store keeps 16 per model, so its
    # kept snapshots (and the scorers') are full before the horizon.
    payments_per_s = plan.rate * 0.7
    every_labels = max(20, round(payments_per_s * 0.03 * plan.horizon_s / 20))
    config: dict[str, Any] = {
        "input": {"type": "kafka"},
        "output": {"type": "kafka"},
        "kafka": {"bootstrap_servers": plan.bootstrap, "topics": topics, "partitions": 3},
        # Accounts, the ids they remember and their decision memory: all within the horizon.
        "features": {
            "idle_expiry_days": idle_days,
            "recent_ids_days": idle_days,
            "decisions_kept_days": idle_days,
        },
        "models": {
            "backend": "memory",
            "every_labels": every_labels,
            # The 2 M default outlasts a 30-minute soak: keep the idle horizon's decisions,
            # far longer than any label here takes to come.
            "feature_log_cap": max(1000, round(plan.rate * plan.horizon_s)),
        },
        "metrics": {"enabled": True, "port": port},
    }
    if plan.recovery:
        recovery = where / "recovery"
        # Each soak has topics of its own: an earlier soak's recovery would be resumed
        # against partitions this one does not have.
        shutil.rmtree(recovery, ignore_errors=True)
        config["recovery"] = {"directory": str(recovery)}
    path = where / "soak.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def _create_topics(bootstrap: str, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap, "socket.timeout.ms": "10000"})
    futures = admin.create_topics([NewTopic(n, 3, 1) for n in names], request_timeout=30)
    for future in futures.values():
        try:
            future.result(timeout=30)
        except Exception as exc:
            raise SoakError(f"cannot create the soak's topics on {bootstrap}: {exc}") from None


def _scrape(port: int) -> dict[str, float] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            text = resp.read().decode()
    except (urllib.error.URLError, OSError):
        return None
    totals: dict[str, float] = {}
    for name, value in _METRIC.findall(text):
        totals[name] = totals.get(name, 0.0) + float(value)
    return totals


def _last_line(log: Path) -> str:
    try:
        lines = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    return lines[-1].strip() if lines else ""


def _wait_ready(flow: subprocess.Popen[bytes], port: int, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if flow.poll() is not None:
            raise SoakError(f"the flow exited with {flow.returncode}: {_last_line(log)}")
        if _scrape(port) is not None:
            return
        time.sleep(0.5)
    raise SoakError(f"the flow served no metrics within {timeout_s:.0f} s: {_last_line(log)}")


def _stop(flow: subprocess.Popen[bytes]) -> int:
    if flow.poll() is None:
        flow.send_signal(signal.SIGTERM)
        try:
            flow.wait(timeout=120)
        except subprocess.TimeoutExpired:
            flow.kill()
            flow.wait()
    return flow.returncode


def _sample(
    flow: subprocess.Popen[bytes],
    port: int,
    load: SteadyLoad,
    started: float,
    offered: int,
    plan: SoakPlan,
    previous: Sample | None,
) -> Sample:
    now = time.time()
    metrics = _scrape(port) or {}
    return Sample(
        t_s=round(time.monotonic() - started, 2),
        rss_mib=round(read_rss_mib(flow.pid), 2),
        offered=offered,
        decisions=int(
            metrics.get("riskflow_decisions_total", previous.decisions if previous else 0)
        ),
        deadletters=int(
            metrics.get("riskflow_deadletters_total", previous.deadletters if previous else 0)
        ),
        accounts_seen=load.accounts_seen,
        accounts_live=load.accounts_within(plan.idle_s, now),
    )


def _offer(
    plan: SoakPlan, flow: subprocess.Popen[bytes], port: int, topics: dict[str, str], log: Path
) -> _Run:
    run = _Run(plan.out / "soak.csv")
    tag = topics["payments"].split(".")[0]
    load = SteadyLoad(plan.accounts, tag=tag, label_delay_s=plan.delay_s)
    topic_of = {
        "payment": topics["payments"],
        "login": topics["logins"],
        "feedback": topics["feedback"],
    }
    producer = Producer({"bootstrap.servers": plan.bootstrap, "linger.ms": "5"})
    duration = plan.minutes * 60.0
    started = time.monotonic()
    offered = 0
    next_sample = 0.0
    while True:
        elapsed = time.monotonic() - started
        if elapsed >= next_sample:
            run.record(_sample(flow, port, load, started, offered, plan, run.last))
            next_sample += plan.sample_s
        if elapsed >= duration:
            break
        if flow.poll() is not None:
            raise SoakError(f"the flow exited with {flow.returncode} mid-soak: {_last_line(log)}")
        due = min(int(elapsed * plan.rate), int(duration * plan.rate)) - offered
        now = time.time()
        for _ in range(due):
            kind, key, payload = load.next_message(now)
            try:
                producer.produce(topic_of[kind], payload, key.encode())
            except BufferError:
                producer.poll(0.1)
                producer.produce(topic_of[kind], payload, key.encode())
        offered += due
        producer.poll(0)
        time.sleep(_TICK_S)
    producer.flush(30)
    # The decisions still in flight, so the last sample counts what was offered.
    settle = time.monotonic() + 15.0
    decided = -1.0
    while time.monotonic() < settle:
        now_decided = (_scrape(port) or {}).get("riskflow_decisions_total", 0.0)
        if now_decided == decided:
            break
        decided = now_decided
        time.sleep(1.0)
    run.record(_sample(flow, port, load, started, offered, plan, run.last))
    return run


def _summary(plan: SoakPlan, run: _Run, load_label: str) -> dict[str, Any]:
    samples = run.samples
    after = [(s.t_s, s.rss_mib) for s in samples if s.t_s >= plan.horizon_s]
    at_horizon = after[0][1] if after else None
    end = samples[-1]
    slope = slope_per_hour(after)
    elapsed = end.t_s or 1.0
    return {
        "benchmark": "soak",
        "load": load_label,
        "allocator": plan.allocator,
        "minutes": round(elapsed / 60.0, 2),
        "idle_expiry_s": round(plan.idle_s, 1),
        "horizon_s": round(plan.horizon_s, 1),
        "samples": len(samples),
        "rss_start_mib": samples[0].rss_mib,
        "rss_at_horizon_mib": at_horizon,
        "rss_end_mib": end.rss_mib,
        "rss_max_mib": max(s.rss_mib for s in samples),
        "slope_after_horizon_mib_per_h": round(slope, 2),
        "slope_share_of_rss_per_h": round(slope / end.rss_mib, 4) if end.rss_mib else None,
        "messages_offered": end.offered,
        "decisions": end.decisions,
        "deadletters": end.deadletters,
        "decisions_per_s": round(end.decisions / elapsed, 1),
        "accounts_seen": end.accounts_seen,
        "accounts_live_end": end.accounts_live,
        "flow_exit": run.exit_code,
    }


def _plot(path: Path, plan: SoakPlan, samples: list[Sample], summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s.t_s / 60.0 for s in samples]
    fig, rss_ax = plt.subplots(figsize=(9, 4.5), dpi=110)
    rss_ax.plot(minutes, [s.rss_mib for s in samples], color="tab:blue", label="flow RSS")
    rss_ax.set_xlabel("minutes")
    rss_ax.set_ylabel("RSS (MiB)", color="tab:blue")
    rss_ax.set_ylim(bottom=0)
    accounts_ax = rss_ax.twinx()
    accounts_ax.plot(
        minutes,
        [s.accounts_live for s in samples],
        color="tab:gray",
        ls="--",
        label="live accounts",
    )
    accounts_ax.set_ylabel("accounts within the idle horizon", color="tab:gray")
    accounts_ax.set_ylim(bottom=0)
    rss_ax.axvline(plan.horizon_s / 60.0, color="tab:red", ls=":", label="retention horizon")
    rss_ax.set_title(
        f"riskflow soak: {summary['accounts_seen']:,} accounts, "
        f"{summary['decisions_per_s']:,.0f} decisions/s, {plan.allocator}; "
        f"after the horizon {summary['slope_after_horizon_mib_per_h']:+.1f} MiB/h"
    )
    handles = rss_ax.get_legend_handles_labels()
    more = accounts_ax.get_legend_handles_labels()
    rss_ax.legend(handles[0] + more[0], handles[1] + more[1], loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def run_soak(plan: SoakPlan) -> dict[str, Any]:
    """Run the soak; writes soak.csv, soak-rss.png and the flow's log into `plan.out`."""
    try:
        allocator = allocator_env(plan.allocator)
    except AllocatorUnavailable as exc:
        raise SoakError(str(exc)) from None
    plan.out.mkdir(parents=True, exist_ok=True)
    tag = f"soak-{uuid.uuid4().hex[:8]}"
    topics = {name: f"{tag}.{name}" for name in _TOPIC_NAMES}
    _create_topics(plan.bootstrap, list(topics.values()))
    port = plan.metrics_port or _free_port()
    config = _flow_config(plan, topics, port, plan.out)
    log = plan.out / "flow.log"
    # The flow reads its brokers from the config alone, not from this shell.
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "REDIS_URL")}
    env.update(allocator)
    with open(log, "wb") as log_fh:
        flow = subprocess.Popen(
            [sys.executable, "-m", "riskflow", "run", "--config", str(config)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_fh,
        )
        try:
            _wait_ready(flow, port, log, timeout_s=120.0)
            run = _offer(plan, flow, port, topics, log)
        finally:
            code = _stop(flow)
    run.exit_code = code
    label = f"{plan.rate:,.0f} msg/s over {plan.accounts:,} accounts, {plan.allocator} allocator"
    summary = _summary(plan, run, label)
    _plot(plan.out / "soak-rss.png", plan, run.samples, summary)
    return summary
