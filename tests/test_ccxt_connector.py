"""The ccxt connector against the local Binance-protocol server's faults: lost answers,
dropped sockets, skipped depth updates, rate limits, restarts. Nothing is lost, nothing
is counted twice, a stale book is never quoted from."""
from __future__ import annotations

import asyncio

import pytest

from app.book.orderbook import ASK
from app.domain import (
    BookResynced,
    BookStale,
    CancelRejected,
    ConnectionChanged,
    ConnectionState,
    OrderFilled,
    OrderStatus,
    OrderType,
    Side,
)
from connectors.ccxt.rate_budget import RateBudget
from tests.connector_venues import SYMBOL, ccxt_venue, until

pytestmark = pytest.mark.timeout(120)


def run(body, **server_options) -> None:
    async def main():
        async with ccxt_venue(**server_options) as connector:
            events: list = []
            connector.add_listener(events.append)
            await connector.connect()
            feed = connector.feed(SYMBOL)
            feed.add_listener(events.append)
            await until(lambda: not feed.book.is_stale, 10, "a synced book")
            await body(connector, connector.server, events)
    asyncio.run(main())


def venue_orders(server) -> list:
    """The server's own record of live orders (what the exchange really has)."""
    return list(server.venue._live.values())


def test_a_lost_create_answer_is_resolved_by_a_query_not_a_second_order() -> None:
    async def body(conn, server, events):
        server.faults.force("lose_order_response", count=1)
        book = conn.feed(SYMBOL).book
        order = conn.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 100, book.best_bid_ticks - 40_000)
        await until(lambda: order.status is OrderStatus.OPEN and not conn._resolving, 10, "the order known open")
        # The answer was lost (HTTP 500): the user stream or a query by client id said it is
        # open; either way the connector never sent it again.
        assert [r.client_order_id for r in venue_orders(server)] == [order.client_order_id]  # exactly one on the venue
        conn.cancel_order(order.client_order_id)
        await until(lambda: order.status is OrderStatus.CANCELLED, 5, "the cancel")
    run(body)


def test_a_lost_cancel_answer_is_resolved_to_cancelled() -> None:
    async def body(conn, server, events):
        book = conn.feed(SYMBOL).book
        order = conn.place_order(SYMBOL, Side.SELL, OrderType.LIMIT, 100, book.best_ask_ticks + 40_000)
        await until(lambda: order.status is OrderStatus.OPEN, 5, "the order open")
        server.faults.force("lose_cancel_response", count=1)
        conn.cancel_order(order.client_order_id)
        await until(lambda: order.status is OrderStatus.CANCELLED, 10, "the cancel found done")
        assert venue_orders(server) == [] and order not in conn.open_orders()
    run(body)


def test_a_refused_or_never_arrived_order_ends_with_the_reason() -> None:
    async def body(conn, server, events):
        book = conn.feed(SYMBOL).book
        server.faults.force("http429", count=1)
        limited = conn.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 100, book.best_bid_ticks - 40_000)
        await until(lambda: limited.status.is_done, 5, "the refusal")
        assert limited.status is OrderStatus.REJECTED and "rate limited" in limited.reason
        # the 429 asked for a pause: new orders are held back meanwhile, not sent into a ban
        held = conn.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 100, book.best_bid_ticks - 40_000)
        assert held.status is OrderStatus.REJECTED and "no orders for another" in held.reason
        await asyncio.sleep((conn.cooldown_until_ns - conn.clock.now_ns()) / 1e9 + 0.05)
        server.faults.force("http5xx", count=1)
        lost = conn.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 100, book.best_bid_ticks - 40_000)
        await until(lambda: lost.status.is_done, 10, "the failure known")
        assert lost.status is OrderStatus.FAILED and "never arrived" in lost.reason
        crossing = conn.place_order(SYMBOL, Side.BUY, OrderType.LIMIT_MAKER, 100, book.best_ask_ticks + 100)
        await until(lambda: crossing.status.is_done, 5, "the post-only refusal")
        assert crossing.status is OrderStatus.REJECTED and "post-only" in crossing.reason
        assert venue_orders(server) == []
    run(body)


