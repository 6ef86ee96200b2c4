"""The rehearsal exchange (connectors/local_exchange) traded by an unmodified ccxt.pro.binance
over real sockets on 127.0.0.1: market data, REST and websocket-API orders, private streams,
Binance's error codes, Colibri's own depth synchroniser and persistence across restarts."""
from __future__ import annotations

import asyncio
import time

import ccxt
import numpy as np
import pytest

pytest.importorskip("connectors.demo.matching")

from app.book import ASK, BID, OrderBook  # noqa: E402
from app.book.sync import DepthSynchronizer, SyncStatus  # noqa: E402
from tests.local_exchange_support import SYMBOL, client, run  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def test_market_data_through_ccxt():
    async def scenario(server):
        async with client(server) as ex:
            markets = await ex.load_markets()
            m = markets[SYMBOL]
            assert m["id"] == "BTCUSDT" and m["spot"] and m["active"]
            assert m["precision"]["price"] == 0.01 and m["precision"]["amount"] == 0.00001
            assert m["limits"]["cost"]["min"] == 5
            ob = await ex.fetch_order_book(SYMBOL)
            assert ob["bids"][0][0] < ob["asks"][0][0] and ob["nonce"] == server.venue.update_id or ob["nonce"] > 0
            nonces = []
            for _ in range(4):
                book = await ex.watch_order_book(SYMBOL)
                assert book["bids"][0][0] < book["asks"][0][0]
                nonces.append(book["nonce"])
            assert nonces == sorted(nonces) and nonces[-1] > nonces[0]
            trades = await ex.watch_trades(SYMBOL)
            assert trades and trades[-1]["symbol"] == SYMBOL and trades[-1]["price"] > 0
            rest_trades = await ex.fetch_trades(SYMBOL)
            assert rest_trades and all(t["amount"] > 0 for t in rest_trades)
        return True

    assert run(scenario)


def test_orders_over_rest_and_websocket_api():
    async def scenario(server):
        async with client(server) as ex:
            await ex.load_markets()
            bal = await ex.fetch_balance()
            assert bal["total"]["USDT"] == 100_000 and bal["total"]["BTC"] == 1
            orders_task = asyncio.ensure_future(ex.watch_orders(SYMBOL))
            await asyncio.sleep(0.3)
            book = await ex.fetch_order_book(SYMBOL, 5)
            bid, ask = book["bids"][0][0], book["asks"][0][0]
            limit = await ex.create_order(SYMBOL, "limit", "buy", 0.001, round(bid - 500, 2),
                                          {"clientOrderId": "my-order-1"})
            assert limit["status"] == "open" and limit["clientOrderId"] == "my-order-1"
            watched = await orders_task
            assert watched[-1]["id"] == limit["id"]
            assert (await ex.fetch_order(limit["id"], SYMBOL))["status"] == "open"
            by_client = await ex.fetch_order(None, SYMBOL, {"origClientOrderId": "my-order-1"})
            assert by_client["id"] == limit["id"]
            assert [o["id"] for o in await ex.fetch_open_orders(SYMBOL)] == [limit["id"]]
            bal = await ex.fetch_balance()
            assert bal["used"]["USDT"] > 0
            assert (await ex.cancel_order(limit["id"], SYMBOL))["status"] == "canceled"
            assert (await ex.fetch_order(limit["id"], SYMBOL))["status"] == "canceled"
            assert await ex.fetch_open_orders(SYMBOL) == []

            post = await ex.create_order(SYMBOL, "limit", "sell", 0.001, round(ask + 500, 2), {"postOnly": True})
            assert post["status"] == "open" and post["postOnly"]
            await ex.cancel_order(post["id"], SYMBOL)

            my_trades_task = asyncio.ensure_future(ex.watch_my_trades(SYMBOL))
            balance_task = asyncio.ensure_future(ex.watch_balance())
            await asyncio.sleep(0.1)
            market = await ex.create_order(SYMBOL, "market", "buy", 0.002)
            assert market["status"] == "closed" and market["filled"] == 0.002 and market["average"] > 0
            assert market["fee"]["currency"] == "USDT" and market["fee"]["cost"] > 0
            own = await my_trades_task
            assert own[-1]["order"] == market["id"] and own[-1]["takerOrMaker"] == "taker"
            balance = await balance_task
            assert balance["USDT"]["used"] > 0 or balance["BTC"]["total"] > 1  # the first push: lock or fill
            assert (await ex.fetch_balance())["total"]["BTC"] == pytest.approx(1.002)
            quote = await ex.create_order(SYMBOL, "market", "buy", None, None, {"quoteOrderQty": 100})
            assert quote["status"] == "closed" and 0 < quote["cost"] <= 100
            ioc = await ex.create_order(SYMBOL, "limit", "buy", 0.001, round(bid - 1000, 2), {"timeInForce": "IOC"})
            assert ioc["status"] in ("expired", "canceled") and ioc["filled"] == 0
            trades = await ex.fetch_my_trades(SYMBOL)
            assert {t["order"] for t in trades} >= {market["id"], quote["id"]}

            started = time.perf_counter()
            ws_order = await ex.create_order_ws(SYMBOL, "limit", "sell", 0.001, round(ask + 800, 2))
            assert ws_order["status"] == "open" and time.perf_counter() - started < 2
            assert (await ex.cancel_order_ws(ws_order["id"], SYMBOL))["status"] == "canceled"
            assert (await ex.fetch_order(ws_order["id"], SYMBOL))["status"] == "canceled"
        return True

    assert run(scenario)


