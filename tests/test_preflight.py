"""Configs that can never trade are refused before the start; output paths are checked first."""
from __future__ import annotations

import os
import stat

import pytest

from app.config.bot_config import load_config
from app.config.schema import ConfigError
from app.wiring.preflight import check_writable
from app.wiring.session import build_session
from tests.synthetic_recordings import spot_session, write_recording


def session_for(tmp_path, text):
    path = tmp_path / "bot.yaml"
    path.write_text(text)
    return build_session(load_config(path), simulated=True), str(path)


def refused(tmp_path, text) -> ConfigError:
    path = tmp_path / "bot.yaml"
    path.write_text(text)
    config = load_config(path)
    with pytest.raises(ConfigError) as info:
        build_session(config, simulated=True)
    assert info.value.source == str(path)
    return info.value


def rule_notes(session) -> list[str]:
    """The notes about rules and balances (the fee warning has its own test)."""
    return [n for n in session.notes if "round-trip" not in n]


def test_spreads_below_the_round_trip_fee_are_a_note(tmp_path):
    session, _ = session_for(tmp_path, "strategy: {params: {bid_spread_bps: 3, ask_spread_bps: 4}}\n")
    assert [n for n in session.notes if "round-trip" in n] == [
        "the quoted spread (7 bp bid + ask) is below the round-trip maker fee (20 bp on BTC/USDT): "
        "a round trip loses 13 bp unless the price moves your way"]
    session, _ = session_for(tmp_path, "strategy: {params: {bid_spread_bps: 10, ask_spread_bps: 10}}\n")
    assert session.notes == []


def test_a_tradeable_config_has_no_notes(tmp_path):
    session, _ = session_for(tmp_path, "name: ok\n")
    assert rule_notes(session) == []


def test_amount_below_the_lot_is_refused(tmp_path):
    err = refused(tmp_path, "strategy: {params: {order_amount: 0.000001}}\n")
    assert err.field_path == "strategy.params.order_amount"
    assert "below the lot size 0.00001 of BTC/USDT" in err.reason


def test_amount_below_the_minimum_notional_at_the_demo_start_price_is_refused(tmp_path):
    err = refused(tmp_path, "strategy: {params: {order_amount: 0.00005}}\n")  # 3 USDT at 60,000 < 5
    assert err.field_path == "strategy.params.order_amount"
    assert "worth 3 USDT at 60000 (the demo market's start price)" in err.reason
    assert "minimum notional 5 USDT" in err.reason


def test_instrument_overrides_are_checked_too(tmp_path):
    err = refused(tmp_path, "instrument: {lot: 0.01}\n")
    assert "below the lot size 0.01" in err.reason
    err = refused(tmp_path, "instrument: {min_notional: 500}\n")  # 0.002 BTC = 120 USDT
    assert "below the minimum notional 500 USDT" in err.reason


def test_amount_off_the_lot_is_rounded_down_with_a_note(tmp_path):
    session, _ = session_for(tmp_path, "strategy: {params: {order_amount: 0.0020005}}\n")
    assert rule_notes(session) == ["strategy.params.order_amount 0.0020005 is not a multiple of the lot 0.00001 of "
                             "BTC/USDT: orders are rounded down to 0.002"]


def test_balances_without_the_markets_assets_are_refused(tmp_path):
    err = refused(tmp_path, "balances: {ETH: 5}\n")
    assert err.field_path == "balances"
    assert "no BTC or USDT to trade BTC/USDT" in err.reason
    err = refused(tmp_path, "balances: {BTC: 0, USDT: 0}\n")
    assert "no BTC or USDT" in err.reason


def test_a_derivative_needs_its_settlement_asset(tmp_path):
    err = refused(tmp_path, "instrument: {kind: linear}\nbalances: {BTC: 1}\n")
    assert err.field_path == "balances"
    assert "settled in USDT" in err.reason
    err = refused(tmp_path, "instrument: {kind: inverse}\nbalances: {USDT: 1000}\n")
    assert "settled in BTC" in err.reason


