"""The command line as a user runs it: real processes, real signals, real files."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT_KEYS = {"fills", "volume_quote", "fees_quote", "pnl_quote", "open_orders_at_exit", "start_balances", "end_balances"}


def colibri(*args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120, **kw)


def test_backtest_on_the_demo_trades_and_ends_flat(tmp_path):
    report_path = tmp_path / "report.json"
    result = colibri("backtest", "--config", "resources/configs/demo.yaml", "--duration", "120", "--report", str(report_path))
    assert result.returncode == 0, result.stderr
    report = json.loads(report_path.read_text())
    assert REPORT_KEYS <= set(report)
    assert report["fills"] > 0
    assert report["open_orders_at_exit"] == 0
    assert "Summary of demo-quoter" in result.stdout


def test_run_stops_on_sigterm_cancels_everything_and_writes_the_report(tmp_path):
    report_path = tmp_path / "run.json"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "main.py", "run", "--config", "resources/configs/demo.yaml", "--report", str(report_path)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        deadline = time.monotonic() + 30
        seen = ""
        while "orders 2" not in seen and "orders 4" not in seen:  # quotes are resting
            assert time.monotonic() < deadline, f"no quotes: {seen}"
            seen += proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopping: cancelling all open orders" in out
    report = json.loads(report_path.read_text())
    assert REPORT_KEYS <= set(report)
    assert report["open_orders_at_exit"] == 0
    assert report["start_balances"]["USDT"]["total"] == "10000"


def test_invalid_config_never_starts_a_bot(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("strategy:\n  params:\n    bid_spread_bps: -3\n")
    result = colibri("run", "--config", str(bad), "--duration", "5")
    assert result.returncode == 2
    assert f"{bad}: strategy.params.bid_spread_bps: must be at least 0" in result.stderr
    assert "running" not in result.stdout


def test_no_arguments_without_display_runs_the_headless_demo_and_says_so():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.Popen([sys.executable, "main.py"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**env, "PYTHONUNBUFFERED": "1"})
    try:
        first = proc.stdout.readline()
        seen = ""
        while not seen.startswith("mid "):  # running: Ctrl-C now goes to the graceful stop
            seen = proc.stdout.readline()
            assert seen, "the demo ended before it printed a status line"
        proc.send_signal(signal.SIGINT)
        out, _err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "No display found: running the headless demo" in first
    assert "open orders at exit 0" in out


# -- bad input: one line on stderr, exit 2, nothing started ----------------------------------
from app import cli  # noqa: E402

DEMO = str(ROOT / "resources" / "configs" / "demo.yaml")


def one_error_line(capsys) -> str:
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Summary" not in out and "running" not in out
    return lines[0]


def test_duration_nan_exits_2_with_one_line_and_no_traceback():
    result = colibri("run", "--duration", "nan")
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert "--duration" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == ""


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["run", "--duration", "nan"], "argument --duration"),
        (["run", "--duration", "inf"], "argument --duration"),
        (["run", "--duration", "-1"], "argument --duration"),
        (["backtest", "--duration", "0"], "argument --duration"),
        (["backtest", "--duration", "abc"], "argument --duration: expected a number of seconds, got 'abc'"),
        (["backtest", "--duration", "1e300"], "at most"),
        (["backtest", "--tick", "0"], "argument --tick: must be greater than 0"),
        (["backtest", "--lot", "-0.1"], "argument --lot: must be greater than 0"),
        (["backtest", "--min-notional", "nan"], "argument --min-notional: expected a finite number"),
        (["backtest", "--contract-size", "x"], "argument --contract-size: expected a number"),
        (["run", "--maker-fee", "0.2"], "argument --maker-fee: must be at most 0.1"),
        (["run", "--taker-fee", "-1"], "argument --taker-fee: must be at least -0.01"),
        (["backtest", "--nope"], "unrecognized arguments: --nope"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_bad_flags_are_one_line_exit_2(capsys, argv, expected):
    assert cli.main(argv) == 2
    assert expected in one_error_line(capsys)


def test_help_still_exits_0(capsys):
    assert cli.main(["backtest", "--help"]) == 0
    assert "--min-notional" in capsys.readouterr().out


def test_unwritable_report_and_journal_are_refused_before_the_run(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("")
    cases = [
        (["backtest", "--duration", "5", "--report", str(tmp_path)], "--report: cannot write", "it is a folder"),
        (["backtest", "--duration", "5", "--report", str(tmp_path / "no" / "r.json")], "--report", "does not exist"),
        (["run", "--duration", "5", "--report", str(a_file / "r.json")], "--report", "is not a folder"),
        (["run", "--duration", "5", "--journal", str(tmp_path / "no" / "j.jsonl")], "--journal", "does not exist"),
    ]
    for argv, where, reason in cases:
        assert cli.main(argv) == 2
        line = one_error_line(capsys)
        assert where in line and reason in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_instrument_flags_override_the_config_section(tmp_path, monkeypatch, capsys):
    import app.wiring.runners as runners

    path = tmp_path / "bot.yaml"
    path.write_text("instrument:\n  tick: 0.01\n  lot: 0.00001\n  maker_fee: 0.001\n")
    seen = {}

    def fake_run(config, duration, on_ready=None, **kw):
        seen.update(config.instrument_overrides)
        return {"open_orders_at_exit": 0}

    monkeypatch.setattr(runners, "run_simulated", fake_run)
    monkeypatch.setattr("app.engine.report.format_summary", lambda report: "summary")
    assert cli.main(["backtest", "--config", str(path), "--lot", "0.001", "--maker-fee", "-0.0001",
                     "--min-notional", "10"]) == 0
    assert seen == {"tick_size": Decimal("0.01"), "lot_size": Decimal("0.001"), "maker_fee": Decimal("-0.0001"),
                    "min_notional": Decimal("10")}


def test_instrument_flags_reach_the_preflight(capsys):
    assert cli.main(["backtest", "--config", DEMO, "--duration", "5", "--lot", "0.01"]) == 2
    assert "order_amount: 0.002 is below the lot size 0.01" in one_error_line(capsys)
    assert cli.main(["backtest", "--config", DEMO, "--duration", "5", "--min-notional", "1000"]) == 2
    assert "below the minimum notional 1000 USDT" in one_error_line(capsys)


def test_preflight_notes_are_printed_before_the_run(tmp_path, capsys):
    path = tmp_path / "bot.yaml"
    path.write_text("balances: {BTC: 1}\nstrategy: {params: {order_amount: 0.0020005}}\n")
    assert cli.main(["backtest", "--config", str(path), "--duration", "5"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = [line for line in out.splitlines() if "round-trip" not in line]  # the fee note: its own test
    assert lines[0].startswith("note: strategy.params.order_amount 0.0020005 is not a multiple of the lot")
    assert lines[1].startswith("note: only sell orders can be placed")
    assert lines[2].startswith("Summary of")


def test_config_that_can_never_trade_is_refused_with_the_reason(tmp_path, capsys):
    path = tmp_path / "bot.yaml"
    path.write_text("balances: {ETH: 5}\n")
    assert cli.main(["run", "--config", str(path), "--duration", "5"]) == 2
    assert one_error_line(capsys) == f"error: {path}: balances: no BTC or USDT to trade BTC/USDT with (balances: ETH 5)"


def test_empty_config_file_is_an_error(tmp_path, capsys):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert cli.main(["backtest", "--config", str(path)]) == 2
    assert one_error_line(capsys) == f"error: {path}: the file is empty (expected settings such as venue:, balances:, strategy:)"


@pytest.mark.parametrize("exc", [
    lambda: __import__("app.data.binance_recording", fromlist=["x"]).RecordingError("rec.gz", 7, "bad JSON: x"),
    lambda: FileNotFoundError(2, "No such file or directory", "rec.gz"),
    lambda: ValueError("odd\nvalue"),
])
def test_known_errors_from_a_subcommand_are_one_line(monkeypatch, capsys, exc):
    import app.wiring.runners as runners

    def boom(*args, **kw):
        raise exc()

    monkeypatch.setattr(runners, "run_simulated", boom)
    assert cli.main(["backtest", "--duration", "5"]) == 2
    line = one_error_line(capsys)
    assert line in ("error: rec.gz:7: bad JSON: x", "error: rec.gz: No such file or directory", "error: odd value")


def test_programming_errors_keep_their_traceback(monkeypatch):
    import app.wiring.runners as runners

    def bug(*args, **kw):
        raise AttributeError("a bug")

    monkeypatch.setattr(runners, "run_simulated", bug)
    with pytest.raises(AttributeError):
        cli.main(["backtest", "--duration", "5"])


def test_gui_without_a_display_says_so_in_one_line(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cli.sys, "platform", "linux")
    started = []
    assert cli.main(["gui"], gui=lambda: started.append(1) or 0) == 2
    assert "needs a display" in one_error_line(capsys)
    assert started == []
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # draws without a display
    assert cli.main(["gui"], gui=lambda: started.append(1) or 0) == 0
    assert started == [1]


def test_gui_with_an_unreachable_display_reports_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = colibri("gui", env={**env, "DISPLAY": ":4242", "QT_QPA_PLATFORM": "xcb"})
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("error: the desktop app cannot start Qt") and "Traceback" not in result.stderr