def test_a_dropped_socket_stales_the_book_reconnects_and_reconciles() -> None:
    async def body(conn, server, events):
        server.faults.force("drop_ws", count=1)
        await until(lambda: any(isinstance(e, BookStale) for e in events), 10, "the book marked stale")
        await until(lambda: conn.connection_state is ConnectionState.LIVE and not conn.feed(SYMBOL).book.is_stale,
                    15, "reconnected, reconciled and resynced")
        states = [e.state for e in events if isinstance(e, ConnectionChanged)]
        assert ConnectionState.RECONNECTING in states and states[-1] is ConnectionState.LIVE
        assert any(isinstance(e, BookResynced) for e in events) and conn.health()["reconnects"] >= 1
        # while the book was stale nothing could be quoted from it
        stale_at = next(i for i, e in enumerate(events) if isinstance(e, BookStale))
        assert not any(isinstance(e, OrderFilled) for e in events[stale_at:])
    run(body)


def test_a_skipped_depth_update_is_a_gap_then_a_fresh_snapshot() -> None:
    async def body(conn, server, events):
        feed = conn.feed(SYMBOL)
        snapshots = feed.snapshots
        server.faults.force("skip_depth", count=1)
        await until(lambda: any(isinstance(e, BookStale) for e in events), 10, "the gap seen")
        await until(lambda: feed.snapshots > snapshots and not feed.book.is_stale, 10, "a new snapshot")
        stale = next(e for e in events if isinstance(e, BookStale))
        assert "gap" in stale.reason or "expected" in stale.reason
        order = conn.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 100, feed.book.best_bid_ticks - 40_000)
        await until(lambda: order.status is OrderStatus.OPEN, 5, "quoting again after the resync")
    run(body)


def test_fills_are_counted_once_whichever_way_they_arrive() -> None:
    async def body(conn, server, events):
        order = conn.place_order(SYMBOL, Side.BUY, OrderType.MARKET, 300)
        await until(lambda: order.status is OrderStatus.FILLED, 5, "the fill")
        fills = [e for e in events if isinstance(e, OrderFilled)]
        await conn.reconcile()  # the same trades again, by REST
        from connectors.ccxt.requests import fetch_fills

        await fetch_fills(conn, order)
        assert [e for e in events if isinstance(e, OrderFilled)] == fills
        assert sum(e.fill.amount for e in fills) == conn.instruments[SYMBOL].lots_to_amount(300)
    run(body)


def test_our_order_budget_refuses_a_runaway_bot() -> None:
    async def body(conn, server, events):
        conn.budget = RateBudget(per_second=1, burst=2)
        book = conn.feed(SYMBOL).book
        orders = [conn.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 100, book.best_bid_ticks - 40_000 - i)
                  for i in range(4)]
        refused = [o for o in orders if o.status is OrderStatus.REJECTED]
        assert len(refused) == 2 and all("order rate budget exceeded" in o.reason for o in refused)
        assert conn.health()["orders_refused_by_budget"] == 2
        for order in orders[:2]:
            await until(lambda o=order: o.status is OrderStatus.OPEN, 5, "accepted orders open")
            conn.cancel_order(order.client_order_id)
    run(body)


def test_after_a_restart_our_orders_left_open_are_found_and_can_be_adopted() -> None:
    async def main():
        import ccxt.pro as ccxtpro

        from app.interfaces.clock import RealClock
        from connectors.ccxt.connector import CcxtConnector
        from connectors.local_exchange.ccxt_client import point_ccxt_at

        async with ccxt_venue() as first:
            server = first.server
            await first.connect()
            await until(lambda: not first.feed(SYMBOL).book.is_stale, 10, "a synced book")
            book = first.feed(SYMBOL).book
            left = first.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 100, book.best_bid_ticks - 40_000)
            await until(lambda: left.status is OrderStatus.OPEN, 5, "the order open")
            await first.disconnect()  # the process "dies" with its order resting on the venue
            exchange = point_ccxt_at(ccxtpro.binance({"apiKey": server.api_key, "secret": server.secret}), server.url)
            second = CcxtConnector("binance-local", exchange, RealClock(asyncio.get_running_loop()), symbols=[SYMBOL])
            try:
                await second.connect()
                assert [d["clientOrderId"] for d in second.unclaimed] == [left.client_order_id]
                found = await second.query_open_orders(SYMBOL)
                assert [o.client_order_id for o in found] == [left.client_order_id]
                second.adopt_order(found[0])
                events: list = []
                second.add_listener(events.append)
                second.cancel_order(left.client_order_id)
                await until(lambda: found[0].status is OrderStatus.CANCELLED, 5, "the adopted order cancelled")
                assert not any(isinstance(e, CancelRejected) for e in events)
            finally:
                await second.disconnect()
    asyncio.run(main())


