"""`strategies [NAME]` prints what the schemas say; `--set NAME=VALUE` goes through them."""
from __future__ import annotations

import json

import pytest

from app.cli import main
from strategies.registry import STRATEGIES


def test_the_list_names_every_strategy_and_its_markets(capsys):
    assert main(["strategies"]) == 0
    out = capsys.readouterr().out
    for name in STRATEGIES:
        assert name in out
    assert "[markets: maker, taker]" in out and "price_source?" in out


def test_one_strategy_lists_each_parameter_with_its_default_unit_and_range(capsys):
    assert main(["strategies", "simple_quoter"]) == 0
    out = capsys.readouterr().out
    assert "  bid_spread_bps  decimal = 2 bp  [>= 0, <= 5000]" in out
    assert "  post_only  bool = true" in out
    heads = [line for line in out.splitlines() if line.startswith("  ") and not line.startswith("   ")
             and " = " in line]
    assert len(heads) == len(STRATEGIES["simple_quoter"].schema.fields)


def test_an_unknown_strategy_is_one_line_and_exit_2(capsys):
    assert main(["strategies", "nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: unknown strategy 'nope'")


def test_set_overrides_the_configs_parameters(tmp_path, capsys):
    report = tmp_path / "r.json"
    code = main(["backtest", "--config", "resources/configs/demo.yaml", "--duration", "20", "--report", str(report),
                 "--set", "bid_spread_bps=3", "--set", "order_levels=1", "--set", "venue.seed=11"])
    assert code == 0
    params = json.loads(report.read_text())["params"]
    assert params["bid_spread_bps"] == "3" and params["order_levels"] == "1"


@pytest.mark.parametrize("flag, said", [
    ("bid_spread_bps=-1", "error: --set: bid_spread_bps: must be at least 0 bp, got '-1'"),
    ("nope=1", "error: --set: nope: unknown parameter of simple_quoter"),
    ("bid_spread_bps", "error: --set: bid_spread_bps: expected NAME=VALUE"),
    ("venue.kind=ccxt", "error: --set: venue.kind: the venue's kind and account are the config file's to say"),
])
def test_a_bad_set_is_one_line_and_exit_2(flag, said, capsys):
    assert main(["backtest", "--duration", "5", "--set", flag]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(said)
