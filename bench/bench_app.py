"""The whole desktop app under load: frame time, event-loop lag, CPU and memory (issue 3).

Targets: with the demo exchange streaming at least 2,000 book level updates/s and every
dock visible, p99 frame <= 16 ms, p99 event-loop lag <= 10 ms, memory flat after warm-up.

Setup (one process, one qasync loop for UI and engine, as in the app):
- Qt platform `offscreen`, or `xcb` when DISPLAY is set (an explicit QT_QPA_PLATFORM wins);
  COLIBRI_HOME and the layout QSettings point at a temporary directory.
- The Workspace's demo exchange gets crowd flow rates raised by FLOW_PARAMS (the
  calibrated default makes ~300 level changes/s). The achieved rate is measured, not
  assumed: the sum of `BookUpdated.levels_changed` from the feed per wall-clock second.
- The real MainWindow at 1600x1000; every dock is taken out of its tab group and placed
  side by side (left: bots | accounts, right: ladder | trades | order ticket, bottom: two
  rows of the other nine), then checked: each dock and market view `isVisible()` with a non-empty
  `visibleRegion()`. No saved layout is restored.
- One `simple_quoter` bot runs on the demo account, so own orders, fills and balances
  stream into the tables and the market views' overlays too.

Measurement (bench/app_profiler.py):
- Every Qt event delivery goes through an overridden `QApplication.notify`, timed with
  perf_counter. Nested deliveries (a Paint inside the window's UpdateRequest, a resize
  inside a refresh, ...) are accounted exclusively: each span's own time goes to the
  widget that owns the receiver (nearest market view, dock, the table flusher, or
  "window" for the main window's chrome and its backing-store compose/flush; objects
  outside the window, i.e. qasync's timers running the engine, bots and listeners, are
  "loop").
- A view's frame = within one event-loop iteration, the time spent in its timer slot
  (refresh: reading the book and updating items) plus the Paint events of the view and
  its children. The whole-window frame = the sum of all GUI owners (every view, dock,
  table flush and window compose) in that iteration. An iteration is the interval between
  two `QAbstractEventDispatcher.awake` signals. The engine's time per iteration ("loop")
  is reported beside it, not inside it.
- Event-loop lag = how late a repeating 10 ms asyncio timer (`loop.call_later`) fires
  relative to its due time (negative values, from qasync's ms rounding, count as 0).
- Each span is also timed in GUI-thread CPU time (`time.thread_time`): on a shared machine
  the wall-time frame includes waiting for the CPU, the CPU column does not.
- CPU % = process CPU time (`time.process_time`, all threads) over wall time, in % of one
  core. RSS from /proc/self/statm every 10 s; the slope is a least-squares fit over the
  samples after the warm-up (2 minutes, or a third of shorter runs), in MB/min.
- Statistics exclude the first SETTLE_S seconds (first paints, pyqtgraph set-up). Sample
  buffers are preallocated and touched up front so that measuring does not grow RSS.
- The profiler's own cost (a Python call per Qt event) is included in CPU %; the event
  rate is printed so it can be judged.

Then, for NAIVE_S seconds in the same process, a naive variant: every market view is
refreshed and repainted synchronously on every BookUpdated (the rule the views avoid);
the same frame figures and the CPU % ratio naive/ours are printed.

`--markets 2|3` opens one or two more markets, each a demo exchange of its own in a market
window of its own (bench/app_markets.py), as busy as the first or (`--extra-flow
calibrated`) at the demo's calibrated flow; their GUI work counts in the whole-window frame
and is also reported per window ("market2", "market3").

Run: `.venv/bin/python -m bench.bench_app [--minutes N] [--naive-seconds S] [--markets N]`
(default 10 minutes, 30 s naive, one market); `python -m bench app` runs 10 minutes, or 1
minute with COLIBRI_BENCH_QUICK=1.
"""
from __future__ import annotations

import os

if not os.environ.get("QT_QPA_PLATFORM"):
    os.environ["QT_QPA_PLATFORM"] = "xcb" if os.environ.get("DISPLAY") else "offscreen"

