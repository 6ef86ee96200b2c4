"""Paper trading on the real Binance spot recording, replayed on simulated time.

A simple two-sided quoter rests small orders at the touch and requotes every few seconds.
On real data it must get some fills, and every fill must be one the market really allowed:
a maker buy only in a callback carrying a sell print at or below its price (and the mirror
for sells), never for more lots than those prints, and taker fills never beyond the limit.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest

from app.data.store import load_events, recordings_dir
from app.domain import BookResynced, OrderFilled, OrderType, Side, TradesEvent
from app.interfaces.clock import SimClock
from connectors.paper.connector import PaperConnector
from connectors.replay.feed import ReplayFeed

SPOT = recordings_dir() / "spot_btcusdt_20240808.gz"
MS = 1_000_000
REQUOTE_NS = 3_000 * MS
LOTS = 100  # 0.001 BTC, about 61 USDT: above the 5 USDT minimum

pytestmark = pytest.mark.skipif(not SPOT.is_file(), reason=f"real recording not found: {SPOT}")


def test_paper_quotes_on_the_real_spot_recording_fill_only_where_the_market_traded() -> None:
    events, meta = load_events(SPOT)
    clock = SimClock(int(events["ts_ns"][0]))
    feed = ReplayFeed(events, meta, clock)
    start = {"USDT": Decimal("100000"), "BTC": Decimal("1")}
    paper = PaperConnector(feed, dict(start), clock)
    inst = feed.instrument
    prints: dict[int, list[tuple[int, int, int]]] = defaultdict(list)  # clock time -> prints
    fills: list[tuple[int, OrderFilled]] = []
    synced = [False]

    def on_feed(event: object) -> None:
        if isinstance(event, TradesEvent):
            now = clock.now_ns()
            prints[now].extend(zip(event.trades["price_ticks"].tolist(), event.trades["qty_lots"].tolist(),
                                   event.trades["taker_side"].tolist()))
        elif isinstance(event, BookResynced):
            synced[0] = True

    def on_paper(event: object) -> None:
        if isinstance(event, OrderFilled):
            fills.append((clock.now_ns(), event))

    def requote() -> None:
        if synced[0] and not feed.is_stale:
            paper.cancel_all()
            book = feed.book
            paper.place_order(inst.symbol, Side.BUY, OrderType.LIMIT, LOTS, book.best_bid_ticks)
            paper.place_order(inst.symbol, Side.SELL, OrderType.LIMIT, LOTS, book.best_ask_ticks)
        if not feed.finished:
            clock.call_later(REQUOTE_NS, requote)

    feed.add_listener(on_feed)  # before the paper connector: prints are recorded first
    paper.add_listener(on_paper)
    paper.start()
    feed.start()
    clock.call_later(REQUOTE_NS, requote)
    clock.run()
    assert feed.finished
    paper.cancel_all()
    clock.run()

    maker = [(t, e) for t, e in fills if e.fill.is_maker]
    assert len(maker) >= 5, f"only {len(maker)} maker fills in six minutes of BTCUSDT at the touch"
    by_time: dict[tuple[int, str], int] = defaultdict(int)
    for t, e in maker:
        f = e.fill
        price = inst.price_to_ticks(f.price)
        assert price == e.order.price_ticks  # a resting order fills at its own price
        if f.side is Side.BUY:  # needs sell prints at or below our bid
            eligible = [q for p, q, s in prints[t] if s == -1 and p <= price]
        else:
            eligible = [q for p, q, s in prints[t] if s == 1 and p >= price]
        assert eligible, f"maker {f.side.value} at {f.price} without a print at or through it"
        by_time[(t, f.side.value)] += inst.amount_to_lots(f.amount)
        assert by_time[(t, f.side.value)] <= sum(eligible)
        assert f.fee == f.price * f.amount * inst.maker_fee
    for _, e in fills:
        if not e.fill.is_maker:
            price = inst.price_to_ticks(e.fill.price)
            assert (e.order.price_ticks - price) * e.order.side.sign >= 0  # never beyond the limit

    balances = paper.balances()
    assert balances["USDT"].locked == 0 and balances["BTC"].locked == 0
    assert paper.open_orders() == []
    signed = [(1 if e.fill.side is Side.BUY else -1, e.fill) for _, e in fills]
    assert balances["BTC"].total == start["BTC"] + sum(s * f.amount for s, f in signed)
    assert balances["USDT"].total == start["USDT"] - sum(s * f.price * f.amount + f.fee for s, f in signed)
