"""Every journaled bot's summary over its runs (app/engine/journal/history.py), on real SQLite files."""
from decimal import Decimal

from app.engine.journal import JournalStore
from app.engine.journal.history import bot_summaries, load_summaries
from app.interfaces.clock import SimClock
from tests.paper_support import INST
from tests.test_journal import MS, _life


def test_summaries_agree_with_each_bot_history_and_its_pnl_at_stop(tmp_path):
    path = tmp_path / "j.sqlite"
    store = JournalStore(path)
    first, _ = _life(store, "h")
    store.close()
    store = JournalStore(path)  # a second run of the same bot, and another bot
    second, _ = _life(store, "h", clock=SimClock(10_000 * MS))
    other, _ = _life(store, "k", clock=SimClock(20_000 * MS))
    summaries = {s.name: s for s in bot_summaries(store, lambda account, symbol: INST)}
    assert list(summaries) == ["h", "k"]
    for name in ("h", "k"):
        history = store.history(name, INST)
        item = summaries[name]
        assert (item.orders, item.fills, item.last_price) == (history.orders, history.fills, history.last_price)
        assert item.pnl == history.pnl_at_last_price and item.pnl_asset == history.pnl.quote_asset
        assert item.state == "stopped" and item.strategy == "simple_quoter" and item.account == "paper"
    assert summaries["h"].fills == first.pnl.fills + second.pnl.fills == 2
    # The PnL each showed when it stopped (its last run's, at the mid of that moment).
    assert summaries["h"].pnl_at_stop == second.pnl_value() and summaries["k"].pnl_at_stop == other.pnl_value()
    store.close()
    assert [s.name for s in load_summaries(path)] == ["h", "k"]  # read-only, as the window's worker reads it


def test_a_bot_left_running_by_a_crash_has_no_pnl_at_stop(tmp_path):
    store = JournalStore(tmp_path / "j.sqlite")
    _life(store, "h")
    store.set_bot_state("h", "running")  # as a kill leaves it
    [item] = bot_summaries(store)
    assert item.state == "running" and item.pnl_at_stop is None and item.fills == 1
    assert item.pnl_asset == INST.quote and isinstance(item.pnl, Decimal)
    store.close()


def test_a_bot_on_two_markets_gets_each_market_valued_apart(tmp_path):
    """Fills on two symbols are not mixed into one inventory; a market valued in another asset
    is named rather than added in the wrong unit."""
    from app.domain import Fill, Side

    store = JournalStore(tmp_path / "j.sqlite")
    _life(store, "x")  # writes the bot row (paper, the test instrument's symbol) and one fill
    base = store.fills(bot="x")[0].fill
    extra = [Fill("e1", "c1", "ETH/USD", Side.BUY, Decimal("10"), Decimal("1"), Decimal("0"), "USD", True, 1),
             Fill("e2", "c2", "ETH/USD", Side.SELL, Decimal("12"), Decimal("1"), Decimal("0"), "USD", True, 2),
             Fill("b1", "c3", "BTC/EUR", Side.BUY, Decimal("100"), Decimal("1"), Decimal("0"), "EUR", True, 3)]
    for fill in extra:
        assert store.record_fill("x", "paper", "e", fill)
    [item] = bot_summaries(store, lambda account, symbol: INST if symbol == INST.symbol else None)
    from app.engine.pnl import pnl_tracker_for

    own = pnl_tracker_for(INST)  # the first market alone
    own.on_fill(base)
    assert item.fills == 4 and item.last_price == base.price
    assert item.pnl == own.pnl(base.price) + Decimal("2")  # + the ETH round trip, both in USD
    assert item.pnl_asset == INST.quote == "USD" and item.other_assets == ("EUR",)
    store.close()
