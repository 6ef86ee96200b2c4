"""Takes the documentation screenshots of the real desktop app on the demo exchange.

Usage (needs an X display; `make screenshots` wraps it in xvfb-run):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python tools/screenshots.py docs/screenshots

It opens the main window (1600x1000) with throw-away settings and config (the user's
layout and accounts are never read or written), starts a simple_quoter bot on the demo
exchange with spreads tight enough to trade, runs a short demo backtest in the Backtest
panel, lets the market run, then saves one PNG of the whole window and one per view, places
orders by hand from the order ticket and by clicks on the ladder (ticket.png,
ladder-trading.png), opens a second market in a window of its own (markets.png), and
quits the way a user would (bots stopped, orders cancelled, venues shut down). It then
opens a new window on the same (throw-away) journal, as after a restart, and saves
history.png: the earlier run's orders, fills and bots.

Exit status: 0 when every PNG was written, 1 on any failure (a timeout, an uncaught error
reported by the app, a shutdown that does not finish), 2 on bad usage (no display).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
WINDOW_SIZE = (1600, 1000)

BOT_PARAMS = {
    "order_amount": "0.01",
    "bid_spread_bps": "0.3",
    "ask_spread_bps": "0.3",
    "order_levels": "3",
    "level_step_bps": "1",
}

# (file name, dock objectName or None for the central candles view). Tabified docks are
# raised before their shot; each view redraws only while visible, so it gets a moment.
VIEW_SHOTS = (
    ("ladder.png", "ladderDock"),
    ("trades.png", "tradesDock"),
    ("depth.png", "depthDock"),
    ("heatmap.png", "heatmapDock"),
    ("candles.png", None),
    ("bots.png", "botsDock"),
    ("orders.png", "ordersDock"),
    ("fills.png", "fillsDock"),
    ("performance.png", "performanceDock"),
    ("backtest.png", "backtestDock"),
    ("accounts.png", "accountsDock"),
    ("log.png", "logDock"),
)

log = logging.getLogger("colibri.screenshots")


class ScreenshotError(RuntimeError):
    pass


class _ErrorCounter(logging.Handler):
    """Counts errors the app logs (uncaught exceptions included: ui.errors logs them)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


async def until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise ScreenshotError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.05)


def _isolate_user_config(home: Path) -> None:
    """Points every per-user location the app could touch at a temporary folder."""
    os.environ["COLIBRI_HOME"] = str(home)
    os.environ["XDG_CONFIG_HOME"] = str(home / "xdg-config")
    os.environ["XDG_DATA_HOME"] = str(home / "xdg-data")
    os.environ["XDG_CACHE_HOME"] = str(home / "xdg-cache")


def _save(widget_or_pixmap, path: Path) -> Path:
    pixmap = widget_or_pixmap if hasattr(widget_or_pixmap, "save") else widget_or_pixmap.grab()
    if pixmap.isNull() or pixmap.width() < 50 or pixmap.height() < 50:
        raise ScreenshotError(f"{path.name}: nothing to grab ({pixmap.width()}x{pixmap.height()})")
    if not pixmap.save(str(path), "PNG"):
        raise ScreenshotError(f"could not write {path}")
    return path


def _grab_window(window):
    """The window as the X server shows it, or rendered whole when it does not fit the screen."""
    from PySide6.QtGui import QGuiApplication

    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None and screen.geometry().contains(window.frameGeometry()):
        pixmap = screen.grabWindow(window.winId())
        if not pixmap.isNull() and pixmap.width() >= window.width() // 2:
            return pixmap
    if screen is not None:
        size = window.size()
        print(f"screenshots: warning: the window is {size.width()}x{size.height()}, larger than the "
              f"{screen.geometry().width()}x{screen.geometry().height()} screen (its minimum size is "
              f"{window.minimumSizeHint().width()}x{window.minimumSizeHint().height()}); "
              "main.png is rendered from the widgets", file=sys.stderr)
    return window.grab()


