"""Learned models: scoring cost per event, learning throughput, snapshot size and time.

Real feature vectors from the simulated bank (features computed exactly as the
flow does), a champion trained on 5,000 labels, then: the whole model path of
a decision (vector, anomaly score and learning, champion probability, shadow
sample, feature-log record), the learner's labels per second, and snapshot
bytes, write and load times. The alternative recipe (adaptive random forest)
is timed on the same vectors for the quality-per-microsecond choice.
"""

from __future__ import annotations

import random
import time
from typing import Any

from riskflow.contract.messages import Login, Payment
from riskflow.contract.parse import Envelope, Raw, parse
from riskflow.features.account import AccountState
from riskflow.features.catalog import Features
from riskflow.scoring.models.bundle import ModelBundle
from riskflow.scoring.models.holder import ModelHolder
from riskflow.scoring.models.scorer import ModelScorer
from riskflow.scoring.models.store import MemoryModelStore
from riskflow.scoring.models.vectors import vector
from riskflow.simulator.config import SimConfig
from riskflow.simulator.stream import generate

__all__ = ["bench_models", "compare_recipes"]


def _featured(events: int, seed: int = 3) -> list[tuple[Payment | Login, Features]]:
    states: dict[str, AccountState] = {}
    out: list[tuple[Payment | Login, Features]] = []
    for rec in generate(SimConfig(seed=seed, customers=5000, max_events=events, days=3650.0)):
        env = parse(Raw(rec.kind, rec.payload, rec.kind))
        if not isinstance(env, Envelope) or not isinstance(env.event, Payment | Login):
            continue
        ev = env.event
        st = states.setdefault(ev.account_id, AccountState())
        t = ev.ts.timestamp()
        f = (
            st.on_payment(ev, t, ev.ts.hour)
            if isinstance(ev, Payment)
            else st.on_login(ev, t, ev.ts.hour)
        )
        out.append((ev, f))
    return out


def _trained(items: list[tuple[Payment | Login, Features]], labels: int) -> ModelBundle:
    rng = random.Random(1)
    bundle = ModelBundle()
    for i, (ev, f) in enumerate(items[:labels]):
        kind = "payment" if isinstance(ev, Payment) else "login"
        # Synthetic outcome, enough to warm both heads: cost, not quality, is measured here.
        fraud = (bool(f.get("is_new_payee")) and rng.random() < 0.5) or rng.random() < 0.02
        bundle.learn(kind, vector(ev, f), 0.5, [], 0.01, fraud, float(i))
    return bundle


def bench_models(events: int = 60_000, labels: int = 5_000) -> dict[str, Any]:
    items = _featured(events)
    started = time.perf_counter()
    bundle = _trained(items, labels)
    learn_s = time.perf_counter() - started
    store = MemoryModelStore()
    started = time.perf_counter()
    snap = bundle.to_snapshot()
    write_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    snap.load().frozen()
    load_ms = (time.perf_counter() - started) * 1000
    store.publish("champion", snap)
    store.publish("challenger", snap)
    scorer = ModelScorer(
        ModelHolder(store, "champion", check_interval_s=1.0),
        ModelHolder(store, "challenger", check_interval_s=1.0),
    )
    for ev, f in items[:2000]:  # warm the anomaly detector's window
        scorer.score(ev, f, [], [])
    started = time.perf_counter()
    for ev, f in items:
        scorer.score(ev, f, [], [])
    score_us = (time.perf_counter() - started) / len(items) * 1e6
    started = time.perf_counter()
    for ev, f in items:
        vector(ev, f)
    vector_us = (time.perf_counter() - started) / len(items) * 1e6
    return {
        "benchmark": "models",
        "events_scored": len(items),
        "score_us_per_event": round(score_us, 2),
        "of_which_vector_us": round(vector_us, 2),
        "learn_labels_per_s": round(labels / learn_s),
        "snapshot_bytes": len(snap.blob or b""),
        "snapshot_write_ms": round(write_ms, 2),
        "snapshot_load_ms": round(load_ms, 2),
        "arf_predict_us": _arf_cost(items[:3000]),
    }


def compare_recipes(days: float = 12.0, customers: int = 5000) -> dict[str, Any]:
    """Prequential quality on the labelled payments of a simulated bank, and cost per prediction.

    Each label is predicted by each recipe before it learns it, in label-time order, from the
    features its event had: the same protocol as the flow's learner.
    """
    from river import forest

    from riskflow.contract.messages import Feedback
    from riskflow.scoring.models.learners import classifier
    from riskflow.scoring.models.prequential import average_precision, roc_auc

    states: dict[str, AccountState] = {}
    logged: dict[str, dict[str, float]] = {}
    recipes: dict[str, Any] = {
        "scaled logistic regression": classifier(),
        "adaptive random forest (10 trees)": forest.ARFClassifier(n_models=10, seed=1),
        "boosted trees (LightGBM, refitted)": classifier("boosted"),
        "blend (logistic + boosted trees)": classifier("blend"),
    }
    weighted = {name for name in recipes if "forest" not in name}
    seen: dict[str, list[tuple[float, bool]]] = {name: [] for name in recipes}
    spent = dict.fromkeys(recipes, 0.0)
    config = SimConfig(seed=5, customers=customers, days=days, events_per_customer_day=6.0)
    for rec in generate(config):
        env = parse(Raw(rec.kind, rec.payload, rec.kind))
        if not isinstance(env, Envelope):
            continue
        ev = env.event
        if isinstance(ev, Feedback):
            x = logged.pop(ev.event_id, None)
            if x is None:
                continue
            fraud = ev.label == "fraud"
            for name, model in recipes.items():
                started = time.perf_counter()
                p = model.predict_proba_one(x).get(True, 0.0)
                spent[name] += time.perf_counter() - started
                seen[name].append((p, fraud))
                model.learn_one(
                    x, fraud, **({"w": 3.0 if fraud else 1.0} if name in weighted else {})
                )
            continue
        if not isinstance(ev, Payment):
            if isinstance(ev, Login):
                st = states.setdefault(ev.account_id, AccountState())
                st.on_login(ev, ev.ts.timestamp(), ev.ts.hour)
            continue
        st = states.setdefault(ev.account_id, AccountState())
        f = st.on_payment(ev, ev.ts.timestamp(), ev.ts.hour)
        logged[ev.event_id] = vector(ev, f)
    out: dict[str, Any] = {"benchmark": "model recipes", "days": days}
    for name, pairs in seen.items():
        scores, labels = [p for p, _ in pairs], [y for _, y in pairs]
        out[f"{name}: AP"] = round(average_precision(scores, labels), 4)
        out[f"{name}: ROC AUC"] = round(roc_auc(scores, labels), 4)
        out[f"{name}: µs/prediction"] = round(spent[name] / len(pairs) * 1e6, 1)
    out["labelled payments"] = len(seen["scaled logistic regression"])
    return out


def _arf_cost(items: list[tuple[Payment | Login, Features]]) -> float:
    from river import forest

    model = forest.ARFClassifier(n_models=10, seed=1)
    rng = random.Random(2)
    xs = [vector(ev, f) for ev, f in items]
    for x in xs[:2000]:
        model.learn_one(x, rng.random() < 0.1)
    started = time.perf_counter()
    for x in xs:
        model.predict_proba_one(x)
    return round((time.perf_counter() - started) / len(xs) * 1e6, 1)