def test_an_adopted_part_filled_order_counts_only_the_trades_after_its_adoption() -> None:
    """The trades an order had before a restart were counted by the run before: listing the
    order's trades by REST after adopting it (a gap, a reconnect, a cancel) counts only the
    newer ones, so the order never looks more filled than the exchange says."""
    async def main():
        import ccxt.pro as ccxtpro

        from app.interfaces.clock import RealClock
        from connectors.ccxt.connector import CcxtConnector
        from connectors.ccxt.requests import fetch_fills
        from connectors.local_exchange.ccxt_client import point_ccxt_at

        async with ccxt_venue(balances={"USDT": "1000000000", "BTC": "1000"}) as first:
            server = first.server
            await first.connect()
            await until(lambda: not first.feed(SYMBOL).book.is_stale, 10, "a synced book")
            book = first.feed(SYMBOL).book
            for _attempt in range(5):  # (the crowd may move the book between a look and the order)
                # Buys every ask up to 5 ticks above the best and rests with 20 times as much:
                # partly filled, and still open when adopted (the crowd's sells take a while).
                top = book.best_ask_ticks + 5
                there = int(book.levels_between(ASK, book.best_ask_ticks, top)[1].sum())
                part = first.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 20 * there + 500, top)
                await until(lambda: part.status is not OrderStatus.PENDING_CREATE, 5, "the create answered")
                for _ in range(20):  # its trades come with the answer or on the user stream
                    if part.filled_lots or part.status.is_done:
                        break
                    await asyncio.sleep(0.05)
                if part.status is OrderStatus.PARTIALLY_FILLED and 2 * part.filled_lots < part.amount_lots:
                    break
                if not part.status.is_done:
                    first.cancel_order(part.client_order_id)
                    await until(lambda: part.status.is_done, 5, "the cancel")
            assert part.status is OrderStatus.PARTIALLY_FILLED and 2 * part.filled_lots < part.amount_lots
            await first.disconnect()
            exchange = point_ccxt_at(ccxtpro.binance({"apiKey": server.api_key, "secret": server.secret}), server.url)
            second = CcxtConnector("binance-local", exchange, RealClock(asyncio.get_running_loop()), symbols=[SYMBOL])
            try:
                await second.connect()
                adopted = await second.query_order(part.client_order_id, SYMBOL)
                assert adopted is not None and adopted.filled_lots > 0 and not adopted.status.is_done
                second.adopt_order(adopted)
                snapshot = adopted.filled_lots
                events: list = []
                second.add_listener(events.append)
                await fetch_fills(second, adopted)
                lots = second.instruments[SYMBOL].amount_to_lots
                on_exchange = await exchange.fetch_order(None, SYMBOL, {"origClientOrderId": part.client_order_id})
                newer = sum(lots(e.fill.amount) for e in events if isinstance(e, OrderFilled))
                # (the crowd may trade with the resting rest meanwhile: those trades are new)
                assert snapshot <= adopted.filled_lots <= lots(on_exchange["filled"])
                assert newer == adopted.filled_lots - snapshot
                second.cancel_order(part.client_order_id)
                await until(lambda: adopted.status.is_done, 5, "the adopted order cancelled (or filled meanwhile)")
                final = await exchange.fetch_order(None, SYMBOL, {"origClientOrderId": part.client_order_id})
                assert adopted.filled_lots == lots(final["filled"])
            finally:
                await second.disconnect()
    asyncio.run(main())


