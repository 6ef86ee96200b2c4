"""Bots over several markets (market roles): the `markets:` config section, the demo
follower venue, the engine routing every role's events, PnL in one asset, the stop on
every role, the report's per-market entries; single-market configs stay one role."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from app.config.bot_config import load_config, parse_config
from app.config.schema import ConfigError, Field, Schema
from app.domain import OrderType, Side
from app.engine.bot import Bot, BotState
from app.engine.journal.store import JournalStore
from app.engine.report import build_report, format_summary
from app.interfaces.clock import SimClock
from app.interfaces.strategy import MarketRole, Strategy
from app.wiring.session import build_session
from connectors.demo.exchange import DemoExchange
from connectors.demo.follower import FollowerExchange
from strategies.registry import STRATEGIES

MS = 1_000_000
S = 1_000_000_000


class QuoteAndHedge(Strategy):
    """Test strategy: one bid and one ask at the maker market's touch; every maker fill is
    hedged at once with a market order of the same amount on the taker market."""

    name = "quote_and_hedge"
    title = "Quote and hedge (test)"
    schema = Schema((Field("amount", "decimal", Decimal("0.002"), minimum=0, exclusive_minimum=True),))
    roles = (MarketRole("maker", "Maker", "Where the quotes rest."),
             MarketRole("taker", "Taker", "Where fills are hedged."),
             MarketRole("price_source", "Price source", "Not used here.", optional=True))

    def __init__(self, params=None, source=""):
        super().__init__(params, source)
        self.seen_roles: set[str | None] = set()
        self.hedges = 0

    def on_book(self, event) -> None:
        role = self.ctx.role_of(event)
        self.seen_roles.add(role)
        if role != "maker":
            return
        maker = self.ctx.markets["maker"]
        book = maker.book
        if book.best_bid_ticks <= 0 or book.best_ask_ticks <= 0 or maker.connector.open_orders(maker.symbol):
            return
        lots = maker.instrument.amount_to_lots(self.params["amount"])
        maker.connector.place_order(maker.symbol, Side.BUY, OrderType.LIMIT_MAKER, lots, book.best_bid_ticks)
        maker.connector.place_order(maker.symbol, Side.SELL, OrderType.LIMIT_MAKER, lots, book.best_ask_ticks)

    def on_fill(self, event) -> None:
        if self.ctx.role_of(event) != "maker":
            return
        taker = self.ctx.markets["taker"]
        fill = event.fill
        side = Side.SELL if fill.side is Side.BUY else Side.BUY
        lots = taker.instrument.round_amount_to_lots(fill.amount)
        if lots > 0:  # (an inverse perpetual's contracts are worth 100 USD: small fills are not hedged there)
            taker.connector.place_order(taker.symbol, side, OrderType.MARKET, lots)
            self.hedges += 1


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    monkeypatch.setitem(STRATEGIES, QuoteAndHedge.name, QuoteAndHedge)


TWO_DEMOS = """
name: hedger
markets:
  maker: {venue: {kind: demo, seed: 7}, symbol: BTC/USDT, balances: {USDT: 10000, BTC: 0.2}}
  taker: {venue: {kind: demo, follow: maker, lag_ms: 250, noise_bps: 1, seed: 8}, symbol: BTC/USDT,
          balances: {USDT: 10000, BTC: 0.2}}
