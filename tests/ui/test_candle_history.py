"""The candle view's history (ui/market/candle_history.py, ui/market/candles.py): the merge
with live candles by hand, and the view asking its feed on the qasync loop, as in the app."""
from __future__ import annotations

import asyncio

import numpy as np
import pytest
import qasync

from app.data.candles import CANDLE_DTYPE, UNKNOWN, NoCandleHistory
from app.domain import OrderType, Side
from tests.connector_venues import until
from tests.ui.market_fakes import ScriptedConnector, ScriptedFeed
from ui.market.candle_builder import CandleBuilder
from ui.market.candle_history import merge
from ui.market.candles import CandlesView

S = 1_000_000_000
T = 1_700_000_000 * S  # ScriptedFeed's clock starts here


def live(rows: list[tuple[int, int, int, int]], interval: int = S) -> CandleBuilder:
    builder = CandleBuilder(interval)
    builder.add(np.array(rows, dtype=[("ts_ns", "<i8"), ("price_ticks", "<i8"), ("qty_lots", "<i8"),
                                      ("taker_side", "i1")]))
    return builder


def history(starts_s: list[int], price: int = 500, volume: int = 7) -> np.ndarray:
    out = np.zeros(len(starts_s), CANDLE_DTYPE)
    out["ts_ns"] = [T + s * S for s in starts_s]
    out["open"], out["high"], out["low"], out["close"] = price, price + 2, price - 2, price + 1
    out["volume"], out["buy_volume"] = volume, UNKNOWN
    return out