import argparse  # noqa: E402
import asyncio  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from decimal import Decimal  # noqa: E402

import numpy as np  # noqa: E402

from bench.app_profiler import (  # noqa: E402
    OWNERS,
    VIEWS,
    EventProfiler,
    IterationRecord,
    Phase,
    ProfiledApplication,
    Samples,
    attribute_refresh,
    composition,
    lag_figures,
    phase_figures,
    print_composition,
)
from bench.app_markets import (  # noqa: E402
    EXTRA_OWNERS,
    MAX_MARKETS,
    add_market_connectors,
    check_market_windows,
    open_market_windows,
)
from PySide6.QtCore import QAbstractEventDispatcher, QSettings, Qt, qInstallMessageHandler  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

WIDTH, HEIGHT = 1600, 1000
LAG_INTERVAL_S = 0.010
SAMPLE_EVERY_S = 10.0
SETTLE_S = 10.0
WARMUP_S = 120.0
NAIVE_S = 30.0
MIN_UPDATES_PER_S = 2_000
# Crowd flow for a busy market (per second): 12x the calibrated limit-order rate and 4x
# the market orders. Measured in simulated time (seed 7, 120 s): ~4,200 level changes/s,
# the slowest second ~2,400. The default flow makes ~270/s.
FLOW_PARAMS = {"limit_rate": 2400.0, "market_rate": 80.0}  # >= 2,000 level updates/s even in quiet spells
BALANCES = {"USDT": Decimal("1000000"), "BTC": Decimal("20")}  # the bot quotes all run long
BOT_PARAMS = {"order_amount": "0.01", "bid_spread_bps": "0", "ask_spread_bps": "0",
              "refresh_seconds": "3", "order_levels": "2"}
TARGET_FRAME_P99_MS = 16.0
TARGET_LAG_P99_MS = 10.0

CLOSED = ("sweepDock", "botHistoryDock")
"""Docks closed for the run: the parameter sweep panel does nothing without a sweep, the bot
history panel reads the journal only when a bot starts or stops, and their minimum widths
beside the others would push the window past 1600 px."""


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def type_census() -> Counter:
    return Counter(type(o).__name__ for o in gc.get_objects())


def show_every_dock(window) -> None:  # noqa: ANN001 - MainWindow
    """Un-tabifies every dock and lays them side by side so that all are visible at once.

    The side areas take the full height (the bots and backtest panels need ~630 px); left:
    bots / accounts; right: ladder / trades / order ticket / log / health beside backtest /
    performance; under the candles: depth, heatmap, then orders | fills | balances. Depth and heatmap
    are stacked, not side by side: their one-line status labels do not wrap, and side by
    side their minimum widths (~520 + ~380 px with live text) push the window past 1600 px.
    """
    d = window.docks
    area, orient, corner = Qt.DockWidgetArea, Qt.Orientation, Qt.Corner
    window.setCorner(corner.TopLeftCorner, area.LeftDockWidgetArea)
    window.setCorner(corner.BottomLeftCorner, area.LeftDockWidgetArea)
    window.setCorner(corner.TopRightCorner, area.RightDockWidgetArea)
    window.setCorner(corner.BottomRightCorner, area.RightDockWidgetArea)
    for dock in d.values():
        window.removeDockWidget(dock)
        dock.setFloating(False)
    window.addDockWidget(area.LeftDockWidgetArea, d["botsDock"])
    window.splitDockWidget(d["botsDock"], d["accountsDock"], orient.Vertical)
    window.addDockWidget(area.RightDockWidgetArea, d["ladderDock"])
    window.splitDockWidget(d["ladderDock"], d["backtestDock"], orient.Horizontal)
    window.addDockWidget(area.RightDockWidgetArea, d["sweepDock"])
    window.splitDockWidget(d["ladderDock"], d["tradesDock"], orient.Vertical)
    window.splitDockWidget(d["tradesDock"], d["ticketDock"], orient.Vertical)
    window.splitDockWidget(d["ticketDock"], d["logDock"], orient.Vertical)
    window.splitDockWidget(d["logDock"], d["healthDock"], orient.Vertical)
    window.addDockWidget(area.BottomDockWidgetArea, d["depthDock"])
    window.splitDockWidget(d["depthDock"], d["ordersDock"], orient.Vertical)
    window.splitDockWidget(d["depthDock"], d["heatmapDock"], orient.Vertical)
    window.splitDockWidget(d["ordersDock"], d["fillsDock"], orient.Horizontal)
    window.splitDockWidget(d["fillsDock"], d["balancesDock"], orient.Horizontal)
    window.splitDockWidget(d["backtestDock"], d["performanceDock"], orient.Vertical)
    for name, dock in d.items():
        dock.setVisible(name not in CLOSED)
    window.resizeDocks([d["botsDock"], d["ladderDock"], d["backtestDock"]], [444, 260, 390], orient.Horizontal)
    window.resizeDocks([d["ladderDock"], d["tradesDock"], d["ticketDock"], d["logDock"], d["healthDock"]],
                       [380, 200, 130, 100, 100], orient.Vertical)
    window.resizeDocks([d["botsDock"], d["accountsDock"]], [640, 260], orient.Vertical)
    window.resizeDocks([d["backtestDock"], d["performanceDock"]], [650, 280], orient.Vertical)
    window.resizeDocks([d["depthDock"], d["heatmapDock"], d["ordersDock"]], [190, 190, 220], orient.Vertical)