strategy: {name: quote_and_hedge, params: {amount: 0.002}}
"""


def config_from(text: str, tmp_path: Path, name: str = "bot.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return load_config(path)


def refused(text: str, tmp_path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        config_from(text, tmp_path)
    return info.value


def run_for(session, seconds: float) -> None:
    session.start()
    session.clock.run(until_ns=session.clock.now_ns() + int(seconds * S))


def stop(session) -> list[bool]:
    done: list[bool] = []
    session.bot.stop(lambda: done.append(True))
    clock = session.clock
    limit = clock.now_ns() + 10 * S
    while not done and clock.now_ns() < limit:
        clock.run(until_ns=clock.now_ns() + 100 * MS)
    return done


# -- the engine on a leader and a follower venue ------------------------------------------------
def test_two_role_bot_quotes_on_one_market_and_hedges_on_the_other(tmp_path):
    session = build_session(config_from(TWO_DEMOS, tmp_path), simulated=True)
    bot = session.bot
    assert list(bot.markets) == ["maker", "taker"]
    maker, taker = bot.markets["maker"], bot.markets["taker"]
    assert maker.account == "demo-maker" and taker.account == "demo-taker"
    assert isinstance(taker.venue, FollowerExchange) and taker.venue.leader is maker.feed
    run_for(session, 120)
    strategy = bot.strategy
    assert strategy.seen_roles >= {"maker", "taker"}  # both feeds reach on_book, told apart
    assert maker.pnl.fills > 0 and taker.pnl.fills > 0
    assert strategy.hedges == maker.pnl.fills
    assert maker.pnl.maker_fills == maker.pnl.fills and taker.pnl.maker_fills == 0  # post-only vs market orders
    # Every maker fill hedged: the net inventory is what the last hedges still carry, at most one order.
    assert abs(bot.net_inventory()) <= Decimal("0.002") * 2
    # One valuation asset (USDT) over both markets.
    total = bot.pnl_value()
    assert total is not None and bot.valuation.asset == "USDT"
    assert total == maker.pnl_value() + taker.pnl_value()
    assert stop(session) == [True]
    assert bot.state is BotState.STOPPED
    assert bot.open_orders() == [] and maker.venue.open_orders() == [] and taker.venue.open_orders() == []
    report = build_report(bot, venue=session.venue_label, mode="simulated")
    assert set(report["markets"]) == {"maker", "taker"}
    assert report["fills"] == maker.pnl.fills + taker.pnl.fills
    assert report["markets"]["taker"]["account"] == "demo-taker"
    assert report["pnl_asset"] == "USDT" and report["valuation"] == {"asset": "USDT", "rates": {}}
    assert Decimal(report["pnl"]) == sum(Decimal(m["pnl"]) for m in report["markets"].values()).quantize(
        Decimal("1e-10"))
    assert report["open_orders_at_exit"] == 0
    assert Decimal(report["start_balances"]["USDT"]["total"]) == 20000  # both accounts
    summary = format_summary(report)
    assert "maker: demo-maker BTC/USDT" in summary and "taker: demo-taker BTC/USDT" in summary
    session.shutdown()


def test_orders_and_fills_are_journaled_on_their_own_market(tmp_path):
    store = JournalStore(tmp_path / "journal.sqlite")
    session = build_session(config_from(TWO_DEMOS, tmp_path), simulated=True, journal=store)
    run_for(session, 60)
    assert stop(session) == [True]
    orders = store.orders(bot="hedger")
    assert {o.account for o in orders} == {"demo-maker", "demo-taker"}
    assert all(o.status.is_done for o in orders)
    fills = store.fills(bot="hedger")
    by_account = {f.account for f in fills}
    assert by_account == {"demo-maker", "demo-taker"}
    assert len(fills) == sum(m.pnl.fills for m in session.bot.markets.values())
    records = list(store.records(bot="hedger"))
    start = next(r for r in records if r["kind"] == "start")
    assert start["markets"] == {"maker": {"account": "demo-maker", "symbol": "BTC/USDT"},
                                "taker": {"account": "demo-taker", "symbol": "BTC/USDT"}}
    fill_records = [r for r in records if r["kind"] == "fill"]
    assert {(r["market"], r["account"]) for r in fill_records} == {("maker", "demo-maker"), ("taker", "demo-taker")}
    balances = {(b["account"], b["reason"]) for b in store.balance_snapshots(bot="hedger")}
    assert balances == {("demo-maker", "start"), ("demo-maker", "stopped"), ("demo-taker", "start"),
                        ("demo-taker", "stopped")}
    session.shutdown()
    store.close()


def test_a_failing_hook_on_the_second_market_stops_the_bot_on_both(tmp_path):
    session = build_session(config_from(TWO_DEMOS, tmp_path), simulated=True)
    strategy = session.bot.strategy
    original = strategy.on_fill

    def on_fill(event):
        original(event)
        if strategy.ctx.role_of(event) == "taker":
            raise RuntimeError("hedge bookkeeping broke")

    strategy.on_fill = on_fill
    run_for(session, 120)
    bot = session.bot
    assert bot.error is not None and "hedge bookkeeping broke" in bot.error
    session.clock.run(until_ns=session.clock.now_ns() + 5 * S)
    assert bot.state is BotState.STOPPED
    assert bot.markets["maker"].venue.open_orders() == [] and bot.markets["taker"].venue.open_orders() == []
    session.shutdown()


def test_a_market_valued_in_another_asset_is_converted(tmp_path):
    """The taker is an inverse perpetual (PnL in BTC); the bot values in USDT (the maker's
    quote): at the maker's BTC/USDT mid, or at the config's conversion rate when given."""
    text = """