def _scroll_ladder_to_own_order(window) -> bool:
    """Scrolls the ladder to the drawn own order nearest the spread (auto-centre off)."""
    from PySide6.QtWidgets import QAbstractItemView

    from ui.market.dom_model import OWN_ASK, OWN_BID, PRICE, RAW_ROLE

    ladder = window.ladder
    model = ladder.model
    book = window.workspace.demo.feed(window.workspace.demo_symbol).book
    if not book.mid_ticks:
        return False
    centre = model.row_of(int(round(book.mid_ticks)))
    rows = [r for r in range(model.window_rows)
            if any(model.data(model.index(r, c), RAW_ROLE) for c in (OWN_BID, OWN_ASK))]
    if not rows:
        return False
    row = min(rows, key=lambda r: abs(r - centre))
    ladder.auto_centre.setChecked(False)
    ladder.table.scrollTo(model.index(row, PRICE), QAbstractItemView.ScrollHint.PositionAtCenter)
    return True


def _set_fields(form, values: dict[str, str]) -> None:
    from PySide6.QtWidgets import QLineEdit

    for name, text in values.items():
        editor = form.editor(name)
        if not isinstance(editor, QLineEdit):
            raise ScreenshotError(f"form field {name!r} is not a text field")
        editor.setText(text)
    if not form.revalidate():
        raise ScreenshotError("the strategy form rejected the screenshot parameters")


async def _settle(app, seconds: float) -> None:
    """Lets the views' timers fire and the X server catch up (the qasync loop runs Qt's
    events meanwhile: no nested event loop)."""
    app.sendPostedEvents()
    await asyncio.sleep(seconds)