def check_visible(window) -> list[dict]:  # noqa: ANN001
    rows = [{"name": "window", "visible": (window.width(), window.height()) == (WIDTH, HEIGHT),
             "size": f"{window.width()}x{window.height()}"}]
    widgets = [(name, dock) for name, dock in window.docks.items() if name not in CLOSED]
    widgets += [(f"view:{name}", getattr(window, name)) for name in VIEWS]
    for name, w in widgets:
        region = w.visibleRegion()
        rows.append({"name": name, "visible": bool(w.isVisible()) and not region.isEmpty(),
                     "size": f"{w.width()}x{w.height()}"})
    return rows


async def run_bench(minutes: float, naive_s: float, markets: int = 1, extra_busy: bool = True) -> dict:
    from app.domain import BookUpdated, OrderFilled, OrderUpdated
    from app.interfaces.clock import RealClock
    from app.wiring.workspace import Workspace
    from connectors.demo.exchange import DemoExchange
    from connectors.paper.connector import PaperConnector
    from ui.main_window import MainWindow

    loop = asyncio.get_running_loop()
    duration = minutes * 60.0
    warmup = WARMUP_S if duration >= 3 * WARMUP_S else duration / 3
    tmp = tempfile.mkdtemp(prefix="colibri-bench-app-")
    os.environ["COLIBRI_HOME"] = tmp
    settings = QSettings(os.path.join(tmp, "layout.ini"), QSettings.Format.IniFormat)

    # The desktop's demo exchange with the busy flow, and the paper account on its feed: the
    # workspace is given its connectors, as build_workspace gives the calibrated ones.
    clock = RealClock(loop)
    workspace = Workspace(clock)
    demo = DemoExchange(clock, balances=dict(BALANCES), seed=7, name="demo", flow_params=FLOW_PARAMS)
    workspace.add_connector(demo)
    workspace.add_connector(PaperConnector(demo.feed(demo.instrument.symbol), dict(BALANCES), clock, name="paper"))
    feed = workspace.demo.feed(workspace.demo_symbol)
    extra_markets = add_market_connectors(workspace, clock, markets - 1, BALANCES, FLOW_PARAMS if extra_busy else None)

    seconds = int(duration + naive_s + 120)
    levels_per_s = np.full(seconds, 0, dtype=np.int64)
    events_per_s = np.full(seconds, 0, dtype=np.int64)
    t0 = time.monotonic()
    own = {"orders": 0, "fills": 0}

    def on_feed(event) -> None:  # noqa: ANN001
        if type(event) is BookUpdated:
            s = int(time.monotonic() - t0)
            if s < seconds:
                levels_per_s[s] += event.levels_changed
                events_per_s[s] += 1

    def on_account(event) -> None:  # noqa: ANN001
        if type(event) is OrderFilled:
            own["fills"] += 1
        elif type(event) is OrderUpdated:
            own["orders"] += 1

    feed.add_listener(on_feed)
    workspace.demo.add_listener(on_account)

    window = MainWindow(workspace, settings=settings)
    window.resize(WIDTH, HEIGHT)
    show_every_dock(window)
    prof = EventProfiler()
    for name in VIEWS:
        prof.register(getattr(window, name), name)
    for name, dock in window.docks.items():
        prof.register(dock, name)
    prof.register(window.flusher, "table_flush")
    for k, name in enumerate(VIEWS):
        attribute_refresh(prof, getattr(window, name), name, k)
    prof.register(window, "window")

    workspace.start()
    window.show()
    window.resize(WIDTH, HEIGHT)
    gc.collect()
    gc.freeze()  # as ui/app.py does after start-up
    if window.windowHandle() is not None:
        prof.register(window.windowHandle(), "window")
    market_windows = open_market_windows(workspace, extra_markets)
    for owner, market_window in zip(EXTRA_OWNERS, market_windows):
        prof.register(market_window, owner)
        if market_window.windowHandle() is not None:
            prof.register(market_window.windowHandle(), owner)
        for view in market_window.view.views():
            attribute_refresh(prof, view, owner)
    bot = workspace.create_bot("simple_quoter", dict(BOT_PARAMS), connector="demo")
    bot.start()

    # -- event-loop lag probe -----------------------------------------------------------------
    lag = Samples(int((duration + naive_s) / LAG_INTERVAL_S) + 10_000)
    lag_state = {"due": 0.0, "on": False, "blackout_end": 0.0, "samples": lag}

    def lag_tick() -> None:
        now = time.monotonic()
        due = lag_state["due"]
        if lag_state["on"] and due >= lag_state["blackout_end"]:
            lag_state["samples"].add(max(0.0, now - due))
        lag_state["due"] = now + LAG_INTERVAL_S
        loop.call_later(LAG_INTERVAL_S, lag_tick)

    lag_state["due"] = time.monotonic() + LAG_INTERVAL_S
    loop.call_later(LAG_INTERVAL_S, lag_tick)

    ProfiledApplication.profiler = prof
    gc.callbacks.append(prof.on_gc)
    QAbstractEventDispatcher.instance().awake.connect(prof.commit)

    print(f"platform {QApplication.platformName()}, window {window.width()}x{window.height()}, {markets} market(s), "
          f"{minutes:g} min (+{naive_s:g} s naive), warm-up for the RSS slope {warmup:.0f} s", flush=True)
    await asyncio.sleep(1.0)
    window.activateWindow()  # the trader works in the main window; market windows are beside it
    for _ in range(50):
        if QApplication.activeWindow() is window:
            break
        await asyncio.sleep(0.02)
    active = "main window" if QApplication.activeWindow() is window else repr(QApplication.activeWindow())
    print(f"active window: {active}", flush=True)
    visibility = check_visible(window) + check_market_windows(market_windows)
    hidden = [r["name"] for r in visibility if not r["visible"]]
    print("visible: " + ", ".join(f"{r['name']} {r['size']}" for r in visibility), flush=True)
    if hidden:
        raise RuntimeError(f"not visible: {hidden}")
    shot = os.path.join(tmp, "window.png")
    window.grab().save(shot)
    print(f"screenshot: {shot}", flush=True)

    # -- main phase ------------------------------------------------------------------------------
    await asyncio.sleep(max(0.0, SETTLE_S - (time.monotonic() - t0)))
    ours = Phase("ours", duration)
    record = IterationRecord(int(duration * 400) + 1_000)
    prof.record = record
    prof.phase = ours
    lag_state["on"] = True
    rss_series: list[tuple[float, float]] = []
    cpu_series: list[float] = []
    census: dict[str, Counter] = {}
    last_cpu, last_wall = time.process_time(), time.monotonic()
    renders0 = {n: getattr(window, n).render_count for n in VIEWS}
    events0, iters0 = prof.events, prof.iterations
    end = t0 + duration
    cpu_tail = None  # CPU over the last NAIVE_S seconds of ours, to compare with the naive phase
    print(f"{'t s':>6} {'RSS MB':>8} {'CPU %':>6} {'levels/s':>9} {'fills':>6} {'load1':>6}", flush=True)
    sample_k = 0
    while True:
        now = time.monotonic()
        if now >= end:
            break
        sample_k = max(sample_k + 1, int((now - t0) / SAMPLE_EVERY_S) + 1)
        next_sample = min(end, t0 + sample_k * SAMPLE_EVERY_S)
        await asyncio.sleep(max(0.0, next_sample - now))
        wall, cpu = time.monotonic(), time.process_time()
        t = wall - t0
        rss_series.append((t, rss_mb()))
        cpu_series.append(100.0 * (cpu - last_cpu) / max(1e-9, wall - last_wall))
        last_cpu, last_wall = cpu, wall
        s_lo, s_hi = max(0, int(t) - 10), int(t)
        rate = levels_per_s[s_lo:s_hi].mean() if s_hi > s_lo else 0.0
        load = open("/proc/loadavg").read().split()[0]
        print(f"{t:6.0f} {rss_series[-1][1]:8.1f} {cpu_series[-1]:6.1f} {rate:9.0f} {own['fills']:6d} {load:>6}",
              flush=True)
        if "warmup" not in census and t >= warmup:
            c0 = time.monotonic()
            prof.drop_iteration = True
            census["warmup"] = type_census()
            lag_state["blackout_end"] = time.monotonic() + 0.05
            print(f"(type census at warm-up end: {time.monotonic() - c0:.2f} s, excluded)", flush=True)
        if naive_s > 0 and cpu_tail is None and end - wall <= naive_s + 0.5:
            cpu_tail = (wall, cpu)
    ours.close()
    prof.record = None
    lag_ours = lag_state["samples"]
    renders = {n: getattr(window, n).render_count - renders0[n] for n in VIEWS}
    events_rate = (prof.events - events0) / ours.wall
    iter_rate = (prof.iterations - iters0) / ours.wall
    if cpu_tail is not None:
        cpu_tail_pct = 100.0 * (time.process_time() - cpu_tail[1]) / max(1e-9, time.monotonic() - cpu_tail[0])
    else:
        cpu_tail_pct = ours.cpu_pct
    prof.drop_iteration = True
    census["end"] = type_census()

    # -- naive phase: redraw every view on every BookUpdated ----------------------------------------
    naive = None
    lag_naive = None
    if naive_s > 0:
        views = [getattr(window, n) for n in VIEWS]
        owners = [OWNERS.index(n) for n in VIEWS]

        def naive_redraw(event) -> None:  # noqa: ANN001
            if type(event) is not BookUpdated:
                return
            for view, owner in zip(views, owners):
                prof.enter(owner)
                try:
                    view.mark_dirty()
                    view.refresh()
                    view.repaint()
                finally:
                    prof.exit()

        lag_naive = Samples(int(naive_s / LAG_INTERVAL_S) + 1_000)
        lag_state["samples"] = lag_naive
        naive = Phase("naive", naive_s)
        prof.phase = naive
        feed.add_listener(naive_redraw)
        await asyncio.sleep(naive_s)
        feed.remove_listener(naive_redraw)
        naive.close()
        prof.phase = None
    lag_state["on"] = False

    # -- shutdown ---------------------------------------------------------------------------------
    stopped = asyncio.Event()
    workspace.stop_all(stopped.set)
    try:
        await asyncio.wait_for(stopped.wait(), 15)
    except asyncio.TimeoutError:
        print("bots did not stop within 15 s", flush=True)
    QAbstractEventDispatcher.instance().awake.disconnect(prof.commit)
    ProfiledApplication.profiler = None
    for market_window in market_windows:
        market_window.close()
    window._finish_shutdown()
    await asyncio.sleep(0.3)

    # -- figures ------------------------------------------------------------------------------------
    measured = levels_per_s[int(SETTLE_S) + 1: int(duration) - 1]
    ev_measured = events_per_s[int(SETTLE_S) + 1: int(duration) - 1]
    rates = {
        "levels_per_s_mean": round(float(measured.mean()), 0),
        "levels_per_s_p5": round(float(np.percentile(measured, 5)), 0),
        "levels_per_s_min": int(measured.min()),
        "book_events_per_s": round(float(ev_measured.mean()), 1),
        "seconds_below_2000": int((measured < MIN_UPDATES_PER_S).sum()),
    }
    ts = np.array([t for t, _ in rss_series])
    mb = np.array([m for _, m in rss_series])
    after = ts >= warmup
    slope = float(np.polyfit(ts[after] / 60.0, mb[after], 1)[0]) if after.sum() >= 3 else float("nan")
    growth = census["end"] - census.get("warmup", Counter())
    result = {
        "machine": machine(),
        "platform": QApplication.platformName(),
        "minutes": minutes,
        "markets": markets,
        "extra_markets_flow": ("busy" if extra_busy else "calibrated") if markets > 1 else None,
        "active_window": active,
        "flow_params": FLOW_PARAMS,
        "update_rate": rates,
        "own_order_updates": own["orders"],
        "own_fills": own["fills"],
        "renders_per_s": {n: round(c / ours.wall, 1) for n, c in renders.items()},
        "qt_events_per_s": round(events_rate, 0),
        "loop_iterations_per_s": round(iter_rate, 0),
        "frames": phase_figures(ours),
        "loop_lag_ms": lag_figures(lag_ours),
        "cpu_pct": round(ours.cpu_pct, 1),
        "cpu_pct_series": [round(c, 1) for c in cpu_series],
        "rss_mb_series": [[round(t), round(m, 1)] for t, m in rss_series],
        "rss_start_mb": round(float(mb[0]), 1),
        "rss_warm_mb": round(float(mb[after][0]), 1) if after.any() else None,
        "rss_end_mb": round(float(mb[-1]), 1),
        "rss_slope_mb_per_min": round(slope, 3),
        "object_growth_after_warmup": dict(growth.most_common(8)),
        "visibility": visibility,
        "slowest": composition(record),
    }
    if naive is not None:
        result["naive"] = {
            "seconds": naive_s,
            "frames": phase_figures(naive),
            "loop_lag_ms": lag_figures(lag_naive),
            "cpu_pct": round(naive.cpu_pct, 1),
            "cpu_pct_ours_last": round(cpu_tail_pct, 1),
            "cpu_ratio_naive_over_ours": round(naive.cpu_pct / max(1e-9, cpu_tail_pct), 2),
        }
    print_report(result)
    return result