markets:
  maker: {venue: {kind: demo, seed: 7}, symbol: BTC/USDT}
  taker: {venue: {kind: demo, follow: maker, seed: 9}, symbol: BTC/USD:BTC, balances: {BTC: 1}}
strategy: {name: quote_and_hedge}
"""
    session = build_session(config_from(text, tmp_path), simulated=True)
    bot = session.bot
    run_for(session, 30)
    maker, taker = bot.markets["maker"], bot.markets["taker"]
    assert taker.pnl.quote_asset == "BTC" and bot.valuation.asset == "USDT"
    assert bot.valuation.rate("BTC") == (maker.mark_price(), "the mid of maker BTC/USDT")
    assert bot.valuation.value(Decimal("0.01"), "BTC") == Decimal("0.01") * maker.mark_price()
    assert bot.pnl_value() == maker.pnl_value() + taker.pnl_value() * maker.mark_price()
    stop(session)
    session.shutdown()

    session = build_session(config_from(text + "conversion: {BTC: 65000}\n", tmp_path, "b.yaml"), simulated=True)
    run_for(session, 5)
    assert session.bot.valuation.rate("BTC") == (Decimal(65000), "the config's conversion setting")
    report = build_report(session.bot, venue=session.venue_label, mode="simulated")
    assert report["valuation"] == {"asset": "USDT",
                                   "rates": {"BTC": {"rate": "65000", "source": "the config's conversion setting"}}}
    assert "valued in USDT: 1 BTC = 65000 (the config's conversion setting)" in format_summary(report)
    stop(session)
    session.shutdown()


def test_pnl_in_an_asset_nothing_converts_is_refused(tmp_path):
    error = refused_session("""
markets:
  maker: {venue: {kind: demo, seed: 7}, symbol: BTC/USDT}
  taker: {venue: {kind: demo, seed: 9}, symbol: BTC/USDT, balances: {EUR: 10000, BTC: 1}, instrument: {quote: EUR}}
