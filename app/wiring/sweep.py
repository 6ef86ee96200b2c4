"""Parameter sweeps: many backtests of one config with different settings, in parallel.

The engine is Qt-free and executor-agnostic: a *driver* says which settings to run next
(every grid point, or what optuna asks for), a *backend* runs them (worker processes or a
Dask cluster, app/wiring/sweep_backends.py) and a *tracker* collects the results (best so
far, time left, the CSV). Workers get the config file's path (or a plain BotConfig from the
desktop) and the overrides, never engine objects, and load and validate the config
themselves; `run_one` never raises, so one bad run is one error row, not a dead sweep.
"""
from __future__ import annotations

import csv
import io
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

from app.config.bot_config import BotConfig, load_config
from app.config.schema import ConfigError, one_line
from app.wiring.sweep_space import Axis, apply_overrides, expand_grid, format_value, grid_size

ConfigRef = str | BotConfig
"""What a worker is given: a config file's path (it loads it) or a BotConfig (plain data)."""
DEFAULT_METRICS = ("pnl_quote", "pnl")
"""The metric when none is chosen: spot reports have pnl_quote, perpetuals only pnl."""
MAX_ATTEMPTS = 2
"""A run whose worker process died is tried once more in a fresh pool: a crash beside it
(another run's) should not cost it its result; a run that crashes twice is an error row."""

_quieted = False


def describe_error(exc: BaseException) -> str:
    """The one line the command line prints for this error (no traceback)."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return one_line(f"{where}{exc.strerror}")
    if isinstance(exc, ValueError):  # ConfigError, RecordingError...
        return one_line(str(exc) or type(exc).__name__)
    return one_line(f"{type(exc).__name__}: {exc}")


def _quiet_logging() -> None:
    """A worker's bots log warnings (a stale book, a refused order): the report counts
    them, so they must not scroll through the sweep's progress line."""
    global _quieted
    if not _quieted:
        root = logging.getLogger()
        if not root.handlers:
            root.addHandler(logging.NullHandler())
        _quieted = True


def run_one(config_ref: ConfigRef, overrides: dict[str, Any], duration_s: float) -> dict[str, Any]:
    """One backtest, in a worker. Returns {"metrics": {...}, "wall_seconds": s} or, for a
    run that failed, {"error": one line, ...}; a bot that stopped on a strategy error keeps
    its metrics and says why it stopped. Never raises (every backend relies on it)."""
    from app.wiring.runners import run_simulated

    _quiet_logging()
    started = time.perf_counter()
    sessions: list[Any] = []
    try:
        config = load_config(config_ref) if isinstance(config_ref, (str, Path)) else config_ref
        report = run_simulated(apply_overrides(config, overrides), duration_s, on_ready=sessions.append)
        out: dict[str, Any] = {"metrics": report_metrics(report)}
        error = getattr(sessions[0].bot, "error", None) if sessions else None
        if error:
            out["error"] = f"the bot stopped: {one_line(error)}"
    except Exception as exc:  # noqa: BLE001 - every failure becomes this run's error row
        out = {"error": describe_error(exc)}
    out["wall_seconds"] = round(time.perf_counter() - started, 3)
    return out


def report_metrics(report: dict[str, Any]) -> dict[str, Any]:
    """Every scalar of a backtest report (whatever keys it has today), plus a maximum
    drawdown from the PnL curve and a return on capital where the report has none."""
    metrics = {key: value for key, value in report.items()
               if value is None or isinstance(value, (str, int, float, Decimal))}
    if not any("drawdown" in key for key in metrics):
        drawdown = _curve_drawdown(report)
        if drawdown is not None:
            metrics["max_drawdown"] = format_value(drawdown)
    if not any("return" in key for key in metrics):
        ret = _return_pct(report)
        if ret is not None:
            metrics["return_pct"] = format_value(ret)
    return metrics


def _curve_drawdown(report: dict[str, Any]) -> Decimal | None:
    """The deepest fall of PnL from its running peak (0 at the start), in the PnL asset."""
    points = (report.get("curve") or {}).get("points") or []
    peak = worst = Decimal(0)
    try:
        for point in points:
            pnl = Decimal(str(point[1]))
            peak = max(peak, pnl)
            worst = max(worst, peak - pnl)
    except (InvalidOperation, IndexError, TypeError):
        return None
    return worst if points else None


