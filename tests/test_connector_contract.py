"""One contract, every venue: the demo exchange, paper trading and a live exchange through
ccxt (against the local Binance-protocol server). A new venue passes this before it is
called done (app/interfaces/venue.py says what the contract is)."""
from __future__ import annotations

import asyncio

import pytest

from app.domain import (
    BalancesUpdated,
    CancelRejected,
    ConnectionChanged,
    ConnectionState,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
    new_client_order_id,
)
from app.domain.order import parse_client_order_id
from tests.connector_venues import SYMBOL, VENUES, until

pytestmark = pytest.mark.timeout(120)


def run(venue: str, body) -> None:
    async def main():
        async with VENUES[venue]() as connector:
            events: list = []
            connector.add_listener(events.append)
            await body(connector, events)
    asyncio.run(main())


async def connected(connector, events) -> None:
    await connector.connect()
    assert connector.connection_state is ConnectionState.LIVE
    assert any(isinstance(e, ConnectionChanged) and e.state is ConnectionState.LIVE for e in events)
    assert SYMBOL in connector.instruments
    feed = connector.feed(SYMBOL)
    await until(lambda: not feed.book.is_stale and feed.book.best_bid_ticks > 0, 10, "a synced book")


@pytest.mark.parametrize("venue", list(VENUES))
def test_connect_instruments_book_health_disconnect(venue) -> None:
    async def body(connector, events):
        await connected(connector, events)
        instruments = await connector.load_instruments()
        assert instruments[SYMBOL].tick_size > 0 and instruments[SYMBOL].lot_size > 0
        book = connector.feed(SYMBOL).book
        assert 0 < book.best_bid_ticks < book.best_ask_ticks
        health = connector.health()
        assert {"state", "latency_ms", "reconnects", "rate_budget_used"} <= set(health) and health["state"] == "live"
        await connector.disconnect()
        assert connector.connection_state is ConnectionState.DOWN
        assert isinstance(events[-1], ConnectionChanged) and events[-1].state is ConnectionState.DOWN
    run(venue, body)


@pytest.mark.parametrize("venue", list(VENUES))
def test_a_resting_order_keeps_our_id_and_cancels(venue) -> None:
    async def body(connector, events):
        await connected(connector, events)
        book = connector.feed(SYMBOL).book
        cid = new_client_order_id("ctst")
        order = connector.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 100, book.best_bid_ticks - 50_000,
                                      client_order_id=cid)
        assert order.client_order_id == cid and parse_client_order_id(cid).bot_tag == "ctst"
        assert order.status is OrderStatus.PENDING_CREATE
        await until(lambda: order.status is OrderStatus.OPEN, 5, "the order open")
        opened = [e for e in events if isinstance(e, OrderUpdated) and e.order is order and e.change is not None]
        assert opened and opened[-1].change.status is OrderStatus.OPEN  # the immutable event that moved it
        assert connector.get_order(cid) is order and order in connector.open_orders(SYMBOL)
        assert connector.balances()["USDT"].locked > 0
        assert order in await connector.query_open_orders(SYMBOL)
        connector.cancel_order(cid)
        await until(lambda: order.status is OrderStatus.CANCELLED, 5, "the cancel")
        assert order not in connector.open_orders()
        queried = await connector.query_order(cid, SYMBOL)
        assert queried is not None and queried.status is OrderStatus.CANCELLED
        await until(lambda: connector.balances()["USDT"].locked == 0, 5, "funds released")
    run(venue, body)


@pytest.mark.parametrize("venue", list(VENUES))
def test_refusals_are_events_with_reasons_never_exceptions(venue) -> None:
    async def body(connector, events):
        await connected(connector, events)
        book = connector.feed(SYMBOL).book
        n = len(events)
        connector.cancel_order("cbnosuchorder0000000")
        refused = [e for e in events[n:] if isinstance(e, CancelRejected)]
        assert len(refused) == 1 and "unknown order" in refused[0].reason
        zero = connector.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 0, book.best_bid_ticks)
        assert zero.status is OrderStatus.REJECTED and "amount must be positive" in zero.reason
        tiny = connector.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 1, book.best_bid_ticks - 1000)
        assert tiny.status is OrderStatus.REJECTED and "min notional" in tiny.reason
        big = connector.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 10_000_000, book.best_bid_ticks - 1000)
        await until(lambda: big.status.is_done, 5, "the unaffordable order refused")
        assert big.status is OrderStatus.REJECTED and "insufficient" in big.reason
        resting = connector.place_order(SYMBOL, Side.SELL, OrderType.LIMIT, 100, book.best_ask_ticks + 50_000)
        await until(lambda: resting.status is OrderStatus.OPEN, 5, "the order open")
        twin = connector.place_order(SYMBOL, Side.SELL, OrderType.LIMIT, 100, book.best_ask_ticks + 60_000,
                                     client_order_id=resting.client_order_id)
        assert twin.status is OrderStatus.REJECTED and "in use" in twin.reason
        connector.cancel_order(resting.client_order_id)
        await until(lambda: resting.status is OrderStatus.CANCELLED, 5, "the cancel")
        n = len(events)
        connector.cancel_order(resting.client_order_id)
        again = [e for e in events[n:] if isinstance(e, CancelRejected)]
        assert len(again) == 1 and "already cancelled" in again[0].reason
    run(venue, body)


@pytest.mark.parametrize("venue", list(VENUES))
def test_a_market_order_fills_with_its_fee_and_moves_the_balances(venue) -> None:
    async def body(connector, events):
        await connected(connector, events)
        before = connector.balances()
        order = connector.place_order(SYMBOL, Side.BUY, OrderType.MARKET, 200)
        await until(lambda: order.status is OrderStatus.FILLED, 5, "the fill")
        fills = [e.fill for e in events if isinstance(e, OrderFilled) and e.order is order]
        assert sum(f.amount for f in fills) == connector.instruments[SYMBOL].lots_to_amount(200)
        assert len({f.trade_id for f in fills}) == len(fills)  # each trade once
        assert all(f.fee > 0 and f.fee_asset for f in fills) and all(not f.is_maker for f in fills)
        await until(lambda: connector.balances()["BTC"].total > before["BTC"].total, 5, "balances moved")
        assert any(isinstance(e, BalancesUpdated) for e in events)
        assert connector.balances()["USDT"].total < before["USDT"].total
    run(venue, body)