strategy: {name: quote_and_hedge}
""", tmp_path)
    assert error.field_path == "conversion" and "EUR" in str(error) and "conversion: {EUR:" in str(error)


def refused_session(text: str, tmp_path: Path) -> ConfigError:
    config = config_from(text, tmp_path)
    with pytest.raises(ConfigError) as info:
        build_session(config, simulated=True)
    return info.value


# -- the follower venue ----------------------------------------------------------------------------
def _mids(lag_ms: float, noise_bps: float, seconds: int = 120, every_ms: int = 50):
    clock = SimClock(0)
    leader = DemoExchange(clock, seed=7, name="lead")
    follower = FollowerExchange(clock, leader.feed("BTC/USDT"), lag_ns=int(lag_ms * MS), noise_bps=noise_bps, seed=8,
                                name="follow")
    leader.start()
    follower.start()

    def mid(exchange):
        book = exchange.feed("BTC/USDT").book
        return (book.best_bid_ticks + book.best_ask_ticks) / 2

    rows = []
    for i in range(1, seconds * 1000 // every_ms + 1):
        clock.run(until_ns=i * every_ms * MS)
        rows.append((mid(leader), mid(follower)))
    return rows


def _gaps_bps(rows, shift: int) -> list[float]:
    return sorted(abs(rows[i][1] - rows[i - shift][0]) / rows[i][0] * 1e4 for i in range(40, len(rows)))


def test_the_follower_tracks_the_leader_with_the_lag():
    rows = _mids(lag_ms=250, noise_bps=0)  # sampled every 50 ms
    p95 = {shift * 50: _gaps_bps(rows, shift)[int(0.95 * (len(rows) - 40))] for shift in range(0, 12)}
    best = min(p95, key=p95.get)
    assert 250 <= best <= 350  # the lag (a step of 20 ms rounds it up)
    assert p95[best] < 0.1  # without noise the follower's mid is the lagged leader's
    assert p95[0] > 3 * p95[best]  # and not today's: it really lags
    moves = sum(1 for a, b in zip(rows, rows[1:]) if a[0] != b[0])
    assert moves > 100  # the leader moved: the test is not trivially true


def test_the_follower_noise_stays_within_its_band():
    rows = _mids(lag_ms=250, noise_bps=1)
    gaps = _gaps_bps(rows, 6)
    assert 0.2 < gaps[len(gaps) // 2] < 1.5  # |N(0, 1 bp)| has a median of 0.67 bp
    assert gaps[int(0.99 * len(gaps))] < 5


def test_follower_is_deterministic_for_a_seed():
    assert _mids(250, 1, seconds=10) == _mids(250, 1, seconds=10)


# -- config ----------------------------------------------------------------------------------------
def test_a_single_market_config_builds_a_one_role_bot(tmp_path):
    config = config_from("venue: {kind: demo, seed: 3}\nsymbol: BTC/USDT\nbalances: {USDT: 5000, BTC: 0.1}\n"
                         "strategy: {name: simple_quoter}\n", tmp_path)
    assert config.markets == {}
    (role, binding), = config.bindings().items()
    assert role == "market" and binding.symbol == "BTC/USDT" and binding.prefix == ""
    session = build_session(config, simulated=True)
    bot = session.bot
    assert list(bot.markets) == ["market"] and not bot.multi_market
    assert bot.connector.name == "demo" and session.venue_label == "demo (seed 3)"
    run_for(session, 5)
    report = build_report(bot, venue=session.venue_label, mode="simulated")
    assert list(report["markets"]) == ["market"] and "valuation" not in report
    stop(session)
    session.shutdown()


@pytest.mark.parametrize("text, field, words", [
    ("markets:\n  maker: {venue: {kind: demo}}\nstrategy: {name: quote_and_hedge}\n",
     "markets.taker", "is required"),
    ("markets:\n  maker: {venue: {kind: demo}}\n  taker: {venue: {kind: demo, seed: 8}}\n  hedge: {}\n"
     "strategy: {name: quote_and_hedge}\n", "markets.hedge", "no market role"),
    ("markets:\n  maker: {venue: {kind: demo}, symbol: BTC/USDT}\n  taker: {venue: {kind: demo}}\n"
     "strategy: {name: quote_and_hedge}\n", "markets.taker", "the same venue and symbol"),
    ("markets:\n  maker: {venue: {kind: demo}}\n  taker: {venue: {kind: demo, follow: taker}}\n"
     "strategy: {name: quote_and_hedge}\n", "markets.taker.venue.follow", "cannot follow itself"),
    ("markets:\n  maker: {venue: {kind: demo}}\n  taker: {venue: {kind: demo, follow: price_source}}\n"
     "strategy: {name: quote_and_hedge}\n", "markets.taker.venue.follow", "not a market of this config"),
    ("markets:\n  maker: {venue: {kind: demo, follow: taker}}\n  taker: {venue: {kind: demo, follow: maker}}\n"
     "strategy: {name: quote_and_hedge}\n", "markets.maker.venue.follow", "in a circle"),
    ("markets:\n  maker: {venue: {kind: demo}}\n  taker: {venue: {kind: demo, seed: 8, lag_ms: 100}}\n"
     "strategy: {name: quote_and_hedge}\n", "markets.taker.venue.lag_ms", "only a follower"),
    ("markets:\n  maker: {venue: {kind: demo}}\n  taker: {venue: {kind: demo, seed: -1}}\n"
     "strategy: {name: quote_and_hedge}\n", "markets.taker.venue.seed", "at least 0"),
    ("markets:\n  maker: {venue: {kind: demo}, colour: red}\n  taker: {}\nstrategy: {name: quote_and_hedge}\n",
     "markets.maker.colour", "unknown field"),
    ("markets:\n  maker: {}\n  taker: {venue: {kind: replay}}\nstrategy: {name: quote_and_hedge}\n",
     "markets.taker.recordings", "needs at least one recording"),
    ("markets:\n  maker: {}\n  taker: {balances: {USDT: -1}}\nstrategy: {name: quote_and_hedge}\n",
     "markets.taker.balances.USDT", "at least 0"),
    ("venue: {kind: demo}\nmarkets:\n  maker: {}\n  taker: {venue: {seed: 8}}\nstrategy: {name: quote_and_hedge}\n",
     "venue", "its own venue"),
    ("venue: {kind: demo}\nstrategy: {name: quote_and_hedge}\n", "markets", "bind each in a markets: section"),
    ("venue: {kind: demo, follow: maker}\n", "venue.follow", "only in a markets: section"),
    ("markets:\n  maker: {}\n  taker: {venue: {seed: 8}}\nconversion: {USDC: 0}\nstrategy: {name: quote_and_hedge}\n",
     "conversion.USDC", "greater than 0"),
])
def test_config_errors_name_the_field(tmp_path, text, field, words):
    error = refused(text, tmp_path)
    assert error.field_path == field and words in str(error), str(error)
    assert str(error).startswith(str(tmp_path / "bot.yaml"))


def test_optional_role_may_be_bound_and_roles_keep_the_strategy_order(tmp_path):
    config = config_from("markets:\n  taker: {venue: {seed: 8}}\n  price_source: {venue: {seed: 9}}\n"
                         "  maker: {}\nstrategy: {name: quote_and_hedge}\n", tmp_path)
    assert list(config.bindings()) == ["maker", "taker", "price_source"]
    assert config.symbol == "BTC/USDT" and config.venue["seed"] == 7  # the first role's, for one-market readers
    session = build_session(config, simulated=True)
    assert list(session.bot.markets) == ["maker", "taker", "price_source"]
    assert [c.name for c in session.connectors] == ["demo-maker", "demo-taker", "demo-price_source"]


def test_preflight_checks_every_role_and_names_its_fields(tmp_path):
    error = refused_session("markets:\n  maker: {}\n  taker: {venue: {seed: 8}, balances: {EUR: 100}}\n"
                            "strategy: {name: quote_and_hedge}\n", tmp_path)
    assert error.field_path == "markets.taker.balances" and "no BTC or USDT" in str(error)


def test_follower_of_a_paper_account_and_a_perpetual_market(tmp_path):
    session = build_session(config_from(
        "markets:\n  maker: {venue: {kind: demo, account: paper}, symbol: BTC/USDT}\n"
        "  taker: {venue: {kind: demo, follow: maker, seed: 8}, symbol: BTC/USDT:USDT, balances: {USDT: 10000}}\n"
        "strategy: {name: quote_and_hedge}\n", tmp_path), simulated=True)
    bot = session.bot
    assert bot.markets["maker"].account == "paper-demo-maker"
    run_for(session, 30)
    taker = bot.markets["taker"]
    assert taker.instrument.is_derivative
    maker_mid, taker_mid = bot.markets["maker"].mark_price(), taker.mark_price()
    assert abs(taker_mid - maker_mid) / maker_mid < Decimal("0.002")  # tracks across tick sizes
    assert stop(session) == [True]
    session.shutdown()


def test_engine_refuses_bad_role_bindings():
    clock = SimClock(0)
    a, b = DemoExchange(clock, name="same"), DemoExchange(clock, name="same", seed=8)
    with pytest.raises(ValueError, match="distinct names"):
        Bot("x", None, None, QuoteAndHedge(), markets={"maker": (a, "BTC/USDT"), "taker": (b, "BTC/USDT")})
    with pytest.raises(ValueError, match="needs a market for the role 'taker'"):
        Bot("x", None, None, QuoteAndHedge(), markets={"maker": (a, "BTC/USDT")})
    with pytest.raises(ValueError, match="one role only"):
        Bot("x", None, None, QuoteAndHedge(), markets={"maker": (a, "BTC/USDT"), "taker": (a, "BTC/USDT")})


def test_parse_config_keeps_markets_in_the_strategy_order():
    config = parse_config({"markets": {"taker": {"venue": {"seed": 8}}, "maker": {}},
                           "strategy": {"name": "quote_and_hedge"}}, "inline")
    assert [b.prefix for b in config.bindings().values()] == ["markets.maker.", "markets.taker."]


# -- what acts on one market only is refused on several -------------------------------------------
@pytest.mark.parametrize("limit", ["max_order_size: 0.001", "max_open_orders: 4", "max_inventory: 0.01",
                                   "flatten_on_stop: true"])
def test_one_market_risk_limits_are_refused_on_a_hedged_bot(limit, tmp_path):
    error = refused(TWO_DEMOS + f"risk: {{{limit}}}\n", tmp_path)
    name = limit.split(":")[0]
    assert error.field_path == f"risk.{name}" and "several" in str(error)


def test_pnl_limits_apply_to_the_whole_hedged_bot(tmp_path):
    config = config_from(TWO_DEMOS + "risk: {max_daily_loss: 50, kill_switch_loss_pct: 5}\n", tmp_path)
    assert config.risk.get("max_daily_loss") == 50


def test_flatten_is_refused_on_a_hedged_bot(tmp_path):
    session = build_session(config_from(TWO_DEMOS, tmp_path), simulated=True)
    run_for(session, 2)
    with pytest.raises(RuntimeError, match="undo its hedge"):
        session.bot.flatten()
    assert session.bot.state is BotState.RUNNING
    assert stop(session)


def test_a_hedged_bots_attribution_adds_up_to_its_total_pnl(tmp_path):
    """The first market's fills explain its own PnL (spread, inventory, fees); the other
    markets' PnL is its own part, so the parts add up exactly to the total and `other` stays
    a rounding residue, not the hedge's whole PnL."""
    from app.wiring.runners import run_simulated

    report = run_simulated(config_from(TWO_DEMOS, tmp_path), 120)
    parts = report["attribution"]
    assert report["analytics"]["market"] == "maker" and report["markets"]["taker"]["fills"] > 0
    assert sum(Decimal(v) for v in parts.values()) == Decimal(report["pnl"])
    taker = Decimal(report["markets"]["taker"]["pnl_in_valuation_asset"])
    assert abs(Decimal(parts["other_markets"]) - taker) < Decimal("1e-8")
    assert abs(Decimal(parts["other"])) < Decimal("1e-8")