def _return_pct(report: dict[str, Any]) -> Decimal | None:
    """PnL over the starting capital valued at the final mark, in percent."""
    pnl, asset, start = number(report.get("pnl")), report.get("pnl_asset"), report.get("start_balances") or {}
    if pnl is None or not asset:
        return None
    capital = number((start.get(asset) or {}).get("total")) or Decimal(0)
    base, _, _ = str(report.get("symbol", "")).partition("/")
    mark = number(report.get("mark_price"))
    if "position" not in report and base in start and mark is not None:
        capital += (number(start[base].get("total")) or Decimal(0)) * mark
    if capital <= 0:
        return None
    return (pnl * 100 / capital).quantize(Decimal("1e-6"))


def number(value: Any) -> Decimal | None:
    """A metric as an exact number, or None (missing, text, NaN)."""
    if value is None or isinstance(value, bool):
        return None if value is None else Decimal(int(value))
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return result if result.is_finite() else None


@dataclass
class RunResult:
    index: int
    params: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    wall_seconds: float | None = None


class SweepTracker:
    """The results so far: counts, the best run, time left, the sorted table. Fed by any
    loop (the command line's, the desktop's timer), so both show the same figures."""

    def __init__(self, total: int, keys: Sequence[str], metric: str | None = None, minimize: bool = False,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total = total
        self.keys = list(keys)
        self.metric = metric
        self.minimize = minimize
        self.results: list[RunResult] = []
        self.best: RunResult | None = None
        self._clock = clock
        self.started = clock()

    @property
    def done(self) -> int:
        return len(self.results)

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.error)

    def add(self, result: RunResult) -> None:
        """Raises ConfigError (naming --metric) when a good run's report lacks the metric."""
        if result.metrics and not result.error:
            if self.metric is None:
                self.metric = next((m for m in DEFAULT_METRICS if m in result.metrics), DEFAULT_METRICS[-1])
            if self.metric not in result.metrics:
                known = ", ".join(k for k, v in result.metrics.items() if number(v) is not None)
                raise ConfigError("--metric", self.metric, f"not a figure of the backtest report (it has: {known})")
        self.results.append(result)
        value = self.value(result)
        if value is not None and (self.best is None or self._better(value, self.value(self.best))):
            self.best = result

    def value(self, result: RunResult) -> Decimal | None:
        """The run's metric; None for a failed run (its figures are not comparable)."""
        if result.error or self.metric is None:
            return None
        return number(result.metrics.get(self.metric))

    def _better(self, value: Decimal, than: Decimal | None) -> bool:
        return than is None or (value < than if self.minimize else value > than)

    def elapsed_s(self) -> float:
        return self._clock() - self.started

    def eta_s(self) -> float | None:
        """Time left at the pace so far (runs finish in parallel, so this is per slot)."""
        if not self.results:
            return None
        return self.elapsed_s() / self.done * max(0, self.total - self.done)

    def sorted_results(self) -> list[RunResult]:
        """Best first by the metric; runs without a value (failed) last, in run order."""
        scored = [(self.value(r), r) for r in self.results]
        sign = 1 if self.minimize else -1
        good = sorted(((v, r) for v, r in scored if v is not None), key=lambda vr: (sign * vr[0], vr[1].index))
        rest = sorted((r for v, r in scored if v is None), key=lambda r: r.index)
        return [r for _, r in good] + rest

    def describe_best(self) -> str:
        if self.best is None:
            return "no result yet"
        params = ", ".join(f"{k}={format_value(v)}" for k, v in self.best.params.items())
        return f"{self.metric} {_short(self.value(self.best))}" + (f" at {params}" if params else "")

    def progress_line(self) -> str:
        failed = f", {self.failed} failed" if self.failed else ""
        eta = self.eta_s()
        left = f", ~{clock_text(eta)} left" if eta is not None and self.done < self.total else ""
        return (f"sweep {self.done}/{self.total} runs{failed} | best {self.describe_best()} | "
                f"{clock_text(self.elapsed_s())} elapsed{left}")

    def to_csv(self) -> str:
        """One row per run, best first: run, parameters, the metric, error, the rest."""
        metric = self.metric or DEFAULT_METRICS[0]
        extra: list[str] = []
        for result in self.results:
            extra.extend(k for k in result.metrics if k != metric and k not in extra and k not in self.keys)
        columns = ["run", *self.keys, metric, "error", "wall_seconds", *extra]
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(columns)
        for r in self.sorted_results():
            cells = {"run": r.index, "error": r.error or "", "wall_seconds": r.wall_seconds, **r.metrics,
                     **{k: format_value(v) for k, v in r.params.items()}}
            writer.writerow(["" if cells.get(c) is None else format_value(cells[c]) for c in columns])
        return out.getvalue()


