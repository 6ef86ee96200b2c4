"""The desktop after an unclean exit: journaled history in the tables, and the recovery box.

The earlier run is a simulated-time workspace on the same journal file, left without its
clean-stop marker (as a kill leaves it); the window then opens on a new workspace.
"""
from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import qasync
from PySide6.QtCore import QSettings

from app.domain import OrderStatus
from app.engine.journal import JournalStore
from app.interfaces.clock import RealClock, SimClock
from app.wiring.workspace import build_workspace
from ui.dialogs.recovery import recover_at_start
from ui.main_window import MainWindow

SEC = 1_000_000_000
TIGHT = {"order_amount": "0.01", "bid_spread_bps": "0", "ask_spread_bps": "0", "refresh_seconds": "2"}


def _earlier_run(path):
    """A bot quoting on the demo exchange until the process "dies"; returns its open orders' ids."""
    clock = SimClock(1_723_161_253 * SEC)
    store = JournalStore(path)
    ws = build_workspace(clock, seed=5, journal=store)
    ws.start()
    bot = ws.create_bot("simple_quoter", TIGHT, connector="demo", name="q")
    bot.start()
    deadline = clock.now_ns() + 600 * SEC
    while clock.now_ns() < deadline and (bot.pnl.fills == 0 or not bot.open_orders()):
        clock.run(until_ns=clock.now_ns() + SEC)
    assert bot.pnl.fills > 0 and bot.open_orders()
    open_ids = {o.client_order_id for o in bot.open_orders()}
    store.close(clean=False)
    return open_ids, bot.pnl.fills


async def _until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.05)


def test_history_shows_at_start_and_the_recovery_box_cancels_and_stops(qapp, tmp_path, monkeypatch):
    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path))
    qapp.setQuitOnLastWindowClosed(False)
    path = tmp_path / "journal.sqlite"
    open_ids, fills = _earlier_run(path)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    store = JournalStore(path)
    workspace = build_workspace(RealClock(loop), journal=store)
    window = MainWindow(workspace, settings=QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat))
    try:
        window.fills_model.flush()
        assert window.fills_model.rowCount() == fills  # the earlier run's fills, from the journal
        window.orders_model.set_show_finished(True)
        assert window.orders_model.rowCount() > 0

        async def scenario():
            workspace.start()
            report = await recover_at_start(window)
            assert report is not None and [b.name for b in report.bots] == ["q"]
            box = window._recovery_box
            assert box is not None and box.isVisible() and "ended without a clean stop" in box.text()
            assert [b.text() for b in box.buttons()][:2] == ["Resume", "Cancel orders"] or \
                {"Resume", "Cancel orders"} <= {b.text() for b in box.buttons()}
            next(b for b in box.buttons() if b.text() == "Cancel orders").click()
            await _until(lambda: getattr(window, "_recovery_task", None) is not None
                         and window._recovery_task.done(), 10, "the recovery to finish")
            window._recovery_task.result()

        loop.run_until_complete(scenario())
        for cid in open_ids:
            row = store.order(cid)
            assert row.status is OrderStatus.FAILED and "ran inside the process that ended" in row.reason
        assert store.unclean_sessions() == [] and store.bot("q").state == "stopped"
        assert workspace.bots == {}  # nothing resumed
        history = window.bot_history.model  # read again after the recovery: q is a stopped bot now

        async def history_shows_it_stopped():
            await _until(lambda: history.rowCount() == 1 and history.index(
                0, history.COLUMNS.index("State")).data() == "history: stopped", 10, "the history to follow")

        loop.run_until_complete(history_shows_it_stopped())
    finally:
        window._finish_shutdown()
        store.close()
        asyncio.set_event_loop(None)
        loop.close()


def test_resume_restarts_the_bots_that_were_running_and_the_history_shows_them_live(qapp, tmp_path, monkeypatch):
    """The other answer: Resume. The demo exchange died with the process, so its orders are
    failed; the bot that was running starts again under its name, with its parameters."""
    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path))
    qapp.setQuitOnLastWindowClosed(False)
    path = tmp_path / "journal.sqlite"
    _earlier_run(path)
    loop = qasync.QEventLoop(qapp)
    asyncio.set_event_loop(loop)
    store = JournalStore(path)
    workspace = build_workspace(RealClock(loop), journal=store)
    window = MainWindow(workspace, settings=QSettings(str(tmp_path / "layout.ini"), QSettings.Format.IniFormat))
    history = window.bot_history.model
    try:
        async def scenario():
            workspace.start()
            await _until(lambda: history.rowCount() == 1, 10, "the bot history")
            state = history.COLUMNS.index("State")
            assert history.index(0, state).data() == "history: ended without a clean stop"
            report = await recover_at_start(window)
            assert report is not None and "Bots running then: q (simple_quoter on demo" in report.summary()
            box = window._recovery_box
            next(b for b in box.buttons() if b.text() == "Resume").click()
            await _until(lambda: getattr(window, "_recovery_task", None) is not None
                         and window._recovery_task.done(), 10, "the recovery to finish")
            window._recovery_task.result()
            assert list(workspace.bots) == ["q"]
            assert workspace.bots["q"].strategy.params["order_amount"] == Decimal(TIGHT["order_amount"])
            await _until(lambda: history.index(0, state).data() == "running (this run)", 10,
                         "the history to show the resumed bot running")
            assert not history.is_history("q")
            assert "bots resumed" in window.statusBar().currentMessage()

        loop.run_until_complete(scenario())
    finally:
        for bot in workspace.running_bots():
            bot.kill()
        window._finish_shutdown()
        store.close()
        asyncio.set_event_loop(None)
        loop.close()

