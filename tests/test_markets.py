"""Any market: symbols, rules inferred from recordings, the registry's layers, sessions."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from app.config.bot_config import load_config
from app.config.schema import ConfigError
from app.data.binance_recording import parse_recordings
from app.data.verify import verify_recordings
from app.domain import BTC_USDT, INVERSE, LINEAR, SPOT, Instrument
from app.markets.registry import apply_overrides, resolve
from app.markets.symbols import UnknownSymbol, binance_symbol, split_pair
from app.wiring.session import build_session
from tests.market_variants import VARIANTS, make_variant
from tests.synthetic_recordings import spot_session, write_recording
from app.data.store import recordings_dir

needs_data = pytest.mark.skipif(not (recordings_dir() / "usdm_btcusdt_20240808.gz").is_file(),
                                reason="real recordings not found (set COLIBRI_DATA_DIR)")


@pytest.mark.parametrize("ident, market, unified, kind, settle, size", [
    ("ETHUSDT", "spot", "ETH/USDT", SPOT, "USDT", "1"),
    ("1000PEPEUSDT", "usdm", "1000PEPE/USDT:USDT", LINEAR, "USDT", "1"),
    ("BTCUSDC", "usdm", "BTC/USDC:USDC", LINEAR, "USDC", "1"),
    ("BTCUSD_PERP", "coinm", "BTC/USD:BTC", INVERSE, "BTC", "100"),
    ("ETHUSD_PERP", "coinm", "ETH/USD:ETH", INVERSE, "ETH", "10"),
    ("ETHUSD_250328", "coinm", "ETH/USD:ETH-250328", INVERSE, "ETH", "10"),
    ("ETHBTC", "spot", "ETH/BTC", SPOT, "BTC", "1"),
    ("BTCFDUSD", "spot", "BTC/FDUSD", SPOT, "FDUSD", "1"),
])
def test_binance_ids_to_unified_symbols(ident, market, unified, kind, settle, size) -> None:
    info = binance_symbol(ident, market)
    assert (info.unified, info.kind, info.settle, info.contract_size) == (unified, kind, settle, Decimal(size))


def test_unsplittable_id_is_refused() -> None:
    with pytest.raises(UnknownSymbol, match="cannot split 'XYZ'"):
        split_pair("XYZ")


def test_inference_on_a_small_synthetic_recording(tmp_path: Path) -> None:
    # Prices use 2 decimals, trade and bookTicker quantities at most 1 (1.00000, 0.50000...).
    events, meta = parse_recordings([write_recording(tmp_path / "s.gz", spot_session())])
    inst = meta.instrument
    assert (inst.symbol, inst.tick_size, inst.lot_size, inst.kind) == ("BTC/USDT", Decimal("0.01"), Decimal("0.1"), SPOT)
    assert "inferred from the data" in inst.source and "lot 0.1" in inst.source


@needs_data
@pytest.mark.parametrize("name, unified, tick, lot, kind, size", [
    ("spot_ethusdt.gz", "ETH/USDT", "0.001", "0.0001", SPOT, "1"),
    ("usdm_ethusdt.gz", "ETH/USDT:USDT", "0.01", "0.01", LINEAR, "1"),
    ("coinm_btcusd_perp.gz", "BTC/USD:BTC", "0.1", "1", INVERSE, "100"),
])
def test_other_markets_infer_and_verify_exactly(tmp_path: Path, name, unified, tick, lot, kind, size) -> None:
    path = make_variant(name, tmp_path, limit=12_000)
    report = verify_recordings([path], use_cache=False)
    assert report.ok and report.checks > 50 and report.qty_checks_matched == report.checks
    events, meta = parse_recordings([path])
    inst = meta.instrument
    assert (inst.symbol, inst.tick_size, inst.lot_size, inst.kind, inst.contract_size) == (
        unified, Decimal(tick), Decimal(lot), kind, Decimal(size))


def test_overrides_layer_over_inferred_rules() -> None:
    inferred = BTC_USDT.with_rules(min_notional=Decimal(0), source="inferred from the data")
    inst = resolve(inferred, config={"min_notional": Decimal(10), "maker_fee": Decimal("0.0005")},
                   config_where="bot.yaml (instrument)", cli={"maker_fee": Decimal("0.0001")})
    assert inst.min_notional == 10 and inst.maker_fee == Decimal("0.0001")
    assert "min_notional from bot.yaml" in inst.source and "maker_fee from the command line" in inst.source
    with pytest.raises(ValueError, match="the command line: .*tick and lot sizes must be positive"):
        apply_overrides(BTC_USDT, {"tick": Decimal(0)}, "the command line")


def _config(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "bot.yaml"
    path.write_text(body)
    return path


@needs_data
def test_config_naming_another_symbol_is_refused_with_what_the_data_trades(tmp_path: Path) -> None:
    rec = make_variant("usdm_ethusdt.gz", tmp_path, limit=3_000)
    cfg = load_config(_config(tmp_path, f"venue: {{kind: replay}}\nrecordings: [{rec}]\nsymbol: BTC/USDT\n"))
    with pytest.raises(ConfigError, match=r"'BTC/USDT' is not traded in usdm_ethusdt.gz \(it trades: ETH/USDT:USDT\)"):
        build_session(cfg, simulated=True)


def test_demo_offers_its_three_markets_only(tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, "venue: {kind: demo}\nsymbol: ETH/USDT\n"))
    with pytest.raises(ConfigError, match=r"it trades: BTC/USDT, BTC/USDT:USDT, BTC/USD:BTC"):
        build_session(cfg, simulated=True)
    cfg = load_config(_config(tmp_path, "venue: {kind: demo}\nsymbol: BTC/USD:BTC\nbalances: {BTC: 1}\n"
                                        "strategy: {name: simple_quoter, params: {order_amount: 1}}\n"))
    session = build_session(cfg, simulated=True)
    assert session.bot.instrument.kind == INVERSE and session.bot.instrument.contract_size == 100


@needs_data
def test_a_saved_markets_file_gives_minimums_and_fees_to_a_recording(tmp_path: Path, monkeypatch) -> None:
    from app.data.store import load_market
    from app.markets.ccxt_markets import save_markets_cache

    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path / "home"))
    rec = make_variant("spot_ethusdt.gz", tmp_path, limit=3_000)
    eth = {"id": "ETHUSDT", "symbol": "ETH/USDT", "base": "ETH", "quote": "USDT", "type": "spot", "spot": True,
           "precision": {"price": 0.01, "amount": 0.0001}, "limits": {"cost": {"min": 5}},
           "maker": 0.00075, "taker": 0.00075}
    save_markets_cache("binance", [eth])
    _, _, inst = load_market([rec], use_cache=False)
    # minimum and fees from the exchange; tick and lot stay what the (older) data proves
    assert (inst.min_notional, inst.maker_fee, inst.tick_size) == (D5, Decimal("0.00075"), Decimal("0.001"))
    assert "binance markets cache" in inst.source
    _, _, inst = load_market([rec], overrides={"maker_fee": Decimal("0.0002")}, where="--maker-fee", use_cache=False)
    assert inst.maker_fee == Decimal("0.0002") and "maker_fee from --maker-fee" in inst.source
    (tmp_path / "home" / "markets" / "binance.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"binance\.json: not a usable markets file"):
        load_market([rec], use_cache=False)


D5 = Decimal(5)


@needs_data
def test_data_commands_take_rules_from_flags(tmp_path: Path, capsys) -> None:
    from app.cli import main

    rec = str(make_variant("spot_ethusdt.gz", tmp_path, limit=12_000))
    assert main(["data", "verify", rec, "--no-cache"]) == 0
    out = capsys.readouterr().out
    assert "ETHUSDT = ETH/USDT" in out and "inferred from the data" in out and out.rstrip().endswith("OK")
    # a coarser tick than the data uses: the first off-grid price is named with file:line
    assert main(["data", "verify", rec, "--no-cache", "--tick", "0.01"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "spot_ethusdt.gz:" in err[0] and "is not a multiple of 0.01" in err[0]
    assert main(["data", "info", rec, "--no-cache", "--maker-fee", "0.0002"]) == 0
    out = capsys.readouterr().out
    assert "fees maker 0.02% / taker 0.1%" in out and "from the command line" in out
    assert main(["data", "info", rec, "--tick", "nan"]) == 2
    assert capsys.readouterr().err.startswith("error: argument --tick")


def test_a_grid_too_fine_for_the_engines_integers_is_bad_data_in_one_line(tmp_path: Path, monkeypatch, capsys) -> None:
    """One stray over-precise price makes the inferred tick 1E-14: prices of 60,000 are then
    6E18 ticks, which int64 holds but not with the room sums and notionals need. Said as bad data (exit 2, one line naming the file), never an overflow in
    the middle of a strategy (a fuzzed recording found it)."""
    from app import cli
    from app.data.store import load_market
    from app.markets.registry import INTEGER_LIMIT, integer_range_problem
    from tests.synthetic_recordings import diff, snapshot, trade, write_recording

    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path / "home"))
    rec = write_recording(tmp_path / "stray.gz", [
        snapshot(100, [["60000.00", "1.00000"]], [["60000.10", "1.00000"]]),
        diff(101, 101, [["60000.00000000000001", "0.50000"]], []),  # the stray value: 1E-14
        trade(1, "60000.10", "0.10000", False),
    ])
    with pytest.raises(ValueError, match=r"stray\.gz: prices up to 60000\.1 at a tick of 1E-14 are 6e\+18 ticks, "
                                         r"beyond the 64-bit integers"):
        load_market([rec], use_cache=False)
    config = tmp_path / "bt.yaml"
    config.write_text(f"venue:\n  kind: replay\nrecordings:\n  - {rec}\nsymbol: BTC/USDT\n"
                      "strategy:\n  name: simple_quoter\n  params:\n    order_amount: 0.002\n")
    assert cli.main(["backtest", "--config", str(config), "--duration", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "stray.gz" in err[0]
    # the rule itself, on the numbers it guards
    fine = Instrument("X/Y", "X", "Y", Decimal("0.01"), Decimal("0.00001"), min_notional=D5)
    assert integer_range_problem(fine, 6_000_000, 10**7) is None  # 60,000.00 and 100 X
    assert "tick-lots" in integer_range_problem(fine, INTEGER_LIMIT // 10, 100)
    tiny = Instrument("X/Y", "X", "Y", Decimal("1E-14"), Decimal("1E-8"), min_notional=D5)
    assert "minimum notional 5" in integer_range_problem(tiny, 1_000, 1)