def _short(value: Decimal | None) -> str:
    return "-" if value is None else format_value(value.quantize(Decimal("1e-4")) if value.adjusted() >= -4 else value)


def clock_text(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


class Driver(Protocol):
    """Decides the runs: `next_point` gives the next overrides (None: nothing more to start
    now), `finished` hears each result (optuna learns from it)."""

    total: int

    def next_point(self) -> dict[str, Any] | None: ...

    def finished(self, index: int, result: RunResult, value: Decimal | None) -> None: ...


class GridDriver:
    """Every point of the grid, in grid order."""

    def __init__(self, axes: Sequence[Axis]) -> None:
        self.total = grid_size(axes)
        self._points: Iterator[dict[str, Any]] = expand_grid(axes)

    def next_point(self) -> dict[str, Any] | None:
        return next(self._points, None)

    def finished(self, index: int, result: RunResult, value: Decimal | None) -> None:
        pass


class Backend(Protocol):
    """Runs `run_one` somewhere; futures call their done-callbacks when finished."""

    slots: int

    def submit(self, config_ref: ConfigRef, overrides: dict[str, Any], duration_s: float) -> Any: ...

    def outcome(self, future: Any) -> dict[str, Any]:
        """run_one's dict; a lost worker gives {"error": ..., "retry": True}. Never raises."""
        ...

    def cancel(self, futures: Sequence[Any]) -> None: ...


def run_sweep(backend: Backend, config_ref: ConfigRef, duration_s: float, driver: Driver, tracker: SweepTracker,
              *, in_flight: int | None = None, on_progress: Callable[[SweepTracker], None] | None = None,
              tick_s: float = 0.5, stop: threading.Event | None = None) -> bool:
    """Runs the sweep to its end; True when complete, False after Ctrl-C or `stop` (the
    desktop's Cancel): pending runs cancelled, finished ones kept in `tracker`. Other
    errors cancel what is running and propagate."""
    limit = max(1, in_flight or backend.slots)
    finished: queue.Queue[Any] = queue.Queue()
    running: dict[Any, tuple[int, dict[str, Any], int]] = {}  # future -> (index, overrides, attempt)
    started = 0

    def submit(index: int, overrides: dict[str, Any], attempt: int) -> None:
        future = backend.submit(config_ref, overrides, duration_s)
        running[future] = (index, overrides, attempt)
        future.add_done_callback(finished.put)

    try:
        while True:
            if stop is not None and stop.is_set():
                backend.cancel(list(running))
                return False
            while len(running) < limit and started < driver.total:
                overrides = driver.next_point()
                if overrides is None:
                    break
                submit(started, overrides, 1)
                started += 1
            if not running:
                return True
            try:
                future = finished.get(timeout=tick_s)
            except queue.Empty:
                if on_progress is not None:
                    on_progress(tracker)  # elapsed and time left move on between results
                continue
            index, overrides, attempt = running.pop(future)
            outcome = backend.outcome(future)
            if outcome.get("retry") and attempt < MAX_ATTEMPTS:
                submit(index, overrides, attempt + 1)
                continue
            result = RunResult(index, overrides, outcome.get("metrics") or {}, outcome.get("error"),
                               outcome.get("wall_seconds"))
            tracker.add(result)
            driver.finished(index, result, tracker.value(result))
            if on_progress is not None:
                on_progress(tracker)
    except KeyboardInterrupt:
        backend.cancel(list(running))
        return False
    except BaseException:
        backend.cancel(list(running))
        raise