def machine() -> str:
    from bench.__main__ import machine as describe

    return describe()


def print_frames(frames: dict) -> None:
    print(f"  {'owner':<16} {'frames':>7} {'median ms':>10} {'p99 ms':>8} {'max ms':>8} {'busy %':>7} "
          f"{'cpu med':>8} {'cpu p99':>8}")
    for name, f in frames.items():
        if not isinstance(f, dict):
            continue
        flag = "  MISS" if name != "loop" and f["p99_ms"] is not None and f["p99_ms"] > TARGET_FRAME_P99_MS else ""
        cm = "" if f.get("cpu_median_ms") is None else f"{f['cpu_median_ms']:8.3f} {f['cpu_p99_ms']:8.3f}"
        print(f"  {name:<16} {f['n']:>7} {f['median_ms']:>10.3f} {f['p99_ms']:>8.3f} {f['max_ms']:>8.2f} "
              f"{f['busy_pct']:>7.2f} {cm}{flag}")
    print(f"  involuntary context switches/s: {frames['involuntary_ctx_switches_per_s']} "
          "(other processes taking the CPU: wall-time frames include that wait, cpu columns do not)")


def print_report(r: dict) -> None:
    print()
    extra = f", the other {r['markets'] - 1} at {r['extra_markets_flow']} flow" if r["markets"] > 1 else ""
    print(f"machine: {r['machine']}; Qt platform {r['platform']}; {r['minutes']:g} min; "
          f"{r['markets']} market(s) open, the first streaming a busy demo book{extra}")
    u = r["update_rate"]
    print(f"book level updates/s: mean {u['levels_per_s_mean']:.0f}, p5 {u['levels_per_s_p5']:.0f}, "
          f"min {u['levels_per_s_min']} ({u['seconds_below_2000']} s below {MIN_UPDATES_PER_S}); "
          f"{u['book_events_per_s']} BookUpdated/s; flow {r['flow_params']}")
    print(f"own order updates {r['own_order_updates']}, own fills {r['own_fills']}; renders/s {r['renders_per_s']}")
    print(f"Qt events/s (each through the profiler) {r['qt_events_per_s']:.0f}, "
          f"loop iterations/s {r['loop_iterations_per_s']:.0f}")
    print("frame time per loop iteration (exclusive time per owner; whole_window = all GUI owners; "
          f"'loop' = engine, not a frame); target p99 <= {TARGET_FRAME_P99_MS:g} ms")
    print_frames(r["frames"])
    lag = r["loop_lag_ms"]
    print(f"event-loop lag (10 ms timer): p50 {lag['p50']:.3f} ms, p99 {lag['p99']:.3f} ms, max {lag['max']:.2f} ms, "
          f"{lag['over_10ms']} of {lag['n']} over 10 ms; target p99 <= {TARGET_LAG_P99_MS:g} ms")
    print(f"CPU {r['cpu_pct']:.1f} % of one core; RSS start {r['rss_start_mb']} MB, after warm-up "
          f"{r['rss_warm_mb']} MB, end {r['rss_end_mb']} MB, slope after warm-up "
          f"{r['rss_slope_mb_per_min']:+.3f} MB/min")
    print(f"Python objects grown after warm-up: {r['object_growth_after_warmup']}")
    print_composition(r.get("slowest", {}))
    if "naive" in r:
        n = r["naive"]
        print(f"\nnaive ({n['seconds']:g} s, every view refreshed + repainted on every BookUpdated):")
        print_frames(n["frames"])
        nl = n["loop_lag_ms"]
        if nl:
            print(f"  loop lag p50 {nl['p50']:.3f} ms, p99 {nl['p99']:.3f} ms, max {nl['max']:.2f} ms")
        print(f"  CPU naive {n['cpu_pct']:.1f} % vs ours {n['cpu_pct_ours_last']:.1f} % (last {n['seconds']:g} s "
              f"of the main phase): naive/ours = {n['cpu_ratio_naive_over_ours']:.2f}")


