"""`colibri sweep`: many backtests of one config over a grid of parameter values, in
parallel on local processes or a Dask cluster, or a search by optuna (app/wiring/sweep.py).

Every --grid value is checked by the strategy's schema before anything runs; bad input is
one line and exit 2, like every other subcommand. The CSV (one row per run, best first)
is written atomically, also after Ctrl-C with the runs that finished (exit 130).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from app.config.schema import ConfigError


def _positive_int(what: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < 1 or value > 100_000:
            raise argparse.ArgumentTypeError(f"expected {what} from 1 to 100000, got {text!r}")
        return value

    return parse


def add_sweep_parser(sub: Any) -> argparse.ArgumentParser:
    from app.cli import positive_number

    p = sub.add_parser(
        "sweep", help="backtest every combination of parameter values (or optuna's picks) in parallel; CSV out",
        description="Backtests one config with different parameter values, in worker processes or on a Dask "
                    "cluster. Example: sweep --config demo.yaml --grid bid_spread_bps=0.5,1,2 "
                    "--grid order_levels=1,2 --duration 600 --out sweep.csv")
    p.add_argument("--config", required=True, help="bot config (YAML): the base of every run")
    p.add_argument("--grid", action="append", required=True, metavar="PARAM=V1,V2[,...]",
                   help="a parameter and its values; repeat for more (the runs are every combination). PARAM is a "
                        "strategy parameter, venue.FIELD (venue.seed, venue.latency_ms) or instrument.RULE "
                        "(instrument.maker_fee). Numbers also as LOW..HIGH:STEP, or LOW..HIGH with --optuna")
    p.add_argument("--duration", type=positive_number("a number of seconds"), default=3600.0,
                   help="simulated seconds per run (default 3600)")
    p.add_argument("--workers", type=_positive_int("a number of worker processes"),
                   help="runs at once (default: the number of CPUs; with --dask local: the cluster's workers)")
    p.add_argument("--dask", metavar="ADDRESS|local",
                   help="run on Dask: 'local' starts a local cluster for the sweep, tcp://host:port uses a running "
                        "scheduler (its workers need Colibri and the config file at the same path)")
    p.add_argument("--optuna", type=_positive_int("a number of trials"), metavar="TRIALS",
                   help="let optuna (TPE) choose TRIALS runs in the grid's space instead of running every combination")
    p.add_argument("--metric", help="the report figure to rank by and optimise (default pnl_quote, or pnl for "
                                    "perpetuals); e.g. fills, fees_quote, max_drawdown, return_pct")
    p.add_argument("--minimize", action="store_true", help="lower is better (for drawdown, fees...)")
    p.add_argument("--seed", type=int, help="optuna's sampler seed (repeatable searches)")
    p.add_argument("--out", metavar="FILE.csv", help="write the CSV here (default: standard output)")
    p.set_defaults(func=cmd_sweep)
    return p


class ProgressPrinter:
    """Runs done/total, best so far, elapsed and time left: one line redrawn in place on a
    terminal, one plain line per finished run otherwise (logs, pipes, CI)."""

    def __init__(self, out: TextIO, tty: bool | None = None, min_interval_s: float = 0.2) -> None:
        self.out = out
        self.tty = out.isatty() if tty is None else tty
        self._shown_done = -1 if self.tty else 0  # a log gets a line per finished run, not "0 done"
        self._last = 0.0
        self._min_interval = min_interval_s

    def __call__(self, tracker: Any) -> None:
        changed = tracker.done != self._shown_done
        now = time.monotonic()
        if not changed and (not self.tty or now - self._last < self._min_interval):
            return
        self._shown_done, self._last = tracker.done, now
        line = tracker.progress_line()
        self.out.write(f"\r{line}\x1b[K" if self.tty else line + "\n")
        self.out.flush()

    def end(self) -> None:
        if self.tty and self._shown_done >= 0:
            self.out.write("\n")
            self.out.flush()


def cmd_sweep(args: argparse.Namespace) -> int:
    from app.config.bot_config import load_config
    from app.engine.report import write_text_atomic
    from app.wiring.preflight import check_writable
    from app.wiring.sweep import GridDriver, SweepTracker, run_sweep
    from app.wiring.sweep_space import parse_axes

    config_path = str(Path(args.config).expanduser().resolve())
    config = load_config(config_path)
    axes = parse_axes(args.grid, config.strategy, sampled=args.optuna is not None)
    if args.metric is not None and not args.metric.strip():
        raise ConfigError("--metric", "", "no metric name given")
    if args.seed is not None and args.optuna is None:
        raise ConfigError("--seed", "", "the seed is optuna's: give --optuna TRIALS too")
    if args.out:
        check_writable(args.out, "--out")
    if args.optuna is not None:
        from app.wiring.sweep_optuna import OptunaDriver

        driver: Any = OptunaDriver(axes, args.optuna, minimize=args.minimize, seed=args.seed)
    else:
        driver = GridDriver(axes)
    tracker = SweepTracker(driver.total, [a.key for a in axes], args.metric and args.metric.strip(), args.minimize)
    backend = _backend(args, driver.total)
    progress = ProgressPrinter(sys.stderr)
    try:
        print(f"sweep: {driver.total} run(s) of {args.duration:g} simulated s, {backend.slots} at once "
              f"({_where(backend, args.dask)})", file=sys.stderr, flush=True)
        completed = run_sweep(backend, config_path, args.duration, driver, tracker, on_progress=progress)
    finally:
        progress.end()
        backend.close()
    text = tracker.to_csv()
    if args.out:
        write_text_atomic(args.out, text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
    where = f"; written to {args.out}" if args.out else ""
    state = "done" if completed else "interrupted"
    print(f"sweep {state}: {tracker.done}/{tracker.total} run(s), {tracker.failed} failed, best "
          f"{tracker.describe_best()}{where}", file=sys.stderr)
    return 0 if completed else 130


def _where(backend: Any, dask: str | None) -> str:
    if dask is None:
        return "worker processes"
    link = getattr(backend, "dashboard", None)
    return f"dask {dask}" + (f", dashboard {link}" if link else "")


def _backend(args: argparse.Namespace, total: int) -> Any:
    from app.wiring.sweep_backends import DaskBackend, ProcessBackend, default_workers

    if args.dask is not None:
        address = args.dask.strip()
        if not address:
            raise ConfigError("--dask", "", "expected 'local' or a scheduler address such as tcp://host:8786")
        return DaskBackend(address, args.workers)
    return ProcessBackend(min(args.workers or default_workers(), total))
