"""`colibri --self-test`: proves an installed Colibri works, as a user would see it.

It opens the real main window on the demo exchange, waits for the first book, starts a bot
from the Bots panel and waits for its first fill (at most SELF_TEST_SECONDS), connects the
rehearsal exchange through ccxt over 127.0.0.1, checks the key store, TLS certificates and
a backtest in a worker process (app/wiring/self_checks.py), then closes the window the way
Quit does (bots stopped, orders cancelled). Every check prints one line; the exit status is
0 when all passed, 1 otherwise. Start-up times are measured from the process's launch.

It runs in a scratch $COLIBRI_HOME, so the user's accounts, journal and layout are never
touched; the real locations are printed, not written.
"""
from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from app.wiring.self_checks import Check, check_certificates, check_keyring, check_worker_backtest

SELF_TEST_SECONDS = 60.0
"""The longest wait for the bot's first fill (the issue's bound)."""
SELF_TEST_STRATEGY = "simple_quoter"
REHEARSAL_WAIT_S = 20.0
REPORT_NAME = "self-test.txt"


def launch_time() -> float:
    """When this process started (epoch seconds): start-up is timed from the launch, not
    from when Python got here."""
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:  # noqa: BLE001 - psutil missing or refused: time from here
        return time.time()


async def wait_for(condition: Callable[[], bool], timeout_s: float, step_s: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step_s)
    return True


def demo_params() -> dict:
    """The built-in demo config's quoting parameters (resources/configs/demo.yaml)."""
    from app.cli import DEMO_CONFIG
    from app.config.bot_config import load_config

    return dict(load_config(str(DEMO_CONFIG)).params)


def _best(feed) -> tuple[int, int]:  # noqa: ANN001 - a MarketFeed
    book = feed.book
    if book is None:
        return 0, 0
    return book.best_bid_ticks, book.best_ask_ticks


class SelfTest:
    """Runs the checks in order and keeps their lines."""

    def __init__(self, launched: float, out: Callable[[str], None]) -> None:
        self.launched = launched
        self.out = out
        self.checks: list[Check] = []

    def add(self, check: Check) -> Check:
        self.checks.append(check)
        self.out(check.line())
        return check

    def since_launch(self) -> float:
        return time.time() - self.launched

    async def window(self, window) -> bool:  # noqa: ANN001 - MainWindow
        from PySide6.QtWidgets import QApplication

        window.workspace.start()
        window.show()
        offscreen = QApplication.platformName() == "offscreen"  # nothing is ever exposed there

        def shown_now() -> bool:
            handle = window.windowHandle()
            return window.isVisible() and (offscreen or (handle is not None and handle.isExposed()))

        shown = await wait_for(shown_now, 10.0)
        platform = QApplication.platformName()
        if not shown:
            return self.add(Check("window", False, f"not shown within 10 s ({platform})")).ok
        return self.add(Check("window", True, f"shown {self.since_launch():.2f} s after launch ({platform}, "
                                              f"{window.width()}x{window.height()})")).ok

    async def first_book(self, workspace) -> bool:  # noqa: ANN001 - Workspace
        feed = workspace.demo.feed(workspace.demo_symbol)
        if not await wait_for(lambda: all(_best(feed)), 15.0):
            return self.add(Check("first book", False, "the demo book had no bid and ask within 15 s")).ok
        bid, ask = _best(feed)
        tick = workspace.demo.instruments[workspace.demo_symbol].tick_size
        return self.add(Check("first book", True, f"{workspace.demo_symbol} on the demo exchange "
                                                  f"{self.since_launch():.2f} s after launch, bid {bid * tick} "
                                                  f"ask {ask * tick}")).ok

    async def bot_fill(self, window) -> bool:  # noqa: ANN001 - MainWindow
        panel = window.bots_panel
        index = panel.strategy.findData(SELF_TEST_STRATEGY)
        if index < 0:
            return self.add(Check("bot", False, f"the Bots panel offers no {SELF_TEST_STRATEGY}")).ok
        panel.strategy.setCurrentIndex(index)
        panel.form.set_values(demo_params())  # the demo config's tight quotes: a fill within seconds
        bot = panel.start_now(SELF_TEST_STRATEGY, "demo")
        if bot is None:
            return self.add(Check("bot", False, panel.message.text())).ok
        started = time.monotonic()
        filled = await wait_for(lambda: bot.status().fills > 0 or bot.failed, SELF_TEST_SECONDS, 0.1)
        status = bot.status()
        if bot.failed:
            return self.add(Check("bot", False, f"{bot.name} failed: {status.error}")).ok
        if not filled:
            return self.add(Check("bot", False, f"{bot.name} had no fill within {SELF_TEST_SECONDS:g} s "
                                                f"({status.open_orders} orders open)")).ok
        return self.add(Check("bot", True, f"{bot.name} ({SELF_TEST_STRATEGY}) filled after "
                                           f"{time.monotonic() - started:.1f} s, PnL {status.pnl_quote:.4f}")).ok

    async def rehearsal(self, workspace, state_dir: Path) -> bool:  # noqa: ANN001 - Workspace
        """The live path: ccxt, its websockets and the local exchange server in one go."""
        from app.wiring.live_accounts import start_rehearsal

        started = time.monotonic()
        try:
            rehearsal = await asyncio.wait_for(start_rehearsal(workspace, state_dir=state_dir), REHEARSAL_WAIT_S)
        except Exception as exc:  # noqa: BLE001 - whatever broke is this check's answer
            return self.add(Check("rehearsal exchange", False, f"{type(exc).__name__}: {exc}")).ok
        try:
            symbol = next(iter(rehearsal.connector.instruments))
            feed = rehearsal.connector.feed(symbol)
            live = await wait_for(lambda: all(_best(feed)) and not feed.is_stale, REHEARSAL_WAIT_S)
        finally:
            await rehearsal.stop()
        if not live:
            return self.add(Check("rehearsal exchange", False, f"no live {symbol} book through ccxt within "
                                                               f"{REHEARSAL_WAIT_S:g} s")).ok
        return self.add(Check("rehearsal exchange", True, f"ccxt connected to {rehearsal.url}, live {symbol} book "
                                                          f"in {time.monotonic() - started:.1f} s")).ok

    async def close(self, window) -> bool:  # noqa: ANN001 - MainWindow
        closed = asyncio.Event()
        window.shutdown_finished.connect(closed.set)
        window.shutdown_now()
        try:
            await asyncio.wait_for(closed.wait(), 30.0)
        except asyncio.TimeoutError:
            return self.add(Check("close", False, "the window did not close within 30 s")).ok
        left = sum(len(bot.open_orders()) for bot in window.workspace.bots.values())
        if left:
            return self.add(Check("close", False, f"{left} orders left open")).ok
        await window.live.close()
        return self.add(Check("close", True, "bots stopped, every order cancelled, window closed")).ok


