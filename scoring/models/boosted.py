"""Gradient-boosted trees refitted on the recent labels: a classifier with River's interface.

Fraud often hides in thresholds and interactions a weighted sum cannot draw (an amount
over a fixed limit, a terminal's fraud rate that only matters for small amounts). A
forest learning one label at a time (River's AMF, ARF) costs a millisecond per event;
LightGBM refitted in batch on a bounded window of the most recent labelled vectors costs
tens of microseconds per prediction, and its trees are plain data (LightGBM's text model
format), so a snapshot carries no code.

Refits run inside `learn_one` on a schedule of label counts: the first as soon as both
classes are present, then each time the labels since the last fit reach the size of
that fit (doubling while the window is young), and at most `refit_every` labels apart.
Training is single-threaded with LightGBM's deterministic mode, so a replay gives the
same trees every time. In a live flow (`scoring.models.refit_thread`) a refit on a full
window takes seconds: there it trains on a copy of the window in a thread (LightGBM leaves the
interpreter while it works), the trees in hand score until the new ones are ready, and the
flow never waits for a fit.
"""

from __future__ import annotations

import hashlib
import logging
import math
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Final

import lightgbm
import msgspec
import numpy as np

from riskflow.scoring.models.refit_thread import refit_executor

__all__ = ["BoostedState", "BoostedTrees", "TreeParams"]

log = logging.getLogger(__name__)

_F32_MAX: Final = float(np.finfo(np.float32).max)

_MAX_INPUTS: Final = 512
"""Inputs beyond this many distinct names are ignored: a vector's keys are bounded by the
catalogue, but one-hot and evidence names come from data and rules."""


class TreeParams(msgspec.Struct, frozen=True, kw_only=True):
    window: int = 100_000
    """Labelled vectors kept for refits, newest first out of the window last."""
    refit_every: int = 20_000
    """Labels between refits once the window is full."""
    first_fit: int = 50
    """Labels before the first fit (five of them frauds): when the bundle's head warms."""
    rounds: int = 150
    learning_rate: float = 0.05
    leaves: int = 31
    min_leaf: int = 50
    seed: int = 42


class BoostedState(msgspec.Struct, kw_only=True):
    """What a snapshot holds: the trees and the input names they were fitted on.

    The window itself stays with the learner (tens of megabytes): a learner restarted
    from a snapshot scores with these trees and refits once its window holds as many
    labels as the trees were fitted on."""

    params: TreeParams
    names: list[str]
    model: str
    """LightGBM's text model format; empty before the first fit."""
    fitted_rows: int = 0
    fitted_frauds: int = 0
    seen: int = 0
    since_fit: int = 0


