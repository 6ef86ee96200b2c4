"""A bot never crosses its own quotes: the quoter never wants it, OwnOrders never sends it."""
from decimal import Decimal
from types import SimpleNamespace

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.domain import Balance, OrderStatus, OrderType, Side
from app.engine.bot import Bot
from app.interfaces.clock import SimClock
from app.engine.journal import JournalStore
from app.engine.own_orders import OwnOrders
from connectors.paper.connector import PaperConnector
from app.interfaces.strategy import StrategyContext
from strategies.simple_quoter import SimpleQuoter
from tests.paper_support import INST, ScriptedFeed

MS = 1_000_000

bps = st.decimals(min_value=0, max_value=50, places=4) | st.sampled_from([Decimal(0), Decimal("0.0001")])


@settings(max_examples=400, deadline=None)
@given(
    bid_spread=bps, ask_spread=bps, step=bps,
    levels=st.integers(1, 5),
    skew=st.sampled_from([Decimal(0), Decimal("0.0001"), Decimal(5), Decimal(1000)]),
    target=st.sampled_from([Decimal(0), Decimal(50), Decimal(100)]),
    post_only=st.booleans(),
    best_bid=st.integers(1, 2_000_000),
    width=st.integers(-3, 50),  # <= 0: a locked or crossed book, as a feed may show briefly
    base=st.sampled_from(["0", "1", "1000"]),
)
@example(bid_spread=Decimal(0), ask_spread=Decimal(0), step=Decimal(0), levels=1, skew=Decimal(0),
         target=Decimal(50), post_only=False, best_bid=10_000, width=2, base="1")
@example(bid_spread=Decimal(0), ask_spread=Decimal(0), step=Decimal(0), levels=3, skew=Decimal(0),
         target=Decimal(50), post_only=True, best_bid=10_000, width=2, base="1")
def test_wanted_quotes_never_cross(bid_spread, ask_spread, step, levels, skew, target, post_only, best_bid,
                                   width, base):
    strategy = SimpleQuoter({
        "order_amount": "0.001", "bid_spread_bps": bid_spread, "ask_spread_bps": ask_spread,
        "level_step_bps": step, "order_levels": levels, "inventory_skew_bps": skew,
        "inventory_target_base_pct": target, "post_only": post_only,
    })
    best_ask = max(1, best_bid + width)
    book = SimpleNamespace(best_bid_ticks=best_bid, best_ask_ticks=best_ask, is_stale=False)
    balances = {INST.base: Balance(INST.base, Decimal(base), Decimal(0)),
                INST.quote: Balance(INST.quote, Decimal(10_000), Decimal(0))}
    account = SimpleNamespace(balances=lambda: balances)
    strategy.bind(StrategyContext(SimClock(), account, SimpleNamespace(book=book), INST, None, "t"))
    quotes = strategy.wanted_quotes()
    bids = [q.price_ticks for q in quotes if q.side is Side.BUY]
    asks = [q.price_ticks for q in quotes if q.side is Side.SELL]
    if bids and asks:
        assert max(bids) < min(asks), (bids, asks)
    assert all(p > 0 for p in bids + asks)


def test_zero_spreads_on_a_whole_tick_mid_quote_one_tick_apart():
    strategy = SimpleQuoter({"order_amount": "0.1", "bid_spread_bps": 0, "ask_spread_bps": 0, "post_only": False})
    book = SimpleNamespace(best_bid_ticks=10_000, best_ask_ticks=10_002, is_stale=False)
    strategy.bind(StrategyContext(SimClock(), None, SimpleNamespace(book=book), INST, None, "t"))
    assert [(q.side, q.price_ticks) for q in strategy.wanted_quotes()] == [(Side.BUY, 10_000), (Side.SELL, 10_001)]


def _paper():
    clock = SimClock(MS)
    feed = ScriptedFeed(INST, clock)
    feed.set_levels(bids={10000: 5000}, asks={10010: 5000})
    paper = PaperConnector(feed, {"USD": "100000", "TST": "100"}, clock, order_latency_ns=MS, cancel_latency_ns=MS)
    paper.start()
    return clock, feed, paper


def test_own_orders_refuse_an_order_that_would_cross_the_bots_own_quotes():
    clock, feed, paper = _paper()
    rejected = []
    own = OwnOrders(paper, rejected.append)
    ask = own.place_order(INST.symbol, Side.SELL, OrderType.LIMIT, 100, 10_005)
    bid = own.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, 100, 10_003)
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    assert ask.status is OrderStatus.OPEN and bid.status is OrderStatus.OPEN
    sent_before = len(paper.open_orders())

    at_ask = own.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, 100, 10_005)
    above = own.place_order(INST.symbol, Side.BUY, OrderType.LIMIT_MAKER, 100, 10_020)
    at_bid = own.place_order(INST.symbol, Side.SELL, OrderType.LIMIT, 100, 10_003)
    market = own.place_order(INST.symbol, Side.SELL, OrderType.MARKET, 100)
    for order in (at_ask, above, at_bid, market):
        assert order.status is OrderStatus.REJECTED
        assert not own.owns(order.client_order_id) and paper.get_order(order.client_order_id) is None
    assert at_ask.reason == "would cross the bot's own ask at 100.05"
    assert at_bid.reason == "would cross the bot's own bid at 100.03"
    assert rejected == [at_ask, above, at_bid, market]
    assert len(paper.open_orders()) == sent_before  # nothing was sent

    # One tick inside is fine, and a cancelled own quote no longer blocks.
    assert own.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, 100, 10_004).status is OrderStatus.PENDING_CREATE
    own.cancel_order(ask.client_order_id)
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    assert ask.status is OrderStatus.CANCELLED
    assert own.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, 100, 10_006).status is not OrderStatus.REJECTED


def test_a_quote_being_cancelled_does_not_block_and_other_bots_quotes_do_not_either():
    clock, feed, paper = _paper()
    mine, theirs = OwnOrders(paper), OwnOrders(paper)
    ask = mine.place_order(INST.symbol, Side.SELL, OrderType.LIMIT, 100, 10_005)
    theirs.place_order(INST.symbol, Side.SELL, OrderType.LIMIT, 100, 10_004)
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    assert mine.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, 100, 10_006).status is OrderStatus.REJECTED
    # Another bot's ask at 100.04 is not this bot's concern (the venue decides).
    assert mine.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, 100, 10_004).status is OrderStatus.PENDING_CREATE
    # The requote after a fast move: the old ask's cancel is sent first, then the new bid.
    mine.cancel_order(ask.client_order_id)
    assert ask.status is OrderStatus.PENDING_CANCEL
    assert mine.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, 100, 10_006).status is OrderStatus.PENDING_CREATE


def test_a_bot_counts_and_journals_a_self_cross_refusal(tmp_path):
    clock, feed, paper = _paper()
    bot = Bot("x", paper, INST.symbol, SimpleQuoter({"order_amount": "0.1"}), journal=(store := JournalStore(tmp_path / "j.sqlite")))
    bot.start()
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    own_ask = min(o.price_ticks for o in bot.open_orders() if o.side is Side.SELL)
    order = bot.orders.place_order(INST.symbol, Side.BUY, OrderType.LIMIT, 100, own_ask + 1)
    assert order.status is OrderStatus.REJECTED and bot.rejects == 1
    bot.stop()
    clock.run(until_ns=clock.now_ns() + 5 * MS)
    records = list(store.records(bot="x"))
    refusal = next(r for r in records if r.get("id") == order.client_order_id)
    assert refusal["status"] == "rejected" and refusal["reason"].startswith("would cross the bot's own ask at ")