def test_balances_that_pay_neither_side_are_refused(tmp_path):
    err = refused(tmp_path, "balances: {USDT: 10, BTC: 0.001}\nstrategy: {params: {order_amount: 0.002}}\n")
    assert err.field_path == "balances"
    assert "neither side can be paid" in err.reason
    assert "a buy of 0.002 BTC needs 120.12 USDT" in err.reason  # 0.002 x 60000 x (1 + 0.1% fee)
    assert "a sell needs 0.002 BTC" in err.reason


def test_one_payable_side_is_a_note(tmp_path):
    session, _ = session_for(tmp_path, "balances: {BTC: 1}\n")
    assert rule_notes(session) == ["only sell orders can be placed: a buy of 0.002 BTC needs 120.12 USDT (have 0)"]
    session, _ = session_for(tmp_path, "balances: {USDT: 1000}\n")
    assert rule_notes(session) == ["only buy orders can be placed: a sell needs 0.002 BTC (have 0)"]


def test_paper_on_demo_uses_the_demo_start_price(tmp_path):
    err = refused(tmp_path, "venue: {account: paper}\nstrategy: {params: {order_amount: 0.00005}}\n")
    assert "the demo market's start price" in err.reason


def test_replay_uses_the_first_recorded_price(tmp_path, monkeypatch):
    monkeypatch.setenv("COLIBRI_CACHE_DIR", str(tmp_path / "cache"))
    rec = write_recording(tmp_path / "rec.gz", spot_session())  # trades at 100.05 first
    base = f"venue: {{kind: replay}}\nrecordings: [{rec}]\nbalances: {{USDT: 1000, BTC: 1}}\n"
    amount = "strategy: {params: {order_amount: 0.5}}\n"  # a multiple of the lot the data shows (0.1)
    err = refused(tmp_path, base + "instrument: {min_notional: 60}\n" + amount)  # 50.025 USDT < 60
    assert "worth 50.025 USDT at 100.05 (the first price of the recording)" in err.reason
    session, _ = session_for(tmp_path, base + amount)
    assert rule_notes(session) == []


def test_strategies_without_amounts_are_not_checked():
    from app.interfaces.strategy import Strategy

    assert Strategy.order_amounts_base(object()) == []  # type: ignore[arg-type]


# -- output paths -----------------------------------------------------------------------
def test_writable_paths_pass_and_leave_nothing_behind(tmp_path):
    for append in (False, True):
        target = tmp_path / f"new-{append}.json"
        assert check_writable(target, "--report", append=append) == target
        assert not target.exists()
    assert os.listdir(tmp_path) == []
    existing = tmp_path / "old.jsonl"
    existing.write_text("kept\n")
    check_writable(existing, "--journal", append=True)
    check_writable(existing, "--report")
    assert existing.read_text() == "kept\n"
    assert sorted(os.listdir(tmp_path)) == ["old.jsonl"]


@pytest.mark.parametrize("append", [False, True])
def test_unwritable_paths_are_refused_before_the_run(tmp_path, append):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    cases = {
        str(tmp_path): "it is a folder",
        str(tmp_path / "missing" / "r.json"): "does not exist",
        str(a_file / "r.json"): "is not a folder",
        str(a_file / "deeper" / "r.json"): "is a file, not a folder",
        "": "no file name given",
    }
    for path, reason in cases.items():
        with pytest.raises(ConfigError) as info:
            check_writable(path, "--report", append=append)
        assert info.value.source == "--report"
        assert reason in str(info.value), path
    assert sorted(os.listdir(tmp_path)) == ["file.txt"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions (not root)")
def test_paths_without_write_permission_are_refused(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, stat.S_IRUSR | stat.S_IXUSR)
    read_only = tmp_path / "ro.jsonl"
    read_only.write_text("")
    os.chmod(read_only, stat.S_IRUSR)
    try:
        with pytest.raises(ConfigError, match="permission denied"):
            check_writable(locked / "r.json", "--report")
        with pytest.raises(ConfigError, match="permission denied"):
            check_writable(locked / "j.jsonl", "--journal", append=True)
        with pytest.raises(ConfigError, match="permission denied"):
            check_writable(read_only, "--journal", append=True)
    finally:
        os.chmod(locked, stat.S_IRWXU)
