"""Refresh + paint cost of each market view under a busy scripted market.

Offscreen, each view alone at 1280x800 (and the whole MarketView). Between two frames
the feed publishes 100 book updates (one BookUpdated each, a few deltas per update) and a
trade batch, i.e. 2,000 updates/s at the views' 20 Hz refresh. A frame is timed as
`refresh()` plus `grab()` (which paints the widget), the work a timer tick costs the GUI
thread. The listeners' cost per published event is reported separately.

Run: `.venv/bin/python -m bench.bench_ui_views`.
"""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import time  # noqa: E402

import numpy as np  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from app.domain import TRADE_DTYPE, OrderType, Side  # noqa: E402
from tests.ui.market_fakes import ASK, BID, ScriptedConnector, ScriptedFeed, set_level  # noqa: E402
from ui.market import (  # noqa: E402
    CandlesView,
    DepthChartView,
    DomLadderView,
    LiquidityHeatmapView,
    MarketView,
    TradesTapeView,
)

FRAME_NS = 50_000_000  # 20 Hz
UPDATES_PER_FRAME = 100  # -> 2,000 book updates/s
FRAMES = 200
WARMUP = 20
HEATMAP_WARMUP = 1_220  # 61 s at 20 Hz: the heatmap's default 60 s span is full
SIZE = (1280, 800)


class BusyMarket:
    """A random-walk market that keeps ~400 levels a side around a drifting mid."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = np.random.default_rng(seed)
        self.feed = ScriptedFeed()
        self.conn = ScriptedConnector(self.feed)
        self.mid = 6_500_000  # 65,000.00 with a 0.01 tick
        self.feed.ladder(self.mid, depth=400, qty=500)
        symbol = self.feed.instrument.symbol
        for k in range(1, 6):
            self.conn.place_order(symbol, Side.BUY, OrderType.LIMIT, 100, self.mid - 3 * k)
            self.conn.place_order(symbol, Side.SELL, OrderType.LIMIT, 100, self.mid + 3 * k)
        self.events = 0

    def frame(self) -> float:
        """Publishes one frame of market data; returns seconds spent inside listeners+book."""
        rng, feed, book = self.rng, self.feed, self.feed.book
        t = 0.0
        for _ in range(UPDATES_PER_FRAME):
            if rng.random() < 0.05:
                self.mid += int(rng.choice((-1, 1)))
            offs = rng.integers(1, 400, size=4)
            qtys = rng.integers(0, 2_000, size=4)
            sides = rng.choice((BID, ASK), size=4)
            start = time.perf_counter()
            for side, off, qty in zip(sides.tolist(), offs.tolist(), qtys.tolist()):
                price = self.mid - off if side == BID else self.mid + off
                set_level(book, side, price, qty)
            # keep the touch populated so the mid follows the walk
            set_level(book, BID, self.mid - 1, int(rng.integers(1, 1_000)))
            set_level(book, ASK, self.mid + 1, int(rng.integers(1, 1_000)))
            feed.levels(BID, {})  # publishes one BookUpdated
            t += time.perf_counter() - start
            self.events += 1
        n = int(rng.integers(5, 30))
        now = feed.clock.now_ns()
        trades = np.zeros(n, TRADE_DTYPE)
        trades["ts_ns"] = np.sort(now + rng.integers(0, FRAME_NS, size=n))
        trades["taker_side"] = rng.choice((1, -1), size=n)
        trades["price_ticks"] = np.where(trades["taker_side"] > 0, self.mid + 1, self.mid - 1)
        trades["qty_lots"] = rng.integers(1, 300, size=n)
        start = time.perf_counter()
        feed.trade_batch(trades)
        t += time.perf_counter() - start
        feed.advance(FRAME_NS)
        return t


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1e3, q))


def bench_view(app: QApplication, name: str, factory, warmup: int = WARMUP) -> dict:  # noqa: ANN001
    market = BusyMarket()
    view = factory()
    view.resize(*SIZE)
    view.show()
    app.processEvents()
    view.set_source(market.feed, market.conn)
    frames: list[float] = []
    listen: list[float] = []
    for i in range(warmup + FRAMES):
        listen_s = market.frame()
        start = time.perf_counter()
        view.refresh()
        view.grab()
        elapsed = time.perf_counter() - start
        if i >= warmup:
            frames.append(elapsed)
            listen.append(listen_s / (UPDATES_PER_FRAME + 1))
    # An idle tick (nothing changed) must cost next to nothing.
    idle: list[float] = []
    for _ in range(50):
        start = time.perf_counter()
        view.refresh()
        idle.append(time.perf_counter() - start)
    view.detach()
    view.close()
    view.deleteLater()
    app.processEvents()
    return {
        "view": name,
        "median_ms": round(_pct(frames, 50), 2),
        "p99_ms": round(_pct(frames, 99), 2),
        "idle_refresh_us": round(_pct(idle, 50) * 1e3, 1),
        "event_us": round(float(np.median(listen)) * 1e6, 2),
    }


def main() -> dict:
    app = QApplication.instance() or QApplication([])
    cases = [
        ("depth", lambda: DepthChartView()),
        ("ladder", lambda: DomLadderView()),
        ("tape", lambda: TradesTapeView()),
        ("candles", lambda: CandlesView()),
        # warmed up for a full screen of history (60 s of 100 ms columns), as on a running app
        ("heatmap", lambda: LiquidityHeatmapView(), HEATMAP_WARMUP),
        ("market_view", lambda: MarketView()),
    ]
    rows = [bench_view(app, *case) for case in cases]
    print(f"{SIZE[0]}x{SIZE[1]} offscreen, {UPDATES_PER_FRAME * 1_000_000_000 // FRAME_NS} book updates/s, "
          f"{FRAMES} frames per view (refresh + grab)")
    print(f"{'view':<12} {'median ms':>10} {'p99 ms':>9} {'idle us':>9} {'per event us':>13}")
    for r in rows:
        print(f"{r['view']:<12} {r['median_ms']:>10.2f} {r['p99_ms']:>9.2f} {r['idle_refresh_us']:>9.1f} "
              f"{r['event_us']:>13.2f}")
    print("per event = book deltas + BookUpdated fan-out to the view's listener (no drawing)")
    return {r["view"]: {k: v for k, v in r.items() if k != "view"} for r in rows}


if __name__ == "__main__":
    main()
