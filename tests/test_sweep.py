"""Parameter sweeps: the space (parsing, validation, grid), the tracker and CSV, and real
sweeps through the command line on worker processes, a local Dask cluster and optuna."""
from __future__ import annotations

import csv
import io
import signal
import subprocess
import sys
from decimal import Decimal
from itertools import product
from pathlib import Path

import pytest

from app.cli import main
from app.config.bot_config import load_config
from app.config.schema import ConfigError
from app.sweep_cli import ProgressPrinter
from app.wiring.sweep import RunResult, SweepTracker, report_metrics, run_one
from app.wiring.sweep_space import apply_overrides, expand_grid, grid_size, parse_axes, parse_axis

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "configs" / "demo.yaml"
QUOTER = "simple_quoter"


# -- the space --------------------------------------------------------------------------------
def test_grid_is_the_cartesian_product_in_nested_loop_order() -> None:
    axes = parse_axes(["bid_spread_bps=0.5,2", "strategy.params.order_levels=1,2,3", "venue.seed=4"], QUOTER)
    assert [a.key for a in axes] == ["bid_spread_bps", "order_levels", "venue.seed"]
    points = list(expand_grid(axes))
    assert grid_size(axes) == len(points) == 6
    assert points[0] == {"bid_spread_bps": Decimal("0.5"), "order_levels": 1, "venue.seed": 4}
    assert points[1]["order_levels"] == 2 and points[3]["bid_spread_bps"] == Decimal(2)
    assert {(p["bid_spread_bps"], p["order_levels"]) for p in points} == set(product([Decimal("0.5"), Decimal(2)],
                                                                                      [1, 2, 3]))


def test_stepped_range_walks_exact_decimals() -> None:
    axis = parse_axis("bid_spread_bps=0.1..0.5:0.1", QUOTER)
    assert axis.values == tuple(Decimal(t) for t in ("0.1", "0.2", "0.3", "0.4", "0.5"))
    assert parse_axis("order_levels=1..7:3", QUOTER).values == (1, 4, 7)
    assert parse_axis("post_only=true,no", QUOTER).values == (True, False)


def test_a_range_without_step_is_for_optuna_only() -> None:
    sampled = parse_axis("bid_spread_bps=0.5..3", QUOTER, sampled=True)
    assert sampled.is_range and sampled.values == () and (sampled.low, sampled.high) == (Decimal("0.5"), Decimal(3))
    with pytest.raises(ConfigError, match=r"bid_spread_bps: a range needs a step .*--optuna"):
        parse_axis("bid_spread_bps=0.5..3", QUOTER)