# -- merge, by hand ---------------------------------------------------------------------------
def test_history_fills_what_live_lacks_and_a_boundary_candle_is_counted_once() -> None:
    b = live([(T + 10 * S + 5, 100, 1, 1), (T + 10 * S + 9, 103, 2, -1), (T + 11 * S, 101, 4, 1),
              (T + 13 * S, 99, 1, -1)])
    s = merge(history([8, 9, 10, 12, 13]), b)
    assert [(x - T) // S for x in s.start_ns.tolist()] == [8, 9, 10, 11, 12, 13]
    assert s.from_history == 3 and s.interval_ns == S and len(s) == 6
    # 10 s: the history had it (from before the chart opened) and so has live: live's alone
    assert (s.open[2], s.high[2], s.low[2], s.close[2], s.volume[2], s.buy_volume[2]) == (100, 103, 100, 103, 3, 1)
    assert s.volume.tolist() == [7, 7, 3, 4, 7, 1] and s.buy_volume.tolist() == [UNKNOWN, UNKNOWN, 1, 4, UNKNOWN, 0]
    trimmed = merge(history([8, 9, 10, 12, 13]), b, capacity=4)  # the newest four
    assert [(x - T) // S for x in trimmed.start_ns.tolist()] == [10, 11, 12, 13] and trimmed.from_history == 1


def test_without_history_the_live_candles_are_drawn_as_built() -> None:
    b = live([(T + S, 100, 1, 1), (T + 2 * S, 104, 2, -1)])
    s = merge(np.zeros(0, CANDLE_DTYPE), b)
    assert s.start_ns.tolist() == b.start_ns.tolist() and s.close.tolist() == [100, 104] and s.from_history == 0
    only = merge(history([0, 1]), CandleBuilder(S))
    assert s.from_history == 0 and only.from_history == 2 and only.close.tolist() == [501, 501]


# -- the view on the qasync loop --------------------------------------------------------------
class HistoryFeed(ScriptedFeed):
    """A scripted market that knows its past: 1 s candles at T-3..T-1 (any interval asked
    gets three candles ending before T), or a refusal."""

    def __init__(self, refusal: str | None = None) -> None:
        super().__init__()
        self.asked: list[int] = []
        self.refusal = refusal

    async def fetch_candles(self, interval_s: int, since_ns: int | None = None, limit: int = 1000) -> np.ndarray:
        self.asked.append(interval_s)
        await asyncio.sleep(0.01)  # an answer that takes a while, as over a network
        if self.refusal:
            raise NoCandleHistory(self.refusal)
        return history([-3 * interval_s, -2 * interval_s, -interval_s])


@pytest.fixture
def loop(qapp):
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    yield loop
    asyncio.set_event_loop(None)
    loop.close()


def test_the_view_shows_the_history_with_live_candles_fills_and_quotes(qtbot, loop) -> None:
    feed = HistoryFeed()
    conn = ScriptedConnector(feed)
    view = CandlesView(interval="1s")
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()

    async def scenario() -> None:
        view.set_source(feed, conn)
        assert view.history_note == "loading history…" and feed.asked == []  # asked from a task, not here
        view.refresh()
        assert view.info.text() == "no trades yet  ·  loading history…"
        await until(lambda: view.history_note == "history: 3 candles from scripted", 5, "the history")
        assert feed.asked == [1]
        feed.trades([(T + 5, 610, 3, 1), (T + S + 5, 612, 1, -1)])
        order = conn.place_order(feed.instrument.symbol, Side.BUY, OrderType.LIMIT, 10, 600)
        conn.fill(order.client_order_id, 4)
        assert view.refresh()
        s = view.series
        assert [(x - T) // S for x in s.start_ns.tolist()] == [-3, -2, -1, 0, 1] and s.from_history == 3
        assert view.info.text().startswith("history: 3 candles from scripted  ·  last ")
        # the volume pane: history's unknown split in grey, live bars split bought/sold
        unsplit = view.volume.unsplit.opts["height"].tolist()
        bought = view.volume.bought.opts["height"].tolist()
        assert unsplit[:3] == [pytest.approx(0.007)] * 3 and unsplit[3:] == [0, 0]
        assert bought == [0, 0, 0, pytest.approx(0.003), 0]
        assert view.crosshair.describe((T - 2 * S) / S + 0.5, 5.0).count("bought") == 0
        (bx, by), _ = view.fills_data()
        assert by.tolist() == [pytest.approx(6.0)] and view.own_bid_line.isVisible()
        # another interval: asked again; the old interval's history is never merged meanwhile
        view.set_interval("5s")
        assert view.history_note == "loading history…"
        view.refresh()
        assert view.series.from_history == 0 and len(view.series) == 1
        await until(lambda: view.history_note.startswith("history: 3"), 5, "the 5 s history")
        assert feed.asked == [1, 5]
        view.refresh()
        assert [(x - T) // S for x in view.series.start_ns.tolist()] == [-15, -10, -5, 0]

    loop.run_until_complete(scenario())
    view.detach()


def test_switching_markets_keeps_candles_and_asks_again_and_a_refusal_is_one_line(qtbot, loop) -> None:
    first, refusing = HistoryFeed(), HistoryFeed("binance has no candles for 5 s (its shortest is 1m)")
    view = CandlesView(interval="1s")
    qtbot.addWidget(view)

    async def scenario() -> None:
        view.set_source(first)
        await until(lambda: view.history_note.startswith("history: 3"), 5, "the history")
        first.trades([(T + 5, 610, 3, 1)])
        view.refresh()
        view.set_source(refusing)
        await until(lambda: view.history_note.startswith("no history"), 5, "the refusal")
        assert view.history_note == "no history: binance has no candles for 5 s (its shortest is 1m)"
        view.refresh()
        assert view.info.text() == f"no trades yet  ·  {view.history_note}" and len(view.series) == 0
        view.set_source(first)  # back: its live candle kept, its history asked for again
        await until(lambda: view.history_note.startswith("history: 3"), 5, "the history again")
        assert first.asked == [1, 1]
        view.refresh()
        assert len(view.series) == 4 and view.series.from_history == 3
        view.set_source(refusing)
        view.set_source(first)  # a late answer for a market no longer shown is dropped
        await asyncio.sleep(0.05)
        assert view.history_note.startswith("history: 3") and view.feed is first

    loop.run_until_complete(scenario())
    view.detach()


def test_without_a_running_loop_the_view_draws_live_candles_only(qtbot) -> None:
    feed = HistoryFeed()
    view = CandlesView(interval="1s")
    qtbot.addWidget(view)
    view.set_source(feed)
    feed.trades([(T + 5, 610, 3, 1)])
    view.refresh()
    assert feed.asked == [] and view.history_note == "" and len(view.series) == 1
    assert view.info.text().startswith("last ")