def run(minutes: float, naive_s: float = NAIVE_S, markets: int = 1, extra_busy: bool = True) -> dict:
    import qasync

    app = QApplication.instance()
    if app is None:
        app = ProfiledApplication([])
    elif not isinstance(app, ProfiledApplication):
        raise RuntimeError("bench_app needs its own QApplication: run it in a fresh process")
    app.setQuitOnLastWindowClosed(False)  # closing the window at the end must not stop the loop
    previous = qInstallMessageHandler(None)

    def quiet(mode, context, message: str) -> None:  # noqa: ANN001
        if "propagateSizeHints" in message:  # offscreen plugin, once per layout change
            return
        if previous is not None:
            previous(mode, context, message)
        else:
            sys.stderr.write(message + "\n")

    qInstallMessageHandler(quiet)
    loop = qasync.QEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(run_bench(minutes, naive_s, markets, extra_busy))
    finally:
        asyncio.set_event_loop(None)
        loop.close()


def main() -> dict:
    quick = os.environ.get("COLIBRI_BENCH_QUICK") == "1"
    return run(1.0 if quick else 10.0)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--naive-seconds", type=float, default=NAIVE_S)
    parser.add_argument("--markets", type=int, default=1, choices=range(1, MAX_MARKETS + 1),
                        help="markets open: the main window's, plus a market window per extra demo exchange")
    parser.add_argument("--extra-flow", choices=("busy", "calibrated"), default="busy",
                        help="the extra markets' crowd flow: as busy as the first, or the demo's calibrated one")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    figures = run(args.minutes, args.naive_seconds, args.markets, args.extra_flow == "busy")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2, default=str)
    sys.exit(0)