@pytest.mark.parametrize("text, expected", [
    ("nosuch=1,2", "--grid: nosuch: unknown parameter of simple_quoter (known: order_amount"),
    ("bid_spread_bps=1,6000", "--grid: bid_spread_bps: must be at most 5000 bp, got '6000'"),
    ("order_levels=1,1.5", "--grid: order_levels: expected a whole number, got '1.5'"),
    ("venue.latency_ms=-1", "--grid: venue.latency_ms: must be at least 0 ms, got '-1'"),
    ("instrument.maker_fee=0.5", "--grid: instrument.maker_fee: must be at most 0.1, got '0.5'"),
    ("venue.kind=demo,replay", "--grid: venue.kind: a sweep runs on one venue"),
    ("bid_spread_bps=", "--grid: bid_spread_bps: no values given"),
    ("bid_spread_bps=1,,2", "--grid: bid_spread_bps: an empty value"),
    ("bid_spread_bps=1,1", "--grid: bid_spread_bps: a value is listed twice"),
    ("bid_spread_bps", "--grid: bid_spread_bps: expected PARAM=V1,V2,... or PARAM=LOW..HIGH"),
    ("bid_spread_bps=3..1:1", "--grid: bid_spread_bps: the range '3..1:1' is empty"),
    ("bid_spread_bps=1..3:0", "--grid: bid_spread_bps: the step must be greater than 0"),
    ("order_levels=1..3:0.5", "--grid: order_levels: the step must be a whole number greater than 0"),
    ("post_only=true..false", "--grid: post_only: a range LOW..HIGH needs a number parameter"),
    ("post_only=maybe", "--grid: post_only: expected true or false, got 'maybe'"),
])
def test_bad_axes_name_the_key_and_the_value(text: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_axes([text], QUOTER)
    assert str(caught.value).startswith(expected), str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_key_given_twice_is_refused() -> None:
    with pytest.raises(ConfigError, match="bid_spread_bps: given twice"):
        parse_axes(["bid_spread_bps=1", "strategy.params.bid_spread_bps=2"], QUOTER)


def test_overrides_make_a_validated_copy() -> None:
    base = load_config(DEMO)
    changed = apply_overrides(base, {"bid_spread_bps": Decimal(3), "venue.latency_ms": 5.0,
                                     "instrument.maker_fee": Decimal("0.0002")})
    assert changed.params["bid_spread_bps"] == Decimal(3) and changed.venue["latency_ms"] == 5.0
    assert changed.instrument_overrides == {"maker_fee": Decimal("0.0002")}
    assert base.params["bid_spread_bps"] == Decimal("0.5") and base.instrument_overrides == {}
    assert changed.params["order_levels"] == base.params["order_levels"]


# -- tracker and CSV -----------------------------------------------------------------------------
def result(index: int, spread: str, pnl: str | None, error: str | None = None, **extra) -> RunResult:
    metrics = {} if pnl is None else {"pnl_quote": pnl, "pnl": pnl, "fills": 3, **extra}
    return RunResult(index, {"bid_spread_bps": Decimal(spread)}, metrics, error, 0.5)


def test_csv_is_best_first_with_failed_runs_last() -> None:
    tracker = SweepTracker(4, ["bid_spread_bps"])
    for r in (result(0, "0.5", "-1.5"), result(1, "1", None, "bad: boom"), result(2, "2", "2.25", venue="demo (seed 7)"),
              result(3, "3", "0.1")):
        tracker.add(r)
    assert tracker.metric == "pnl_quote" and tracker.best is not None and tracker.best.index == 2
    rows = list(csv.DictReader(io.StringIO(tracker.to_csv())))
    assert list(rows[0])[:6] == ["run", "bid_spread_bps", "pnl_quote", "error", "wall_seconds", "pnl"]
    assert [r["run"] for r in rows] == ["2", "3", "0", "1"]
    assert rows[0]["bid_spread_bps"] == "2" and rows[0]["pnl_quote"] == "2.25" and rows[0]["venue"] == "demo (seed 7)"
    assert rows[3]["error"] == "bad: boom" and rows[3]["pnl_quote"] == "" and rows[1]["venue"] == ""
    assert tracker.done == 4 and tracker.failed == 1


def test_minimize_and_a_chosen_metric() -> None:
    tracker = SweepTracker(3, ["bid_spread_bps"], metric="max_drawdown", minimize=True)
    tracker.add(result(0, "1", "1", max_drawdown="4"))
    tracker.add(result(1, "2", "1", max_drawdown="0.5"))
    tracker.add(result(2, "3", "1", max_drawdown="2"))
    assert [r.index for r in tracker.sorted_results()] == [1, 2, 0]
    assert tracker.describe_best() == "max_drawdown 0.5000 at bid_spread_bps=2"


def test_a_metric_the_report_lacks_is_a_config_error() -> None:
    tracker = SweepTracker(2, ["bid_spread_bps"], metric="sharpe_of_dreams")
    tracker.add(result(0, "1", None, "failed"))  # a failed run says nothing about the metric
    with pytest.raises(ConfigError, match=r"--metric: sharpe_of_dreams: not a figure of the backtest report \(it has: "):
        tracker.add(result(1, "2", "1"))


def test_progress_line_and_time_left() -> None:
    now = [100.0]
    tracker = SweepTracker(4, ["bid_spread_bps"], clock=lambda: now[0])
    now[0] = 110.0
    tracker.add(result(0, "1", "0.5"))
    assert tracker.eta_s() == pytest.approx(30.0)
    assert tracker.progress_line() == ("sweep 1/4 runs | best pnl_quote 0.5000 at bid_spread_bps=1 | "
                                       "0:10 elapsed, ~0:30 left")
    plain, tty = io.StringIO(), io.StringIO()
    ProgressPrinter(plain, tty=False)(tracker)
    ProgressPrinter(tty, tty=True)(tracker)
    assert plain.getvalue() == tracker.progress_line() + "\n"
    assert tty.getvalue() == "\r" + tracker.progress_line() + "\x1b[K"


def test_report_metrics_keep_scalars_and_derive_drawdown_and_return() -> None:
    report = {"pnl": "-2", "pnl_quote": "-2", "pnl_asset": "USDT", "fills": 4, "symbol": "BTC/USDT", "mark_price": "100",
              "start_balances": {"USDT": {"total": "1000"}, "BTC": {"total": "1"}}, "gaps": [],
              "curve": {"columns": [], "points": [[1, "1", "0"], [2, "3", "0"], [3, "-2", "0"], [4, "0", "0"]]}}
    metrics = report_metrics(report)
    assert metrics["fills"] == 4 and "curve" not in metrics and "gaps" not in metrics and "start_balances" not in metrics
    assert metrics["max_drawdown"] == "5" and metrics["return_pct"] == "-0.181818"
    report["max_drawdown_quote"] = "7"
    assert "max_drawdown" not in report_metrics(report)  # the report's own figure is not shadowed


def test_a_run_that_fails_returns_its_error_line() -> None:
    out = run_one(str(DEMO), {"order_amount": Decimal("0.000001")}, 5.0)
    assert "metrics" not in out and out["wall_seconds"] >= 0
    assert out["error"].startswith(f"{DEMO}: strategy.params.order_amount: 0.000001 is below the lot size")


# -- the command line ----------------------------------------------------------------------------
def sweep(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", "sweep", "--config", str(DEMO), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(path.open(encoding="utf-8")))


def assert_sorted(rows: list[dict[str, str]], metric: str = "pnl_quote") -> None:
    values = [Decimal(r[metric]) for r in rows if not r["error"]]
    assert values == sorted(values, reverse=True)


def test_sweep_on_worker_processes(tmp_path) -> None:
    out = tmp_path / "sweep.csv"
    done = sweep("--grid", "bid_spread_bps=0.5,2", "--grid", "order_levels=1,2", "--duration", "20",
                 "--workers", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = read_csv(out)
    assert len(rows) == 4 and all(not r["error"] for r in rows)
    assert {(r["bid_spread_bps"], r["order_levels"]) for r in rows} == {("0.5", "1"), ("0.5", "2"), ("2", "1"), ("2", "2")}
    assert sorted(r["run"] for r in rows) == ["0", "1", "2", "3"]
    assert_sorted(rows)
    assert all(int(r["fills"]) >= 0 and r["simulated_seconds"] == "20" for r in rows)
    lines = done.stderr.splitlines()
    assert lines[0] == "sweep: 4 run(s) of 20 simulated s, 2 at once (worker processes)"
    assert [line.split(" | ")[0] for line in lines[1:5]] == [f"sweep {n}/4 runs" for n in range(1, 5)]
    assert lines[-1].startswith("sweep done: 4/4 run(s), 0 failed, best pnl_quote ") and str(out) in lines[-1]


def test_sweep_on_a_local_dask_cluster_with_a_failing_run(tmp_path) -> None:
    out = tmp_path / "dask.csv"
    done = sweep("--grid", "order_amount=0.002,0.000001", "--grid", "bid_spread_bps=0.5,2", "--duration", "20",
                 "--dask", "local", "--workers", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "2 at once (dask local, dashboard http" in done.stderr
    rows = read_csv(out)
    assert len(rows) == 4
    good, bad = rows[:2], rows[2:]
    assert {r["order_amount"] for r in good} == {"0.002"} and not any(r["error"] for r in good)
    assert_sorted(good)
    assert [r["run"] for r in bad] == ["2", "3"]  # failed runs last, in run order
    for row in bad:
        assert row["order_amount"] == "0.000001" and row["pnl_quote"] == ""
        assert "strategy.params.order_amount: 0.000001 is below the lot size" in row["error"]
    assert "sweep done: 4/4 run(s), 2 failed" in done.stderr


def test_optuna_picks_trials_in_the_space(tmp_path) -> None:
    out = tmp_path / "optuna.csv"
    done = sweep("--grid", "bid_spread_bps=0.5..3", "--grid", "order_levels=1,2", "--optuna", "3", "--seed", "1",
                 "--metric", "fills", "--duration", "20", "--workers", "2", "--out", str(out))
    assert done.returncode == 0, done.stderr
    rows = read_csv(out)
    assert len(rows) == 3 and not any(r["error"] for r in rows)
    assert list(rows[0])[:4] == ["run", "bid_spread_bps", "order_levels", "fills"]
    assert all(Decimal("0.5") <= Decimal(r["bid_spread_bps"]) <= 3 and r["order_levels"] in ("1", "2") for r in rows)
    assert_sorted(rows, "fills")


def test_ctrl_c_keeps_the_finished_runs_and_exits_130(tmp_path) -> None:
    out = tmp_path / "interrupted.csv"
    proc = subprocess.Popen([sys.executable, "main.py", "sweep", "--config", str(DEMO), "--grid",
                             "bid_spread_bps=0.5,1,2,3,4,5", "--duration", "300", "--workers", "1", "--out", str(out)],
                            cwd=ROOT, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        for line in proc.stderr:
            if line.startswith("sweep 1/6"):
                proc.send_signal(signal.SIGINT)
                break
        rest = proc.stderr.read()
        proc.wait(60)
    finally:
        proc.kill()
    assert proc.returncode == 130, rest
    assert "sweep interrupted: " in rest
    rows = read_csv(out)
    assert 1 <= len(rows) < 6 and all(not r["error"] for r in rows)


@pytest.mark.parametrize("argv, expected", [
    (["--grid", "nosuch=1"], "error: --grid: nosuch: unknown parameter of simple_quoter"),
    (["--grid", "bid_spread_bps=0.5,9999"], "error: --grid: bid_spread_bps: must be at most 5000 bp, got '9999'"),
    (["--grid", "bid_spread_bps=0.5..3"], "error: --grid: bid_spread_bps: a range needs a step"),
    (["--grid", "order_levels=1", "--seed", "3"], "error: --seed: the seed is optuna's"),
    (["--grid", "order_levels=1", "--workers", "0"], "error: argument --workers: expected a number of worker"),
    (["--grid", "order_levels=1", "--out", "/nonexistent-dir/x/s.csv"], "error: --out: cannot write"),
    (["--grid", "order_levels=1", "--config", "/nonexistent.yaml"], "error: /nonexistent.yaml: file not found"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, argv, expected) -> None:
    args = ["sweep", "--config", str(DEMO), *argv]
    assert main(args) == 2
    out, err = capsys.readouterr()
    assert err.startswith(expected), err
    assert err.count("\n") == 1 and out == ""


def test_an_unknown_metric_stops_the_sweep_with_one_line(tmp_path) -> None:
    done = sweep("--grid", "order_levels=1", "--metric", "nosuch", "--duration", "5", "--workers", "1")
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("error: --metric: nosuch: not a figure of the backtest report (it has: ") and "fills" in last
    assert "Traceback" not in done.stderr