def test_errors_map_to_ccxt_exceptions():
    async def scenario(server):
        async with client(server) as ex:
            await ex.load_markets()
            book = await ex.fetch_order_book(SYMBOL, 5)
            bid, ask = book["bids"][0][0], book["asks"][0][0]
            with pytest.raises(ccxt.InsufficientFunds):
                await ex.create_order(SYMBOL, "limit", "buy", 5, round(bid - 100, 2))
            with pytest.raises(ccxt.InvalidOrder) as crossing:  # OrderImmediatelyFillable
                await ex.create_order(SYMBOL, "limit", "buy", 0.001, round(ask + 100, 2), {"postOnly": True})
            assert isinstance(crossing.value, ccxt.OrderImmediatelyFillable)
            with pytest.raises(ccxt.OrderNotFound):
                await ex.cancel_order("999999", SYMBOL)
            with pytest.raises(ccxt.OrderNotFound):
                await ex.fetch_order("999999", SYMBOL)
            with pytest.raises(ccxt.BadRequest, match="NOTIONAL"):  # -1013: 0.00001 BTC is ~0.6 USDT (ccxt: BadRequest)
                await ex.create_order(SYMBOL, "limit", "buy", 0.00001, round(bid - 100, 2))
            ex.options["recvWindow"] = 5000
            ex.nonce = lambda: ex.milliseconds() - 60_000  # a clock a minute behind
            with pytest.raises(ccxt.InvalidNonce):
                await ex.fetch_balance()
        async with client(server, secret="0" * 64) as bad:
            with pytest.raises(ccxt.AuthenticationError):
                await bad.fetch_balance()
        async with client(server, apiKey="wrongkey12345678") as bad_key:
            with pytest.raises(ccxt.AuthenticationError):
                await bad_key.fetch_balance()
        async with client(server) as ex:
            server.faults.force("http429")
            with pytest.raises(ccxt.DDoSProtection):  # RateLimitExceeded is one
                await ex.fetch_order_book(SYMBOL)
            server.faults.force("http418")
            with pytest.raises(ccxt.DDoSProtection):
                await ex.fetch_order_book(SYMBOL)
            server.faults.force("http5xx")
            with pytest.raises(ccxt.ExchangeNotAvailable):
                await ex.fetch_order_book(SYMBOL)
        return True

    assert run(scenario)