@dataclass
class _Window:
    """A ring of the latest labelled rows, columns added as new input names appear."""

    size: int
    rows: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.float32))
    filled: int = 0
    next: int = 0

    def add(self, row: np.ndarray, label: bool, weight: float) -> None:
        if self.rows.shape[0] == 0:
            self.rows = np.zeros((min(self.size, 1024), row.size), dtype=np.float32)
            self.labels = np.zeros(self.rows.shape[0], dtype=np.float32)
            self.weights = np.zeros(self.rows.shape[0], dtype=np.float32)
        if row.size > self.rows.shape[1]:
            grown = np.zeros((self.rows.shape[0], row.size), dtype=np.float32)
            grown[:, : self.rows.shape[1]] = self.rows
            self.rows = grown
        if self.next >= self.rows.shape[0] and self.rows.shape[0] < self.size:
            n = min(self.size, self.rows.shape[0] * 2)
            self.rows = np.resize(self.rows, (n, self.rows.shape[1]))
            self.labels = np.resize(self.labels, n)
            self.weights = np.resize(self.weights, n)
        i = self.next % self.size
        self.rows[i, : row.size] = row
        self.rows[i, row.size :] = 0.0
        self.labels[i] = float(label)
        self.weights[i] = weight
        self.next = i + 1
        self.filled = min(self.filled + 1, self.size)

    def view(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        n = self.filled
        return self.rows[:n], self.labels[:n], self.weights[:n]


_BOOSTERS: OrderedDict[str, lightgbm.Booster] = OrderedDict()
"""Parsed models by the hash of their text: a snapshot published again with the same
trees (the label rates and counterparty table change more often) is not parsed again."""


def _booster(model: str) -> lightgbm.Booster:
    key = hashlib.sha256(model.encode()).hexdigest()
    found = _BOOSTERS.get(key)
    if found is None:
        found = lightgbm.Booster(model_str=model)
        _BOOSTERS[key] = found
        if len(_BOOSTERS) > 4:
            _BOOSTERS.popitem(last=False)
    else:
        _BOOSTERS.move_to_end(key)
    return found


class _Fitted:
    """A refit's result, made off the flow's thread in the background case."""

    def __init__(self, booster: lightgbm.Booster, columns: int, labels: np.ndarray) -> None:
        self.booster = booster
        self.model = booster.model_to_string()
        self.columns = columns
        self.rows = int(labels.size)
        self.frauds = int(labels.sum())


class BoostedTrees:
    """`learn_one` / `predict_proba_one` over dict vectors, as River's classifiers."""

    def __init__(self, params: TreeParams | None = None) -> None:
        self.params = params or TreeParams()
        self.names: dict[str, int] = {}
        self.window = _Window(self.params.window)
        self.model = ""
        self.fitted_rows = 0
        self.fitted_frauds = 0
        self.seen = 0
        self.since_fit = 0
        self.frauds = 0
        self.failed_fits = 0
        self._booster: lightgbm.Booster | None = None
        self._columns = 0
        self._pending: Future[_Fitted | None] | None = None

    def _row(self, x: dict[str, float], grow: bool) -> np.ndarray:
        if grow:
            for name in x:
                if name not in self.names and len(self.names) < _MAX_INPUTS:
                    self.names[name] = len(self.names)
        width = len(self.names) if grow else self._columns
        row = np.zeros(width, dtype=np.float32)
        names = self.names
        for name, value in x.items():
            i = names.get(name)
            if i is not None and i < width:
                v = float(value)
                # float32 holds up to about 3.4e38: larger finite values are clipped.
                row[i] = min(max(v, -_F32_MAX), _F32_MAX) if math.isfinite(v) else 0.0
        return row

    def learn_one(self, x: dict[str, float], y: bool, w: float = 1.0) -> None:
        self._adopt()
        self.window.add(self._row(x, grow=True), bool(y), float(w))
        self.seen += 1
        self.since_fit += 1
        self.frauds += bool(y)
        if self._pending is None and self._due():
            self._fit()

    def _due(self) -> bool:
        p = self.params
        if self.frauds < 5 or self.seen < p.first_fit:
            return False
        if not self.model:
            return self.failed_fits == 0 or self.since_fit >= p.first_fit
        # After a restart the window starts empty: the trees in hand score until it holds
        # as many labels as they were fitted on.
        if self.window.filled < min(self.fitted_rows, p.window):
            return False
        return self.since_fit >= min(p.refit_every, max(p.first_fit, self.fitted_rows))

    def _fit(self) -> None:
        rows, labels, weights = self.window.view()
        if labels.min() == labels.max():
            return  # one class in the window: nothing to separate yet
        # Labels from here on count towards the next refit, however long this one takes.
        self.since_fit = 0
        executor = refit_executor()
        if executor is not None:
            copies = rows.copy(), labels.copy(), weights.copy()
            self._pending = executor.submit(self._fitted, *copies)
        else:
            self._use(self._fitted(rows, labels, weights))

    def _fitted(self, rows: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> _Fitted | None:
        try:
            return _Fitted(self._train(rows, labels, weights), rows.shape[1], labels)
        except (lightgbm.basic.LightGBMError, ValueError, MemoryError) as exc:
            # A failed refit must not stop the learner: the trees in hand keep scoring and
            # the next refit is tried a full interval later.
            log.warning(
                "boosted trees: refit on %d labels failed (%s)", labels.size, type(exc).__name__
            )
            return None

    def _adopt(self) -> None:
        pending = self._pending
        if pending is not None and pending.done():
            self._pending = None
            self._use(pending.result())

    def _use(self, fitted: _Fitted | None) -> None:
        if fitted is None:
            self.failed_fits += 1
            return
        self.model = fitted.model
        self._booster = fitted.booster
        self._columns = fitted.columns
        self.fitted_rows = fitted.rows
        self.fitted_frauds = fitted.frauds

    def _train(self, rows: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> lightgbm.Booster:
        p = self.params
        data = lightgbm.Dataset(rows, labels, weight=weights, free_raw_data=True)
        return lightgbm.train(
            {
                "objective": "binary",
                "learning_rate": p.learning_rate,
                "num_leaves": p.leaves,
                "min_data_in_leaf": p.min_leaf,
                "num_threads": 1,
                "deterministic": True,
                "force_row_wise": True,
                "seed": p.seed,
                "verbose": -1,
            },
            data,
            num_boost_round=p.rounds,
        )

    def predict_proba_one(self, x: dict[str, float]) -> dict[bool, float]:
        self._adopt()
        booster = self._booster
        if booster is None:
            return {False: 0.5, True: 0.5}
        p = float(booster.predict(self._row(x, grow=False).reshape(1, -1), num_threads=1)[0])
        return {False: 1.0 - p, True: p}

    def state(self) -> BoostedState:
        ordered = sorted(self.names, key=self.names.__getitem__)
        return BoostedState(
            params=self.params,
            names=ordered,
            model=self.model,
            fitted_rows=self.fitted_rows,
            fitted_frauds=self.fitted_frauds,
            seen=self.seen,
            since_fit=self.since_fit,
        )

    @classmethod
    def from_state(cls, state: BoostedState) -> BoostedTrees:
        model = cls(state.params)
        if len(state.names) > _MAX_INPUTS or len(set(state.names)) != len(state.names):
            raise ValueError("boosted trees: bad input names")
        model.names = {name: i for i, name in enumerate(state.names)}
        model.seen, model.since_fit, model.fitted_rows, model.fitted_frauds = (
            state.seen,
            state.since_fit,
            state.fitted_rows,
            state.fitted_frauds,
        )
        model.frauds = 5 if state.model else 0
        if state.model:
            try:
                booster = _booster(state.model)
            except lightgbm.basic.LightGBMError:
                raise ValueError("boosted trees: not a LightGBM model") from None
            model.model, model._booster = state.model, booster
            model._columns = int(booster.num_feature())
            if model._columns > len(model.names):
                raise ValueError("boosted trees: the model reads inputs it does not name")
        return model

    def __deepcopy__(self, memo: dict[int, Any]) -> BoostedTrees:
        # The window is the learner's alone; a copy (a private snapshot) scores only.
        return BoostedTrees.from_state(self.state())
