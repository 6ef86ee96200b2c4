"""The shared frame scheduler of the market views: one view per tick, each within its interval."""
from __future__ import annotations

import pytest

from tests.ui.market_fakes import BID, ScriptedFeed
from ui.market import DepthChartView, MarketView
from ui.market._base import FrameScheduler, MarketViewBase

MID = 10_000


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class CountingView(MarketViewBase):
    """A view whose render only records when it ran."""

    def __init__(self, scheduler: FrameScheduler, hz: float = 20.0) -> None:
        super().__init__(refresh_hz=hz, scheduler=scheduler)
        self.renders: list[float] = []

    def _render(self) -> None:
        self.renders.append(self.scheduler.now())


@pytest.fixture
def feed() -> ScriptedFeed:
    f = ScriptedFeed()
    f.ladder(MID, depth=20, qty=1000)
    return f


def make_views(qtbot, feed, n: int, hz: float = 20.0):
    clock = FakeClock()
    sched = FrameScheduler(tick_ms=5, clock=clock)
    views = []
    for _ in range(n):
        v = CountingView(sched, hz)
        qtbot.addWidget(v)
        v.resize(50, 50)
        v.show()
        v.set_source(feed)
        views.append(v)
    sched._timer.stop()  # driven by hand below
    return clock, sched, views


def run(clock: FakeClock, sched: FrameScheduler, views, seconds: float, dirty_each_tick: bool = True):
    """Advances the fake clock tick by tick; returns per tick the views that rendered."""
    per_tick = []
    for _ in range(int(seconds * 1000 / sched.tick_ms)):
        clock.t += sched.tick_ms / 1000.0
        if dirty_each_tick:
            for v in views:
                v.mark_dirty()
        before = [len(v.renders) for v in views]
        sched.tick()
        per_tick.append([i for i, v in enumerate(views) if len(v.renders) > before[i]])
    return per_tick


def test_at_most_one_view_refreshed_per_tick(qtbot, feed):
    clock, sched, views = make_views(qtbot, feed, 6)
    per_tick = run(clock, sched, views, 3.0)
    assert max(len(t) for t in per_tick) == 1
    assert sum(len(t) for t in per_tick) == sched.refreshes


def test_every_dirty_visible_view_refreshed_within_its_interval(qtbot, feed):
    # Six always-dirty views at 20 Hz (120 refreshes/s of 200 slots), plus one at 10 Hz.
    clock, sched, views = make_views(qtbot, feed, 6)
    slow = CountingView(sched, 10.0)
    qtbot.addWidget(slow)
    slow.resize(50, 50)
    slow.show()
    slow.set_source(feed)
    views.append(slow)
    sched._timer.stop()
    run(clock, sched, views, 5.0)
    tick = sched.tick_ms / 1000.0
    for v in views:
        gaps = [b - a for a, b in zip(v.renders[1:], v.renders[2:])]
        interval = v.refresh_interval_ms / 1000.0
        assert len(v.renders) >= 5.0 / interval - 2
        # never faster than the view's rate (half-tick eligibility slack), never later than
        # its interval plus one tick of quantisation
        assert min(gaps) >= interval - tick / 2 - 1e-9
        assert max(gaps) <= interval + tick + 1e-9


def test_views_spread_over_ticks_and_hidden_or_clean_views_skipped(qtbot, feed):
    clock, sched, views = make_views(qtbot, feed, 3)
    run(clock, sched, views, 0.2)
    for v in views:
        v.renders.clear()
    views[1].hide()
    per_tick = run(clock, sched, views, 1.0)
    assert views[1].renders == [] and views[1].is_dirty  # hidden: stays dirty, no work
    assert len(views[0].renders) >= 19 and len(views[2].renders) >= 19
    # clean views are not refreshed at all
    run(clock, sched, views, 0.2, dirty_each_tick=False)  # settle what is still dirty
    for v in views:
        v.renders.clear()
    per_tick = run(clock, sched, views, 0.5, dirty_each_tick=False)
    views[0].mark_dirty()
    per_tick += run(clock, sched, views, 0.1, dirty_each_tick=False)
    assert [len(v.renders) for v in views] == [1, 0, 0]