def test_trades_that_never_arrive_on_the_stream_are_listed_by_rest(monkeypatch) -> None:
    """An order update says more is filled than the trades seen add up to (a trade message
    lost, or sent before the order was adopted): after a short grace its trades are listed
    by REST and counted, once."""
    import connectors.ccxt.requests as requests

    monkeypatch.setattr(requests, "TRADES_GRACE_S", 0.3)

    async def body(conn, server, events):
        listing = False
        real_apply, real_list = conn.apply_trade, conn.apply_order_trades

        def listed(order, trades):  # the REST listing of one order's trades
            nonlocal listing
            listing = True
            try:
                real_list(order, trades)
            finally:
                listing = False

        conn.apply_order_trades = listed
        conn.apply_trade = lambda trade: real_apply(trade) if listing else False  # no trade message arrives
        book = conn.feed(SYMBOL).book
        top = book.best_ask_ticks + 5
        there = int(book.levels_between(ASK, book.best_ask_ticks, top)[1].sum())
        order = conn.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 20 * there + 500, top)  # rests as the best bid
        await until(lambda: order.filled_lots > 0, 5, "the first trades (listed after the create answer)")
        first = order.filled_lots
        await until(lambda: order.filled_lots > first, 15, "the crowd's sells, known only by order updates")
        conn.cancel_order(order.client_order_id)
        await until(lambda: order.status.is_done, 5, "the cancel")
        on_exchange = await conn.exchange.fetch_order(None, SYMBOL, {"origClientOrderId": order.client_order_id})
        lots = conn.instruments[SYMBOL].amount_to_lots
        assert order.filled_lots == lots(on_exchange["filled"])
        fills = [e.fill for e in events if isinstance(e, OrderFilled)]
        assert sum(lots(f.amount) for f in fills) == order.filled_lots and len({f.trade_id for f in fills}) == len(fills)
    run(body, balances={"USDT": "1000000000", "BTC": "1000"})


def test_orders_over_the_websocket_api() -> None:
    async def body(conn, server, events):
        conn.use_websocket_orders = True
        book = conn.feed(SYMBOL).book
        order = conn.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 100, book.best_bid_ticks - 40_000)
        await until(lambda: order.status is OrderStatus.OPEN, 5, "the order open")
        conn.cancel_order(order.client_order_id)
        await until(lambda: order.status is OrderStatus.CANCELLED, 5, "the cancel")
        market = conn.place_order(SYMBOL, Side.SELL, OrderType.MARKET, 100)
        await until(lambda: market.status is OrderStatus.FILLED, 5, "the fill")
        assert venue_orders(server) == []
    run(body)


@pytest.mark.parametrize("market_data", ["ccxt", "poll"])
def test_other_exchanges_market_data_through_ccxt_streams_or_rest_polling(market_data) -> None:
    """Exchanges outside the Binance family get their book from ccxt's watch_order_book, or
    from REST polling where ccxt has no websocket: the same feed, quoting on it works."""
    async def main():
        async with ccxt_venue() as conn:
            conn.market_data = market_data
            events: list = []
            conn.add_listener(events.append)
            await conn.connect()
            feed = conn.feed(SYMBOL)
            await until(lambda: not feed.book.is_stale and feed.book.best_bid_ticks > 0, 15, "a book")
            assert 0 < feed.book.best_bid_ticks < feed.book.best_ask_ticks
            stream = conn._streams.market[0]
            assert type(stream).__name__ == "CcxtStream" and stream.websocket is (market_data == "ccxt")
            order = conn.place_order(SYMBOL, Side.BUY, OrderType.LIMIT, 100, feed.book.best_bid_ticks - 40_000)
            await until(lambda: order.status is OrderStatus.OPEN, 5, "the order open")
            conn.cancel_order(order.client_order_id)
            await until(lambda: order.status is OrderStatus.CANCELLED, 5, "the cancel")
    asyncio.run(main())


def test_a_stopping_bot_cancels_again_an_order_whose_cancel_never_took() -> None:
    """The stop's cancel meets a 503 before the exchange processed it: the order goes
    UNKNOWN, the query finds it still open, and the stopping bot sends the cancel again."""
    from app.engine.bot import Bot, BotState
    from strategies.simple_quoter import SimpleQuoter

    async def body(conn, server, events):
        bot = Bot("stopper", conn, SYMBOL, SimpleQuoter({"order_amount": "0.01", "bid_spread_bps": "20",
                                                         "ask_spread_bps": "20", "order_levels": 1}))
        bot.start()
        await until(lambda: len(bot.open_orders()) == 2 and all(o.status is OrderStatus.OPEN
                                                                for o in bot.open_orders()), 10, "two quotes")
        server.faults.force("http5xx", count=1)  # the first cancel dies before the exchange sees it
        stopped = asyncio.Event()
        bot.stop(stopped.set)
        await asyncio.wait_for(stopped.wait(), 20)
        assert bot.state is BotState.STOPPED and bot.open_orders() == [] and venue_orders(server) == []
        assert server.faults.injected["http5xx"] == 1
    run(body)