def test_colibri_depth_synchronizer_rebuilds_the_servers_book():
    """The server's snapshot + diff stream, fed to app/book/sync.py, equals the server's book."""
    import aiohttp

    async def scenario(server):
        sym = server.venue.symbol.lower()
        book = OrderBook("BTC/USDT")
        sync = DepthSynchronizer(book, "spot")
        inst = server.venue.instrument
        async with aiohttp.ClientSession() as http:
            ws_url = server.url.replace("http", "ws") + f"/stream?streams={sym}@depth@100ms/{sym}@trade"
            async with http.ws_connect(ws_url) as ws:
                async def apply(msg):
                    d = msg["data"]
                    if d.get("e") != "depthUpdate":
                        return None
                    levels = [(1, b) for b in d["b"]] + [(-1, a) for a in d["a"]]
                    sides = np.array([s for s, _ in levels], np.int8)
                    prices = np.array([inst.price_to_ticks(p) for _, (p, _) in levels], np.int64)
                    qtys = np.array([inst.amount_to_lots(q) for _, (_, q) in levels], np.int64)
                    return sync.on_diff(d["U"], d["u"], -1, sides, prices, qtys)

                first = await ws.receive_json(timeout=5)
                await apply(first)
                async with http.get(server.url + f"/api/v3/depth?symbol=BTCUSDT&limit=5000") as r:
                    snap = await r.json()
                def arr(levels, conv):
                    return np.array([conv(x) for x in levels], np.int64)
                bids, asks = snap["bids"], snap["asks"]
                status = sync.on_snapshot(snap["lastUpdateId"],
                                          arr([b[0] for b in bids], inst.price_to_ticks),
                                          arr([b[1] for b in bids], inst.amount_to_lots),
                                          arr([a[0] for a in asks], inst.price_to_ticks),
                                          arr([a[1] for a in asks], inst.amount_to_lots))
                assert status is SyncStatus.APPLIED
                applied = 0
                while applied < 15:
                    status = await apply(await ws.receive_json(timeout=5))
                    assert status is not SyncStatus.GAP
                    applied += status is SyncStatus.APPLIED
                server.exchange.stop()  # the market pauses: the stream catches up with the last step
                while sync.last_update_id < server.venue.update_id:
                    assert await apply(await ws.receive_json(timeout=5)) is not SyncStatus.GAP
                assert sync.synced and sync.gaps == 0
                uid, (bp, bq), (ap, aq) = server.venue.depth(1 << 30)
                assert book.update_id == uid
                assert book.top_levels(BID, 1 << 20)[0].tolist() == bp.tolist()
                assert book.top_levels(BID, 1 << 20)[1].tolist() == bq.tolist()
                assert book.top_levels(ASK, 1 << 20)[0].tolist() == ap.tolist()
                assert book.top_levels(ASK, 1 << 20)[1].tolist() == aq.tolist()
                served = server.exchange.feed(SYMBOL).book  # and the demo exchange's own book
                for side in (BID, ASK):
                    assert [a.tolist() for a in book.top_levels(side, 1 << 20)] == \
                        [a.tolist() for a in served.top_levels(side, 1 << 20)]
        return True

    assert run(scenario)


def test_state_survives_a_server_restart(tmp_path):
    state = tmp_path / "state"
    creds = {"api_key": "k" * 16, "secret": "s" * 32}

    async def first(server):
        async with client(server) as ex:
            await ex.load_markets()
            book = await ex.fetch_order_book(SYMBOL, 5)
            bid = book["bids"][0][0]
            await ex.create_order(SYMBOL, "market", "buy", 0.003)
            resting = await ex.create_order(SYMBOL, "limit", "buy", 0.01, round(bid - 2000, 2), {"clientOrderId": "keep-me"})
            return resting["id"], (await ex.fetch_balance())["total"]

    async def second(server):
        async with client(server) as ex:
            await ex.load_markets()
            opened = await ex.fetch_open_orders(SYMBOL)
            balance = (await ex.fetch_balance())
            trades = await ex.fetch_my_trades(SYMBOL)
            new = await ex.create_order(SYMBOL, "limit", "buy", 0.001, opened[0]["price"])
            return opened, balance, trades, new["id"], server.exchange.engine.order_count

    order_id, totals = run(first, state_dir=state, **creds)
    opened, balance, trades, new_id, _ = run(second, state_dir=state, **creds)
    assert [(o["id"], o["clientOrderId"], o["amount"]) for o in opened] == [(order_id, "keep-me", 0.01)]
    assert balance["total"]["BTC"] == pytest.approx(totals["BTC"]) and balance["total"]["USDT"] == pytest.approx(totals["USDT"])
    assert balance["used"]["USDT"] > 0  # the restored order's funds are locked again
    assert len(trades) >= 1
    assert int(new_id) > int(order_id)  # ids keep counting
