"""A sweep driven by optuna: the axes are a search space, TPE picks the next runs.

Listed values are categorical choices; a numeric range LOW..HIGH is sampled continuously
(whole numbers for an int parameter); a stepped range LOW..HIGH:STEP is sampled on its
steps. Several trials run at once (one per worker): the sampler's constant liar keeps
them from all landing on the same point. A failed run is told to optuna as failed, so it
is not learnt as a good or bad value.
"""
from __future__ import annotations

import warnings
from decimal import Decimal
from typing import Any, Sequence

from app.wiring.sweep import RunResult
from app.wiring.sweep_space import SOURCE, Axis, format_value


class OptunaDriver:
    def __init__(self, axes: Sequence[Axis], trials: int, *, minimize: bool = False, seed: int | None = None) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)  # constant_liar
            sampler = optuna.samplers.TPESampler(seed=seed, constant_liar=True)
        self.study = optuna.create_study(direction="minimize" if minimize else "maximize", sampler=sampler)
        self.axes = list(axes)
        self.total = trials
        self._trials: dict[int, Any] = {}
        self._asked = 0

    def next_point(self) -> dict[str, Any] | None:
        if self._asked >= self.total:
            return None
        trial = self.study.ask()
        self._trials[self._asked] = trial
        self._asked += 1
        return {axis.key: suggest(trial, axis) for axis in self.axes}

    def finished(self, index: int, result: RunResult, value: Decimal | None) -> None:
        from optuna.trial import TrialState

        trial = self._trials.pop(index, None)
        if trial is None:
            return
        if value is None:
            self.study.tell(trial, state=TrialState.FAIL)
        else:
            self.study.tell(trial, float(value))


def suggest(trial: Any, axis: Axis) -> Any:
    """The trial's value for this axis, checked by the axis's Field like any other value."""
    spec = axis.field
    if axis.values and axis.step is not None:  # a stepped range: ordered steps
        return axis.values[trial.suggest_int(axis.key, 0, len(axis.values) - 1)]
    if axis.values:
        labels = [format_value(v) for v in axis.values]
        return axis.values[labels.index(trial.suggest_categorical(axis.key, labels))]
    if spec.kind == "int":
        raw: Any = trial.suggest_int(axis.key, int(axis.low), int(axis.high))
    else:
        sampled = trial.suggest_float(axis.key, float(axis.low), float(axis.high))
        raw = Decimal(f"{sampled:.6g}") if spec.kind == "decimal" else float(f"{sampled:.6g}")
        raw = min(max(raw, type(raw)(axis.low)), type(raw)(axis.high))  # 6 digits may round past a bound
    return spec.coerce(raw, SOURCE, axis.key[: len(axis.key) - len(spec.name)])
