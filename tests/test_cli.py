"""The command line as a user runs it: real processes, real signals, real files."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
