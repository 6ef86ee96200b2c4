"""Every example config in resources/configs/ backtests from the command line and trades.

The examples are what a new user runs first, and what the docs point at: each must load,
run 5 simulated minutes on its venue (the demo exchange offline; the real recordings when
they are beside the checkout), place orders that fill, and end with no open order.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main as cli_main
from app.data.store import recordings_dir

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "resources" / "configs").glob("*.yaml"))


def _needs_recordings(path: Path) -> bool:
    return "recordings:" in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("config", CONFIGS, ids=[c.stem for c in CONFIGS])
def test_example_config_backtests_and_trades(config: Path, tmp_path, capsys):
    if _needs_recordings(config) and not (recordings_dir() / "spot_btcusdt_20240808.gz").is_file():
        pytest.skip("the real recordings are not beside the checkout")
    report_path = tmp_path / "report.json"
    code = cli_main(["backtest", "--config", str(config), "--duration", "300", "--report", str(report_path)])
    assert code == 0, capsys.readouterr().err
    report = json.loads(report_path.read_text())
    assert report["fills"] > 0, f"{config.name}: no fills in 300 s"
    assert report["open_orders_at_exit"] == 0
    assert not report.get("error")
    if report.get("markets") and len(report["markets"]) > 1:  # a strategy over several markets trades on each
        assert all(market["fills"] > 0 for market in report["markets"].values()), report["markets"]


def test_every_built_in_strategy_has_an_example():
    from strategies.registry import STRATEGIES

    used = set()
    for config in CONFIGS:
        text = config.read_text(encoding="utf-8")
        used.update(name for name in STRATEGIES if f"name: {name}" in text)
    assert set(STRATEGIES) <= used, sorted(set(STRATEGIES) - used)