async def _run(test: SelfTest, scratch: Path) -> None:
    from app.interfaces.clock import RealClock
    from app.wiring.workspace import build_workspace
    from ui.main_window import MainWindow
    from PySide6.QtCore import QSettings

    clock = RealClock(asyncio.get_running_loop())
    workspace = build_workspace(clock)
    settings = QSettings(str(scratch / "layout.ini"), QSettings.Format.IniFormat)
    window = MainWindow(workspace, settings=settings)
    if await test.window(window) and await test.first_book(workspace):
        await test.bot_fill(window)
        await test.rehearsal(workspace, scratch / "rehearsal")
    loop = asyncio.get_running_loop()
    test.add(check_keyring())
    test.add(check_certificates())
    from app.cli import DEMO_CONFIG

    test.add(await loop.run_in_executor(None, check_worker_backtest, str(DEMO_CONFIG)))
    await test.close(window)


def run_self_test() -> int:
    """Prints each check and writes them to the log folder's self-test.txt (a bundled app
    on Windows has no console). 0 when every check passed."""
    import qasync

    from app.paths import is_bundled, locations
    from app.version import __version__
    from ui.app import make_application

    launched = launch_time()
    places = locations()  # the user's, before the scratch home replaces them
    lines: list[str] = []

    def out(line: str) -> None:
        lines.append(line)
        print(line, flush=True)

    from PySide6 import __version__ as pyside_version

    where = f"bundled in {Path(sys.executable).parent}" if is_bundled() else f"from source, {sys.executable}"
    out(f"Colibri {__version__} self-test ({where}; Python {sys.version.split()[0]}, PySide6 {pyside_version})")
    for label, path in places.rows():
        out(f"     {label}: {path}")
    test = SelfTest(launched, out)
    home_before = os.environ.get("COLIBRI_HOME")
    try:
        # ignore_cleanup_errors: on Windows a file still held open must not cost the report.
        with tempfile.TemporaryDirectory(prefix="colibri-self-test-", ignore_cleanup_errors=True) as scratch:
            os.environ["COLIBRI_HOME"] = scratch  # accounts, journal, strategy folder: the scratch ones
            _quiet_offscreen_notes()
            app = make_application([sys.argv[0]])
            with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
                runner.run(_run(test, Path(scratch)))
    except Exception as exc:  # noqa: BLE001 - reported as a failed check, never a traceback or a dialog
        test.add(Check("self-test", False, f"{type(exc).__name__}: {exc}"))
    finally:
        if home_before is None:
            os.environ.pop("COLIBRI_HOME", None)
        else:
            os.environ["COLIBRI_HOME"] = home_before
        failed = [check.name for check in test.checks if not check.ok]
        out(f"self-test {'FAILED: ' + ', '.join(failed) if failed else 'passed'} ({len(test.checks)} checks, "
            f"{time.time() - launched:.1f} s)")
        _keep_report(places.logs, lines)
    return 1 if failed else 0


def _quiet_offscreen_notes() -> None:
    """The offscreen platform says it cannot size windows each time a dock moves: true, and
    noise in a report meant to be read. Every other Qt message still goes to stderr."""
    from PySide6.QtCore import qInstallMessageHandler

    def handler(_kind, _context, message: str) -> None:
        if "does not support propagateSizeHints" not in message:
            print(message, file=sys.stderr)

    qInstallMessageHandler(handler)


def _keep_report(folder: Path, lines: list[str]) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / REPORT_NAME).write_text("\n".join(lines) + "\n", encoding="utf-8")
    except OSError as exc:
        print(f"warning: the self-test report was not written to {folder}: {exc}", file=sys.stderr)