async def _manual_trading_shots(app, window, out_dir: Path) -> list[Path]:
    """ticket.png: an order typed in the ticket and sent; ladder-trading.png: orders placed
    by clicking the ladder's Bid and Ask columns a few rows from the spread, beside the
    bot's. All through the real path (ui/trading/, the manual desk, the demo venue)."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QAbstractItemView

    from app.domain import OrderStatus
    from ui.market.dom_model import ASK_SIZE, BID_SIZE, PRICE

    workspace, trading = window.workspace, window.trading
    book = workspace.demo.feed(workspace.demo_symbol).book
    instrument = workspace.demo.instruments[workspace.demo_symbol]
    ticket_dock = window.docks["ticketDock"]
    ticket_dock.show()
    ticket_dock.raise_()
    # As a trader would: the ticket's tab made tall enough to show every field (the ladder above gives way).
    ladder_dock = window.docks["ladderDock"]
    column = ladder_dock.height() + ticket_dock.height()
    need = trading.ticket.heightForWidth(ticket_dock.width())  # word-wrapped lines included
    tall = max(need if need > 0 else trading.ticket.sizeHint().height(), 0) + 60  # + the title and the sent line
    window.resizeDocks([ladder_dock, ticket_dock], [max(column - tall, 150), tall], Qt.Orientation.Vertical)
    ticket = trading.ticket
    ticket.set_market("demo", workspace.demo_symbol)
    ticket.buy.click()
    ticket.amount.setText("0.05")
    ticket.price.setText(str(instrument.ticks_to_price(book.best_bid_ticks - 500)))  # 5 USDT under the bid
    ticket.post_only.setChecked(True)
    ticket.send()  # sent at once (the demo account asks no confirmation), or refused with the reason
    sent = trading.trading.last_order
    if sent is None or sent.status is OrderStatus.REJECTED:
        raise ScreenshotError(f"the ticket's order was not sent: {ticket.message.text()}")
    ticket.refresh_preview()
    await _settle(app, 0.8)
    paths = [_save(ticket_dock, out_dir / "ticket.png")]

    ladder = window.ladder
    window.docks["ladderDock"].raise_()
    ladder.auto_centre.setChecked(False)
    ladder.centre()
    await _settle(app, 0.3)
    model = ladder.model
    viewport = ladder.table.viewport()
    for column, ticks in ((BID_SIZE, book.best_bid_ticks), (ASK_SIZE, book.best_ask_ticks)):
        row = model.row_of(ticks) + (3 if column == BID_SIZE else -3)
        index = model.index(row, column)
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=ladder.table.visualRect(index).center())
    last = trading.trading.last_order
    if last is sent or last is None or last.status is OrderStatus.REJECTED:
        raise ScreenshotError(f"the ladder's clicks sent nothing: {ticket.message.text()}")
    await _settle(app, 1.0)
    ladder.table.scrollTo(model.index(model.row_of(int(book.mid_ticks)), PRICE),
                          QAbstractItemView.ScrollHint.PositionAtCenter)
    await _settle(app, 0.3)
    # The ladder with the ticket under it (its tab raised), as the trader sees them together.
    window.docks["ticketDock"].raise_()
    await _settle(app, 0.5)
    area = window.docks["ladderDock"].geometry().united(window.docks["ticketDock"].geometry())
    paths.append(_save(window.grab(area), out_dir / "ladder-trading.png"))
    ladder.auto_centre.setChecked(True)
    window.resizeDocks([ladder_dock, ticket_dock], [column * 2 // 3, column - column * 2 // 3], Qt.Orientation.Vertical)
    window.docks["tradesDock"].raise_()
    return paths


async def _scenario(app, window, out_dir: Path, seconds: float, backtest_seconds: float) -> list[Path]:
    workspace = window.workspace
    workspace.start()
    window.resize(*WINDOW_SIZE)
    window.move(0, 0)
    window.show()
    window.raise_()
    window.activateWindow()
    book = workspace.demo.feed(workspace.demo_symbol).book
    await until(lambda: book.best_bid_ticks > 0 and book.best_ask_ticks > 0, 10, "a living demo book")
    await until(lambda: window.ladder.render_count > 0, 10, "the ladder to draw")

    # A short demo backtest runs in its own process while the live market fills the views.
    bt = window.backtest
    bt.source.setCurrentIndex(bt.source.findData("demo"))
    bt.strategy.setCurrentIndex(bt.strategy.findData("simple_quoter"))
    bt.duration.setText(f"{backtest_seconds:g}")
    _set_fields(bt.form, BOT_PARAMS)
    bt.start()
    if not bt.running:
        raise ScreenshotError(f"the backtest did not start: {bt.status.text()}")

    panel = window.bots_panel
    panel.account.setCurrentText("demo")
    panel.strategy.setCurrentIndex(panel.strategy.findData("simple_quoter"))
    _set_fields(panel.form, BOT_PARAMS)
    bot = panel.start_now("simple_quoter", "demo")
    if bot is None:
        raise ScreenshotError(f"the bot did not start: {panel.message.text()}")
    await until(lambda: len(workspace.demo.open_orders()) > 0, 10, "the bot's resting orders")

    # The heatmap only records while it is shown: keep it raised while the market runs.
    window.docks["heatmapDock"].raise_()
    window.docks["fillsDock"].raise_()
    started = time.monotonic()
    await until(lambda: window.fills_model.rowCount() > 0, max(seconds, 5) + 60, "a fill")
    await asyncio.sleep(max(0.0, seconds - (time.monotonic() - started)))
    await until(lambda: bt.last_report is not None or not bt.running, 180, "the backtest report")
    if bt.last_report is None:
        raise ScreenshotError(f"the backtest gave no report: {bt.status.text()}")

    paths: list[Path] = []
    # The main window as a trader first sees it, with the bot's orders at the bottom.
    window.docks["depthDock"].raise_()
    window.docks["ordersDock"].raise_()
    window.docks["botsDock"].raise_()
    await _settle(app, 1.5)
    paths.append(_save(_grab_window(window), out_dir / "main.png"))

    # Orders by hand next (the tables and the ladder below then show them beside the bot's).
    paths += await _manual_trading_shots(app, window, out_dir)
    for name, dock_name in VIEW_SHOTS:
        if dock_name is None:
            widget = window.centralWidget()
        else:
            widget = window.docks[dock_name]
            widget.show()
            widget.raise_()
        if name == "ladder.png" and not _scroll_ladder_to_own_order(window):
            print("screenshots: warning: no bot order inside the ladder's price window", file=sys.stderr)
        if name == "accounts.png":
            window.accounts_dock.select_account(window.accounts_dock.account_ids()[0])
        if name == "bots.png" and panel.model.rowCount() > 0:
            panel.table.selectRow(0)
        if name == "performance.png":
            window.performance.bot_combo.setCurrentText(bot.name)
            window.performance.redraw()
        await _settle(app, 1.2)
        if name == "ladder.png":  # the market may have moved the rows meanwhile
            _scroll_ladder_to_own_order(window)
            await _settle(app, 0.2)
        if not widget.isVisible():
            raise ScreenshotError(f"{name}: the view is not visible")
        paths.append(_save(widget, out_dir / name))
        if name == "ladder.png":
            window.ladder.auto_centre.setChecked(True)

    window.docks["ordersDock"].raise_()
    window.docks["depthDock"].raise_()
    window.docks["botsDock"].raise_()
    paths.append(await _markets_shot(app, window, out_dir))

    # Quit as a user would with a bot running: confirm, then every order is cancelled.
    done = asyncio.Event()
    window.shutdown_finished.connect(done.set)
    window.close()
    await until(lambda: window._confirm_box is not None or done.is_set(), 5, "the quit confirmation")
    if window._confirm_box is not None:
        from PySide6.QtWidgets import QMessageBox

        window._confirm_box.button(QMessageBox.StandardButton.Yes).click()
    await asyncio.wait_for(done.wait(), 20)
    left = workspace.demo.open_orders()
    if left:
        raise ScreenshotError(f"{len(left)} order(s) still open after quitting")
    return paths


async def _markets_shot(app, window, out_dir: Path) -> Path:
    """markets.png: a second market (the lagged demo venue) in a window of its own over the
    main window, as View → New market window opens it; the whole screen is grabbed."""
    from PySide6.QtGui import QGuiApplication

    from app.wiring.workspace import LAGGED_DEMO

    other = window.open_market_window((LAGGED_DEMO, window.workspace.demo_symbol))
    other.resize(1040, 640)
    other.move(470, 300)
    other.raise_()
    await until(lambda: other.view.ladder.render_count > 0 and other.view.candles.render_count > 0, 10,
                "the market window to draw")
    await _settle(app, 3.0)
    screen = QGuiApplication.primaryScreen()
    pixmap = screen.grabWindow(0) if screen is not None and QGuiApplication.platformName() == "xcb" else None
    path = _save(pixmap if pixmap is not None and not pixmap.isNull() else other, out_dir / "markets.png")
    other.close()
    return path


async def _history_scenario(app, window, out_dir: Path) -> list[Path]:
    """history.png: the window opened again on the first run's journal, showing that run's
    orders (finished ones included), fills and bot history beside the new live market."""
    from PySide6.QtCore import Qt

    workspace = window.workspace
    workspace.start()
    window.resize(*WINDOW_SIZE)
    window.move(0, 0)
    window.show()
    book = workspace.demo.feed(workspace.demo_symbol).book
    await until(lambda: book.best_bid_ticks > 0 and book.best_ask_ticks > 0, 10, "a living demo book")
    window.show_finished.setChecked(True)
    # Orders and fills side by side at the bottom, the bot history in the left column.
    docks = window.docks
    for name in ("ordersDock", "fillsDock"):  # a tabbed dock cannot be split: both leave their tabs first
        window.removeDockWidget(docks[name])
    window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, docks["ordersDock"])
    window.splitDockWidget(docks["ordersDock"], docks["fillsDock"], Qt.Orientation.Horizontal)
    window.removeDockWidget(docks["botHistoryDock"])
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, docks["botHistoryDock"])
    window.tabifyDockWidget(docks["botsDock"], docks["botHistoryDock"])
    for name in ("ordersDock", "fillsDock", "botHistoryDock"):
        docks[name].show()
        docks[name].raise_()
    for name in ("depthDock", "heatmapDock", "balancesDock", "performanceDock", "backtestDock", "sweepDock",
                 "logDock", "healthDock"):
        docks[name].hide()  # the bottom row for the two tables (throw-away settings: nothing is kept)
    await _settle(app, 0.5)
    window.resizeDocks([docks["botHistoryDock"]], [700], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["ordersDock"], docks["fillsDock"]], [800, 800], Qt.Orientation.Horizontal)
    window.resizeDocks([docks["ordersDock"]], [360], Qt.Orientation.Vertical)
    history = window.bot_history.model
    await until(lambda: history.rowCount() > 0, 10, "the bot history")
    await until(lambda: window.fills_model.rowCount() > 0 and window.orders_model.rowCount() > 0, 10,
                "the earlier run's orders and fills")
    await _settle(app, 1.5)
    paths = [_save(_grab_window(window), out_dir / "history.png")]
    done = asyncio.Event()
    window.shutdown_finished.connect(done.set)
    window.close()  # no bot runs: it quits without asking
    await asyncio.wait_for(done.wait(), 20)
    return paths


def take_screenshots(out_dir: Path, seconds: float, backtest_seconds: float) -> list[Path]:
    import qasync
    from PySide6.QtCore import QSettings

    from app.engine.journal import JournalStore
    from app.interfaces.clock import RealClock
    from app.wiring.workspace import Workspace, build_workspace
    from ui.app import make_application
    from ui.errors import install_error_hooks
    from ui.main_window import MainWindow

    counter = _ErrorCounter()
    logging.getLogger().addHandler(counter)
    app = make_application([sys.argv[0]])
    settings = QSettings(os.path.join(os.environ["COLIBRI_HOME"], "layout.ini"), QSettings.Format.IniFormat)
    journal_path = Path(os.environ["COLIBRI_HOME"]) / "journal.sqlite"  # a throw-away journal
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        loop = runner.get_loop()
        journal = JournalStore(journal_path)
        workspace = build_workspace(RealClock(loop), journal=journal)
        window = MainWindow(workspace, settings=settings)
        reporter = install_error_hooks(loop, window, window)
        try:
            paths = runner.run(_scenario(app, window, out_dir, seconds, backtest_seconds))
            journal.close()
            reporter.uninstall()
            journal = JournalStore(journal_path)  # the restart: a new window on the same journal
            workspace = build_workspace(RealClock(loop), journal=journal)
            window = MainWindow(workspace, settings=settings)
            reporter = install_error_hooks(loop, window, window)
            paths += runner.run(_history_scenario(app, window, out_dir))
        finally:
            if not window._closed:  # a failure mid-way: still cancel everything and stop
                try:
                    for bot in workspace.running_bots():
                        bot.kill()
                    window._finish_shutdown()
                    runner.run(asyncio.sleep(0.5))
                except Exception:  # noqa: BLE001 - the original failure matters more
                    log.exception("cleanup after a failure")
            journal.close()
            reporter.uninstall()
    if counter.messages:
        raise ScreenshotError("the app logged errors:\n  " + "\n  ".join(counter.messages[:10]))
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output_dir", type=Path, help="folder for the PNGs (created if missing)")
    parser.add_argument("--seconds", type=float, default=35.0,
                        help="how long the live demo market runs before the shots (default 35)")
    parser.add_argument("--backtest-seconds", type=float, default=300.0,
                        help="simulated seconds of the demo backtest (default 300)")
    args = parser.parse_args(argv)
    if args.seconds < 0 or args.backtest_seconds < 1:
        parser.error("--seconds must be >= 0 and --backtest-seconds >= 1")
    if not os.environ.get("DISPLAY"):
        print("screenshots: no X display (DISPLAY is unset); run it under xvfb-run, e.g.\n"
              '  xvfb-run -a -s "-screen 0 1600x1000x24" python tools/screenshots.py OUT_DIR', file=sys.stderr)
        return 2
    os.environ["QT_QPA_PLATFORM"] = "xcb"  # real X pixels, never the offscreen platform
    sys.path.insert(0, str(REPO_ROOT))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    out_dir = args.output_dir.resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="colibri-screenshots-") as home:
        _isolate_user_config(Path(home))
        try:
            paths = take_screenshots(out_dir, args.seconds, args.backtest_seconds)
        except (ScreenshotError, asyncio.TimeoutError) as exc:
            print(f"screenshots: FAILED: {exc or type(exc).__name__}", file=sys.stderr)
            return 1
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
