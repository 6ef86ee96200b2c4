"""Starts the desktop app: one qasync loop drives both the window and the engine."""
from __future__ import annotations

import asyncio
import gc
import logging
import sys

log = logging.getLogger(__name__)

ORGANISATION = "Colibri"
APPLICATION = "Colibri"


def make_application(argv: list[str] | None = None):
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(argv if argv is not None else sys.argv)
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setQuitOnLastWindowClosed(False)  # the window's close handler decides when to quit
    app.setWindowIcon(app_icon())
    app.setDesktopFileName("colibri")  # Wayland and docks match the window to colibri.desktop's icon
    return app


def app_icon():
    """Colibri's icon at every size drawn (resources/icons, tools/make_icons.py)."""
    from PySide6.QtGui import QIcon

    from app.paths import resources_dir

    icon = QIcon()
    for path in sorted((resources_dir() / "icons").glob("colibri-*.png")):
        icon.addFile(str(path))
    return icon


LOG_FILE = "colibri.log"
LOG_FILE_BYTES = 5_000_000
LOG_FILE_BACKUPS = 3


def log_to_file() -> None:
    """The desktop app's log also goes to log_dir()/colibri.log (rotated: 4 files of 5 MB at
    most): a bundled app on Windows and macOS has no console, and a bug report needs it."""
    from logging.handlers import RotatingFileHandler

    from app.paths import log_dir

    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(folder / LOG_FILE, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILE_BACKUPS,
                                      encoding="utf-8")
    except OSError as exc:
        log.warning("no log file: %s", exc)
        return
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger().addHandler(handler)


async def _run_window(window) -> int:
    from ui.dialogs.recovery import recover_at_start

    closed = asyncio.Event()
    window.shutdown_finished.connect(closed.set)
    window.workspace.start()
    window.show()
    await window.live.connect_saved(window.store)  # live accounts first: recovery asks their venues too
    await recover_at_start(window)  # after an unclean exit: the findings, Resume / Cancel orders
    # Everything built so far lives as long as the app: keep it out of the cyclic GC's
    # full collections, which otherwise cost ~40 ms of frame time every few minutes.
    gc.collect()
    gc.freeze()
    log.info("main window shown on %s", ", ".join(window.workspace.connectors))
    await closed.wait()
    await window.live.close()  # live sockets closed before the event loop ends
    return 0


def _stop_on_signals(window) -> None:
    """SIGINT/SIGTERM stop every bot (cancelling its orders) and quit, without a dialog.

    Python runs signal handlers only when it gets control, so a light timer hands it
    control while Qt idles."""
    import signal

    from PySide6.QtCore import QTimer

    def handler(signum, _frame) -> None:
        log.warning("signal %s: stopping bots and quitting", signum)
        QTimer.singleShot(0, window.shutdown_now)

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, handler)
    window._signal_pump = QTimer(window)
    window._signal_pump.start(200)


def run_app(argv: list[str] | None = None) -> int:
    """Opens the main window on the demo exchange and returns the exit code."""
    import qasync

    from app.interfaces.clock import RealClock
    from app.wiring.workspace import Workspace, build_workspace
    from ui.errors import install_error_hooks
    from ui.main_window import MainWindow

    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if logging.getLogger().level > logging.INFO or logging.getLogger().level == logging.NOTSET:
        logging.getLogger().setLevel(logging.INFO)  # the log panel shows INFO and up
    log_to_file()
    app = make_application(argv)
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        loop = runner.get_loop()
        clock = RealClock(loop)
        journal = _open_journal()
        workspace = build_workspace(clock, journal=journal)
        window = MainWindow(workspace)
        reporter = install_error_hooks(loop, window, window)  # noqa: F841 (kept alive)
        _stop_on_signals(window)
        try:
            code = runner.run(_run_window(window))
        except BaseException:
            if journal is not None:
                journal.close(clean=False)
            raise
    if journal is not None:
        journal.close()  # the clean-stop marker: the bots were stopped and their orders cancelled
    return code


def _open_journal():
    """The workspace's journal (app/paths.py: journal_file()); None (logged) if it cannot be used."""
    from app.engine.journal import JournalError, JournalStore
    from app.paths import journal_file

    path = journal_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStore(path)
    except (JournalError, OSError) as exc:
        log.error("the journal cannot be used, bots run without one: %s", exc)
        return None
