"""PaperConnector against a hand-driven feed on simulated time.

Book used by most tests (instrument TST/USD: tick 0.01, lot 0.001, maker 0.1%, taker 0.2%):
    asks 100.05 x 5.0 | 100.02 x 2.0 | 100.01 x 1.0
    bids 100.00 x 5.0 |  99.99 x 8.0 |  99.98 x 10.0
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from app.domain import CancelRejected, BalancesUpdated, OrderFilled, OrderStatus, OrderType, OrderUpdated, Side
from app.interfaces.clock import SimClock
from connectors.paper.connector import PaperConnector
from tests.paper_support import INST, ScriptedFeed

MS = 1_000_000
SYM = INST.symbol
BUY_TAKER = 1
SELL_TAKER = -1
S = OrderStatus


@dataclass
class Env:
    clock: SimClock
    feed: ScriptedFeed
    conn: PaperConnector
    events: list = field(default_factory=list)

    def advance(self, ms: float) -> None:
        self.clock.run(until_ns=self.clock.now_ns() + int(ms * MS))

    def fills(self, client_order_id: str | None = None) -> list:
        return [
            e.fill for e in self.events
            if isinstance(e, OrderFilled) and client_order_id in (None, e.fill.client_order_id)
        ]

    def statuses(self, client_order_id: str) -> list[OrderStatus]:
        return [s for cid, s in self.updates if cid == client_order_id]

    @property
    def updates(self) -> list[tuple[str, OrderStatus]]:
        return [(e[1], e[2]) for e in self.events if isinstance(e, tuple)]

    def bal(self, asset: str) -> tuple[Decimal, Decimal]:
        b = self.conn.balances()[asset]
        return b.total, b.locked


def make_env(balances: dict | None = None, start: bool = True) -> Env:
    clock = SimClock(1_000 * MS)
    feed = ScriptedFeed(clock=clock)
    feed.set_levels(
        bids={10000: 5000, 9999: 8000, 9998: 10000},
        asks={10001: 1000, 10002: 2000, 10005: 5000},
    )
    conn = PaperConnector(feed, balances or {"USD": "100000", "TST": "100"})
    env = Env(clock, feed, conn)

    def record(event) -> None:
        env.events.append(event)
        if isinstance(event, OrderUpdated):  # the order object mutates: keep the status seen
            env.events.append(("status", event.order.client_order_id, event.order.status))

    conn.add_listener(record)
    if start:
        conn.start()
    return env


@pytest.fixture
def env() -> Env:
    return make_env()


# -- resting orders and the queue ---------------------------------------------------------
def test_resting_order_is_not_live_before_the_latency(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 2000, 10000)
    assert order.status is S.PENDING_CREATE
    assert env.bal("USD")[1] == Decimal("200.4")  # 2 x 100.00 plus the larger fee (0.2%)
    env.advance(10)
    env.feed.set_levels(bids={10000: 6000})
    env.feed.trade((10000, 7000, SELL_TAKER))  # would have filled it, had it been there
    assert order.status is S.PENDING_CREATE and order.filled_lots == 0
    assert env.conn.queue_ahead_lots(order.client_order_id) is None
    env.advance(10)
    assert order.status is S.OPEN
    assert env.conn.queue_ahead_lots(order.client_order_id) == 6000  # displayed when it arrived
    assert env.statuses(order.client_order_id) == [S.PENDING_CREATE, S.OPEN]
    assert env.fills() == []


def test_trades_at_price_advance_the_queue_then_fill_partially_then_fully(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 2000, 10000)
    env.advance(20)
    env.feed.trade((10000, 4000, SELL_TAKER))
    assert env.conn.queue_ahead_lots(order.client_order_id) == 1000 and env.fills() == []
    env.feed.trade((10000, 2500, SELL_TAKER))
    assert order.status is S.PARTIALLY_FILLED and order.filled_lots == 1500
    env.feed.trade((10000, 600, SELL_TAKER))
    assert order.status is S.FILLED
    fills = env.fills(order.client_order_id)
    assert [(f.price, f.amount, f.fee, f.is_maker) for f in fills] == [
        (Decimal("100"), Decimal("1.5"), Decimal("0.15"), True),
        (Decimal("100"), Decimal("0.5"), Decimal("0.05"), True),
    ]
    assert all(f.fee_asset == "USD" and f.side is Side.BUY for f in fills)
    assert len({f.trade_id for f in fills}) == 2
    assert env.bal("USD") == (Decimal("100000") - Decimal("200") - Decimal("0.2"), 0)
    assert env.bal("TST") == (Decimal("102"), 0)
    assert env.conn.open_orders() == []


def test_cancels_ahead_move_the_order_up(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.SELL, OrderType.LIMIT, 1000, 10002)
    env.advance(20)
    assert env.conn.queue_ahead_lots(order.client_order_id) == 2000
    env.feed.set_levels(asks={10002: 4000})  # 2000 join behind
    env.feed.set_levels(asks={10002: 1000})  # 3000 cancelled, 2000/4000 of them ahead
    assert env.conn.queue_ahead_lots(order.client_order_id) == 2000 - 3000 * 2000 // 4000


def test_trade_through_fills_a_resting_order(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.SELL, OrderType.LIMIT, 1000, 10002)
    env.advance(20)
    env.feed.trade((10005, 700, BUY_TAKER))  # bought above our ask: traded through it
    assert order.filled_lots == 700
    assert env.fills()[0].price == Decimal("100.02")  # own price, never the print's better one
    assert env.fills()[0].is_maker


def test_no_fill_when_asks_cross_a_bid_without_trades(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 1000, 10000)
    env.advance(20)
    env.feed.set_levels(bids={10000: 0}, asks={10001: 0, 10002: 0, 9999: 3000})
    env.advance(100)
    assert order.status is S.OPEN and env.fills() == []


def test_post_only_that_would_cross_is_rejected_at_the_market(env: Env) -> None:
    bad = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT_MAKER, 1000, 10001)
    good = env.conn.place_order(SYM, Side.SELL, OrderType.LIMIT_MAKER, 1000, 10001)
    assert bad.status is S.PENDING_CREATE
    env.advance(20)
    assert bad.status is S.REJECTED and bad.reason == "post-only order would cross"
    assert good.status is S.OPEN
    assert env.conn.queue_ahead_lots(good.client_order_id) == 1000
    assert env.bal("USD")[1] == 0 and env.bal("TST")[1] == Decimal("1")


# -- taker orders -------------------------------------------------------------------------
def test_market_buy_walks_levels_with_taker_fee_and_exact_vwap(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.BUY, OrderType.MARKET, 2500)
    env.advance(20)
    assert order.status is S.FILLED
    fills = env.fills(order.client_order_id)
    assert [(f.price, f.amount, f.is_maker) for f in fills] == [
        (Decimal("100.01"), Decimal("1"), False),
        (Decimal("100.02"), Decimal("1.5"), False),
    ]
    notional = sum(f.price * f.amount for f in fills)
    assert notional / Decimal("2.5") == Decimal("100.016")
    assert sum(f.fee for f in fills) == notional * Decimal("0.002")
    assert env.bal("USD") == (Decimal("100000") - notional - notional * Decimal("0.002"), 0)
    assert env.bal("TST") == (Decimal("102.5"), 0)


def test_two_orders_do_not_take_the_same_liquidity_until_the_book_updates(env: Env) -> None:
    first = env.conn.place_order(SYM, Side.BUY, OrderType.MARKET, 2500)
    second = env.conn.place_order(SYM, Side.BUY, OrderType.MARKET, 1000)
    env.advance(20)
    assert [(f.price, f.amount) for f in env.fills(second.client_order_id)] == [
        (Decimal("100.02"), Decimal("0.5")),
        (Decimal("100.05"), Decimal("0.5")),
    ]
    assert first.status is S.FILLED
    env.feed.set_levels(bids={9997: 1})  # a new book state: the displayed asks count again
    third = env.conn.place_order(SYM, Side.BUY, OrderType.MARKET, 500)
    env.advance(20)
    assert [(f.price, f.amount) for f in env.fills(third.client_order_id)] == [(Decimal("100.01"), Decimal("0.5"))]


def test_ioc_fills_what_is_there_and_cancels_the_rest(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.BUY, OrderType.IOC, 3500, 10002)
    env.advance(20)
    assert order.filled_lots == 3000
    assert order.status is S.CANCELLED and "IOC" in order.reason
    assert all(not f.is_maker for f in env.fills())
    assert env.bal("USD")[1] == 0
    assert env.conn.open_orders() == []


def test_crossing_limit_takes_then_rests_its_remainder(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.SELL, OrderType.LIMIT, 6000, 9999)
    env.advance(20)
    assert [(f.price, f.amount, f.is_maker) for f in env.fills()] == [
        (Decimal("100"), Decimal("5"), False),
        (Decimal("99.99"), Decimal("1"), False),
    ]
    assert order.status is S.FILLED  # 5 + 8 TST displayed down to 99.99 cover the 6 sold
    # A larger order takes what this book state has left down to its price, then rests there.
    big = env.conn.place_order(SYM, Side.SELL, OrderType.LIMIT, 8000, 9999)
    env.advance(20)
    assert big.filled_lots == 7000  # what the first order left at 99.99 in this book state
    assert big.status is S.PARTIALLY_FILLED
    assert env.conn.queue_ahead_lots(big.client_order_id) == 0  # no asks displayed at 99.99
    assert env.conn.open_orders() == [big]


# -- latency races and cancels -----------------------------------------------------------
def test_fill_during_cancel_latency_then_cancelled(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.SELL, OrderType.LIMIT, 1000, 10001)
    env.advance(20)
    env.conn.cancel_order(order.client_order_id)
    assert order.status is S.PENDING_CANCEL
    env.advance(5)
    env.feed.trade((10001, 1500, BUY_TAKER))  # the exchange has not seen the cancel yet
    assert order.filled_lots == 500 and order.status is S.PENDING_CANCEL
    env.advance(15)
    assert order.status is S.CANCELLED and order.filled_lots == 500
    assert env.bal("TST") == (Decimal("99.5"), 0)


def test_full_fill_wins_the_race_against_a_cancel(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.SELL, OrderType.LIMIT, 1000, 10001)
    env.advance(20)
    env.conn.cancel_order(order.client_order_id)
    env.feed.trade((10001, 2000, BUY_TAKER))
    env.advance(20)
    assert order.status is S.FILLED
    assert env.statuses(order.client_order_id)[-1] is S.PENDING_CANCEL  # no cancel after the fill


def test_cancel_before_the_order_reaches_the_market(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 1000, 10000)
    env.advance(5)
    env.conn.cancel_order(order.client_order_id)
    env.advance(15)  # the order arrives first and rests, the cancel is still travelling
    assert order.status is S.PENDING_CANCEL
    assert env.conn.queue_ahead_lots(order.client_order_id) == 5000
    env.advance(5)
    assert order.status is S.CANCELLED
    assert env.conn.queue_ahead_lots(order.client_order_id) is None
    assert env.bal("USD") == (Decimal("100000"), 0)
    seen = []
    env.conn.add_listener(seen.append)
    env.conn.cancel_order("nope")  # the venues' one error contract: an event with the reason
    assert [(type(e), e.client_order_id, e.reason) for e in seen] == [
        (CancelRejected, "nope", "unknown order nope on paper")]


# -- rejections ---------------------------------------------------------------------------
def test_rejections_at_submission_have_clear_reasons(env: Env) -> None:
    small = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 10, 10000)
    assert small.status is S.REJECTED and small.reason.startswith("below min notional: 1 USD < 5 USD")
    small_mkt = env.conn.place_order(SYM, Side.BUY, OrderType.MARKET, 10)
    assert small_mkt.status is S.REJECTED and small_mkt.reason.startswith("below min notional")
    rich = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 2_000_000, 10000)
    assert rich.status is S.REJECTED and rich.reason.startswith("insufficient balance: needs")
    assert "USD" in rich.reason
    oversell = env.conn.place_order(SYM, Side.SELL, OrderType.LIMIT, 100_001, 10010)
    assert oversell.status is S.REJECTED and "TST" in oversell.reason
    thin = env.conn.place_order(SYM, Side.BUY, OrderType.MARKET, 9000)
    assert thin.status is S.REJECTED and thin.reason.startswith("insufficient book depth")
    other = env.conn.place_order("ABC/USD", Side.BUY, OrderType.LIMIT, 1000, 10000)
    assert other.status is S.REJECTED and "unknown symbol" in other.reason
    for order in (small, small_mkt, rich, oversell, thin, other):
        assert env.conn.get_order(order.client_order_id) is order
    assert env.bal("USD") == (Decimal("100000"), 0) and env.bal("TST") == (Decimal("100"), 0)
    assert env.conn.open_orders() == []
    with pytest.raises(KeyError):
        env.conn.feed("ABC/USD")
    assert env.conn.feed(SYM) is env.feed


def test_stale_book_rejects_orders_and_freezes_fills(env: Env) -> None:
    resting = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 1000, 10000)
    env.advance(20)
    env.feed.go_stale()
    refused = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 1000, 9999)
    assert refused.status is S.REJECTED and refused.reason == "market data is stale"
    env.feed.trade((10000, 9000, SELL_TAKER))
    assert resting.filled_lots == 0
    env.feed.resync()
    env.feed.trade((10000, 5500, SELL_TAKER))
    assert resting.filled_lots == 500
    # Stale while an order travels: the market refuses it on arrival.
    in_flight_later = env.conn.place_order(SYM, Side.SELL, OrderType.LIMIT, 1000, 10010)
    env.feed.go_stale()
    env.advance(20)
    assert in_flight_later.status is S.REJECTED and in_flight_later.reason == "market data is stale"
    assert env.bal("TST")[1] == 0


def test_orders_need_a_started_connector_and_stop_cancels_timers() -> None:
    env = make_env(start=False)
    early = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 1000, 10000)
    assert early.status is S.REJECTED and "not running" in early.reason
    env.conn.start()
    resting = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 1000, 10000)
    env.advance(20)
    travelling = env.conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 1000, 9999)
    env.conn.stop()
    assert travelling.status is S.FAILED
    assert env.clock.pending() == 0
    env.feed.trade((10000, 9000, SELL_TAKER))  # not listening any more
    assert resting.status is S.OPEN and resting.filled_lots == 0
    env.conn.start()
    env.feed.trade((10000, 5500, SELL_TAKER))
    assert resting.filled_lots == 500


# -- accounting ---------------------------------------------------------------------------
def test_balances_are_conserved_and_locks_return_to_zero(env: Env) -> None:
    start_usd, start_tst = Decimal("100000"), Decimal("100")
    conn, feed = env.conn, env.feed
    bid = conn.place_order(SYM, Side.BUY, OrderType.LIMIT, 3000, 10000)
    ask = conn.place_order(SYM, Side.SELL, OrderType.LIMIT, 2000, 10002)
    conn.place_order(SYM, Side.BUY, OrderType.MARKET, 1500)
    conn.place_order(SYM, Side.SELL, OrderType.IOC, 9000, 9999)
    env.advance(20)
    feed.set_levels(bids={10000: 4000, 9999: 2000}, asks={10001: 500, 10002: 2500})
    feed.trade((10000, 5000, SELL_TAKER), (10002, 3000, BUY_TAKER), (10003, 1200, BUY_TAKER))
    for event in env.events:
        if isinstance(event, BalancesUpdated):
            for b in event.balances.values():
                assert b.total >= 0 and 0 <= b.locked <= b.total
                assert b.available == b.total - b.locked
    assert env.bal("USD")[1] > 0  # the bid still rests
    conn.cancel_all()
    env.advance(20)
    assert bid.status is S.CANCELLED and ask.status is S.FILLED
    fills = env.fills()
    bought = sum(f.amount for f in fills if f.side is Side.BUY)
    sold = sum(f.amount for f in fills if f.side is Side.SELL)
    spent = sum(f.price * f.amount for f in fills if f.side is Side.BUY)
    received = sum(f.price * f.amount for f in fills if f.side is Side.SELL)
    fees = sum(f.fee for f in fills)
    assert bought > 0 and sold > 0 and any(f.is_maker for f in fills) and any(not f.is_maker for f in fills)
    assert env.bal("TST") == (start_tst + bought - sold, 0)
    assert env.bal("USD") == (start_usd - spent + received - fees, 0)
    assert conn.open_orders() == []


def test_market_order_never_fills_beyond_its_protection_price(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.BUY, OrderType.MARKET, 1500)  # worst level now 100.02
    assert env.bal("USD")[1] > 0
    env.feed.set_levels(asks={10001: 0, 10002: 500, 10005: 0, 10200: 5000})  # jumps 2% meanwhile
    env.advance(20)
    assert [(f.price, f.amount) for f in env.fills(order.client_order_id)] == [(Decimal("100.02"), Decimal("0.5"))]
    assert order.status is S.CANCELLED and "protection price" in order.reason
    assert env.bal("USD")[1] == 0


def test_stop_completes_cancels_in_flight_and_reports_balances(env: Env) -> None:
    order = env.conn.place_order(SYM, Side.SELL, OrderType.LIMIT, 1000, 10010)
    env.advance(20)
    assert env.bal("TST")[1] == Decimal("1")
    env.conn.cancel_order(order.client_order_id)
    env.conn.stop()
    assert order.status is S.CANCELLED and env.bal("TST")[1] == 0
    last = [e for e in env.events if isinstance(e, BalancesUpdated)][-1]
    assert last.balances["TST"].locked == 0