def test_scheduler_stops_when_no_view_is_attached(qtbot, feed):
    sched = FrameScheduler(tick_ms=5)
    v = CountingView(sched)
    qtbot.addWidget(v)
    v.set_source(feed)
    assert sched.is_running and sched.views() == [v]
    v.detach()
    assert not sched.is_running and sched.views() == []


def test_real_views_share_the_application_scheduler(qtbot, feed):
    view = MarketView()
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    view.set_source(feed)
    sched = FrameScheduler.shared()
    assert all(v.scheduler is sched for v in view.views())
    assert set(view.views()) <= set(sched.views()) and sched.is_running
    n = view.ladder.render_count
    feed.levels(BID, {MID - 1: 7})
    qtbot.waitUntil(lambda: view.ladder.render_count > n, timeout=2000)
    view.detach()
    assert not set(view.views()) & set(sched.views())


def test_depth_view_drawn_by_the_scheduler(qtbot, feed):
    view = DepthChartView()
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    view.set_source(feed)
    qtbot.waitUntil(lambda: view.render_count >= 1, timeout=2000)
    feed.levels(BID, {MID - 1: 1234})
    qtbot.waitUntil(lambda: not view.is_dirty, timeout=2000)
    assert view.render_count >= 2


def test_depth_window_stays_put_for_small_mid_moves(qtbot, feed):
    from tests.ui.market_fakes import ASK

    view = DepthChartView(window_pct=0.5)
    qtbot.addWidget(view)
    view.set_source(feed)
    view.refresh()
    vb = view.plot.getPlotItem().getViewBox()
    xr0 = tuple(vb.viewRange()[0])
    half = view.half_width_ticks
    # the mid moves one tick: the x range (and so the axis) stays
    feed.levels(BID, {MID: 1000})
    feed.levels(ASK, {MID + 1: 0})
    view.refresh()
    assert tuple(vb.viewRange()[0]) == pytest.approx(xr0) and view.half_width_ticks == half
    (bx, _), (ax, _) = view.curve_data()
    assert bx.min() >= xr0[0] - 1e-9 and ax.max() <= xr0[1] + 1e-9


def test_grid_item_lines_follow_the_axes(qtbot, feed):
    view = DepthChartView()
    qtbot.addWidget(view)
    view.resize(600, 300)
    view.show()
    view.set_source(feed)
    view.refresh()
    qtbot.waitUntil(lambda: view.grid._key is not None, timeout=2000)
    major, minor = view.grid._lines
    assert len(major) > 0
    assert view.plot.getPlotItem().getAxis("left").grid is False  # the axes draw no grid


def test_views_outside_the_active_window_redraw_at_half_rate(qtbot, feed):
    from PySide6.QtWidgets import QApplication

    from ui.market._base import BACKGROUND_SLOWDOWN

    clock, sched, (front, back) = make_views(qtbot, feed, 2)
    front.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is front, timeout=2000)
    run(clock, sched, [front, back], 2.0)
    assert len(front.renders) == pytest.approx(40, abs=2)  # 20 Hz
    assert len(back.renders) == pytest.approx(40 / BACKGROUND_SLOWDOWN, abs=2)


def test_a_late_tick_gives_the_busy_loop_its_time_back(qtbot, feed):
    clock, sched, views = make_views(qtbot, feed, 2)
    for _ in range(20):  # every tick 20 ms after the last: the loop is overloaded
        clock.t += 0.020
        for v in views:
            v.mark_dirty()
        sched.tick()
    assert sched.skipped == 10 and sched.refreshes == 10  # every other tick, never two skipped in a row
    run(clock, sched, views, 1.0)  # on time again: nothing skipped
    assert sched.skipped == 10