def test_a_hedged_bots_fill_figures_are_given_per_market(tmp_path):
    """Orders, fill rate, quoting and markouts per role, each on its own market's mids; the
    top-level figures stay the first market's, and each market's fills are its own."""
    from app.engine.analytics import format_analytics
    from app.wiring.runners import run_simulated

    report = run_simulated(config_from(TWO_DEMOS, tmp_path), 120)
    by_market = report["by_market"]
    assert list(by_market) == ["maker", "taker"]
    maker, taker = by_market["maker"], by_market["taker"]
    for key in ("orders_placed", "fill_rate", "markouts_bps", "quoting_pct", "filled_amount"):
        assert maker[key] == report[key]  # the top level is the maker's, as before
    assert taker["markouts_bps"]["1s"]["of"] == report["markets"]["taker"]["fills"] > 0
    assert maker["markouts_bps"]["1s"]["of"] == report["markets"]["maker"]["fills"]
    assert taker["orders_placed"] >= 1 and Decimal(taker["filled_amount"]) > 0
    assert taker["markouts_bps"]["1s"]["count"] > 0  # taken on the taker's own book
    lines = format_analytics(report)
    assert any(line.startswith("  market taker: ") for line in lines), lines


def test_the_desktop_workspace_has_a_lagged_demo_for_cross_market_bots():
    """The window's default accounts include a demo market following the first one, so a
    cross-exchange bot trades offline there too (maker on demo, hedges on demo-lagged)."""
    from app.wiring.workspace import LAGGED_DEMO, build_workspace
    from strategies.xemm import CrossExchangeMarketMaking

    clock = SimClock(0)
    workspace = build_workspace(clock)
    workspace.start()
    assert LAGGED_DEMO in workspace.connectors
    params = CrossExchangeMarketMaking.schema.validate({"order_amount": "0.002", "min_profitability": "-0.05",
                                                        "cancel_order_threshold": "-0.05"})
    bot = workspace.create_bot("cross_exchange_market_making", params,
                               markets={"maker": ("demo", None), "taker": (LAGGED_DEMO, None)})
    bot.start()
    clock.run(until_ns=clock.now_ns() + 300 * S)
    assert bot.markets["maker"].pnl.fills > 0 and bot.markets["taker"].pnl.fills > 0
    done: list[bool] = []
    bot.stop(lambda: done.append(True))
    clock.run(until_ns=clock.now_ns() + 10 * S)
    assert done and bot.open_orders() == []
