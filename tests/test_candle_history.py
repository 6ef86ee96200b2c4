"""Candle history (app/data/candles.py and the venues' MarketFeed.fetch_candles): candles
from trades and coarser candles by hand, a replay's candles before its position, the local
exchange's klines, and the ccxt connector fetching them over a real socket with every
failure one line of NoCandleHistory."""
from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import aiohttp
import numpy as np
import pytest

from app.data import candles
from app.data.binance_recording import parse_recordings
from app.data.candles import CANDLE_DTYPE, UNKNOWN, NoCandleHistory
from app.domain import BTC_USDT, TRADE_DTYPE, TradesEvent
from app.interfaces.clock import SimClock
from connectors.ccxt.candles import pick_timeframe
from connectors.replay.feed import ReplayFeed
from tests.connector_venues import SYMBOL, ccxt_venue, until
from tests.synthetic_recordings import STEP, T0, snapshot, trade, write_recording

S = 1_000_000_000


def rows(array: np.ndarray) -> list[tuple]:
    return [tuple(r) for r in array.tolist()]


# -- aggregation by hand -----------------------------------------------------------------------
def test_candles_from_trades_by_hand() -> None:
    trades = np.array([(100 * S + S // 10, 100, 1, 1), (100 * S + S // 2, 105, 2, -1), (101 * S + S // 5, 99, 3, 1),
                       (103 * S, 101, 1, -1), (103 * S + 1, 102, 4, 1)], TRADE_DTYPE)
    want = [(100 * S, 100, 105, 100, 105, 3, 1), (101 * S, 99, 99, 99, 99, 3, 3), (103 * S, 101, 102, 101, 102, 5, 4)]
    assert rows(candles.from_trades(trades, S)) == want
    stragglers = trades[[2, 0, 3, 1, 4]]  # out of time order: bucketed all the same (order kept inside one)
    assert rows(candles.from_trades(stragglers, S)) == want
    assert rows(candles.from_trades(trades, 5 * S)) == [(100 * S, 100, 105, 99, 102, 11, 8)]
    assert len(candles.from_trades(trades[:0], S)) == 0
    with pytest.raises(ValueError):
        candles.from_trades(trades, 0)


def test_resample_and_an_unknown_buy_volume() -> None:
    fine = np.array([(10 * S, 5, 7, 4, 6, 2, 1), (11 * S, 6, 9, 6, 8, 3, 3), (14 * S, 8, 8, 2, 3, 1, 0),
                     (15 * S, 3, 4, 3, 4, 5, UNKNOWN), (16 * S, 4, 4, 1, 2, 1, 1)], CANDLE_DTYPE)
    assert rows(candles.resample(fine, 5 * S)) == [(10 * S, 5, 9, 2, 3, 6, 4), (15 * S, 3, 4, 1, 2, 6, UNKNOWN)]


def test_window_pages_forward_from_since_or_takes_the_newest() -> None:
    c = np.zeros(6, CANDLE_DTYPE)
    c["ts_ns"] = np.arange(6) * S
    assert candles.window(c, None, None, 2)["ts_ns"].tolist() == [4 * S, 5 * S]
    assert candles.window(c, 2 * S, None, 2)["ts_ns"].tolist() == [2 * S, 3 * S]
    assert candles.window(c, None, 3 * S, 2)["ts_ns"].tolist() == [S, 2 * S]


def test_timeframes_and_the_choice_for_an_interval() -> None:
    assert [candles.timeframe_seconds(t) for t in ("1s", "5m", "1h", "1d", "1w", "1M", "x", "0m")] == \
        [1, 300, 3600, 86_400, 604_800, None, None, None]
    binance = {"1s": "1s", "1m": "1m", "3m": "3m", "5m": "5m", "1h": "1h", "1M": "1M"}
    assert [pick_timeframe("b", binance, s) for s in (1, 5, 60, 300)] == [("1s", 1), ("1s", 1), ("1m", 60), ("5m", 300)]
    with pytest.raises(NoCandleHistory, match=r"^kraken has no candles for 5 s \(its shortest is 1m\)$"):
        pick_timeframe("kraken", {"1m": "1", "1h": "60"}, 5)


# -- a replay: the candles before its position -------------------------------------------------
def test_replay_candles_are_the_trades_before_the_replay_position(tmp_path: Path) -> None:
    prices = [100.00 + (i * 7 % 13) / 100 for i in range(60)]
    messages = [snapshot(10, [["99.00", "1.00000"]], [["101.00", "1.00000"]])]
    messages += [trade(i + 1, f"{p:.2f}", "0.01000", i % 3 == 0) for i, p in enumerate(prices)]
    events, meta = parse_recordings([write_recording(tmp_path / "r.gz", messages)], instrument=BTC_USDT)
    clock = SimClock(T0)
    feed = ReplayFeed(events, meta, clock)
    feed.start()
    seek = T0 + 35 * STEP + STEP // 2  # trades are 100 ms apart from T0 + STEP: 35 of them are before
    clock.run(until_ns=seek)
    got = asyncio.run(feed.fetch_candles(1))
    expected: dict[int, list[int]] = {}
    for i, p in enumerate(prices[:35]):  # by hand: one candle per second of the trades replayed
        ts, ticks = T0 + (i + 1) * STEP, round(p * 100)
        c = expected.setdefault(ts // S * S, [ts // S * S, ticks, ticks, ticks, ticks, 0, 0])
        c[2], c[3], c[4] = max(c[2], ticks), min(c[3], ticks), ticks
        c[5] += 1000
        c[6] += 0 if i % 3 == 0 else 1000  # buyer is maker: a sell
    assert rows(got) == [tuple(c) for c in expected.values()]
    assert rows(asyncio.run(feed.fetch_candles(1, limit=2))) == [tuple(c) for c in list(expected.values())[-2:]]
    clock.run()
    assert asyncio.run(feed.fetch_candles(60))["volume"].sum() == 60 * 1000  # all of them at the end


def test_the_default_feed_has_none_and_the_demo_exchange_its_own_trades() -> None:
    from connectors.demo.exchange import DemoExchange
    from tests.ui.market_fakes import ScriptedFeed

    with pytest.raises(NoCandleHistory, match="^scripted keeps no candle history$"):
        asyncio.run(ScriptedFeed().fetch_candles(60))  # MarketFeed's default (compiled in venue.py)
    clock = SimClock(T0)
    demo = DemoExchange(clock, balances={"USDT": Decimal(1000)}, seed=1)
    feed = demo.feed(demo.instrument.symbol)
    seen: list[np.ndarray] = []
    feed.add_listener(lambda e: seen.append(e.trades.copy()) if isinstance(e, TradesEvent) else None)
    assert len(asyncio.run(feed.fetch_candles(1))) == 0  # nothing traded yet: no candles, no error
    demo.start()
    clock.run(T0 + 120 * 1_000_000_000)
    demo.stop()
    trades = np.concatenate(seen)
    assert len(trades) > 100
    got = asyncio.run(feed.fetch_candles(10))
    expected = by_hand([tuple(t) for t in trades.tolist()], 10 * 1_000_000_000)[-len(got):]
    assert [r[:6] for r in rows(got)] == [r[:6] for r in expected]  # start, OHLC, volume
    assert int(got["volume"].sum()) == int(trades["qty_lots"].sum())
    assert int(got["buy_volume"].sum()) == int(trades["qty_lots"][trades["taker_side"] > 0].sum())
    assert len(asyncio.run(feed.fetch_candles(1, limit=5))) == 5


# -- the local exchange and ccxt over a real socket --------------------------------------------
def by_hand(trades: list, interval_ns: int) -> list[tuple]:
    out: dict[int, list[int]] = {}
    for ts, price, qty, taker in trades:
        start = ts // interval_ns * interval_ns
        c = out.setdefault(start, [start, price, price, price, price, 0, UNKNOWN])
        c[2], c[3], c[4] = max(c[2], price), min(c[3], price), price
        c[5] += qty
    return [tuple(c) for c in out.values()]


def test_ccxt_fetches_candles_from_the_local_exchange_klines() -> None:
    async def main() -> None:
        async with ccxt_venue() as conn:
            await conn.connect()
            server = conn.server
            await until(lambda: len(server.venue.tape) > 200, 20, "trades on the local exchange")
            server.exchange.stop()  # the market stands still: what was traded is what is compared
            await asyncio.sleep(0.1)
            tape = server.venue.tape.trades()
            trades = [(ts // 1_000_000 * 1_000_000, p, q, t) for ts, p, q, t in tape.tolist()]  # klines are in ms
            feed = conn.feed(SYMBOL)
            one = await feed.fetch_candles(1)
            assert rows(one) == by_hand(trades, S)[-1000:]
            minute = await feed.fetch_candles(60, limit=5)
            assert rows(minute) == by_hand(trades, 60 * S)[-5:]
            five = await feed.fetch_candles(5)  # from 1 s klines; a first 5 s candle seen only in part is left out
            want = by_hand(trades, 5 * S)
            if one["ts_ns"][0] % (5 * S):
                want = want[1:]
            assert rows(five) == want
            since = int(one["ts_ns"][2])
            assert rows(await feed.fetch_candles(1, since, 3)) == rows(one[2:5])

    asyncio.run(main())


def test_klines_answer_as_binance_and_refuse_a_bad_interval() -> None:
    async def main() -> None:
        async with ccxt_venue() as conn:
            await conn.connect()
            server = conn.server
            await until(lambda: len(server.venue.tape) > 50, 20, "trades on the local exchange")
            async with aiohttp.ClientSession() as http:
                for path in ("/api/v3/klines", "/fapi/v1/klines"):
                    async with http.get(f"{server.url}{path}?symbol=BTCUSDT&interval=1m&limit=2") as r:
                        body = await r.json()
                    assert r.status == 200 and 1 <= len(body) <= 2
                    k = body[-1]
                    assert len(k) == 12 and k[6] == k[0] + 59_999 and isinstance(k[1], str) and k[8] > 0
                    assert float(k[3]) <= min(float(k[1]), float(k[4])) <= max(float(k[1]), float(k[4])) <= float(k[2])
                async with http.get(f"{server.url}/api/v3/klines?symbol=BTCUSDT&interval=7m") as r:
                    assert r.status == 400 and await r.json() == {"code": -1120, "msg": "Invalid interval."}

    asyncio.run(main())


def test_ccxt_candle_failures_are_one_line_and_never_raise_anything_else() -> None:
    async def main() -> None:
        async with ccxt_venue(faults="hold_ms=1500") as conn:
            await conn.connect()
            feed, ex = conn.feed(SYMBOL), conn.exchange
            saved = dict(ex.timeframes)
            ex.timeframes = {"1m": "1m", "1h": "1h"}
            with pytest.raises(NoCandleHistory, match=r"has no candles for 5 s \(its shortest is 1m\)"):
                await feed.fetch_candles(5)
            ex.timeframes = saved
            ex.has["fetchOHLCV"] = False
            with pytest.raises(NoCandleHistory, match="gives no candle history"):
                await feed.fetch_candles(60)
            ex.has["fetchOHLCV"] = True
            ex.timeout = 300
            conn.server.faults.force("timeout")
            with pytest.raises(NoCandleHistory, match="^binance: timed out: ") as caught:
                await feed.fetch_candles(60)
            assert "\n" not in str(caught.value)
            ex.timeout = 10_000
            conn.server.faults.force("http429")
            with pytest.raises(NoCandleHistory, match="rate limited"):
                await feed.fetch_candles(60)
            assert conn.cooldown_until_ns > 0  # a 429 holds orders back, whichever request met it
            await asyncio.sleep(1.6)  # the held request ends before the server stops

    asyncio.run(main())
