"""Starts the desktop app: one qasync loop drives both the window and the engine."""
from __future__ import annotations

import asyncio
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
    return app


async def _run_window(window) -> int:
    closed = asyncio.Event()
    window.shutdown_finished.connect(closed.set)
    window.workspace.start()
    window.show()
    await closed.wait()
    return 0


def run_app(argv: list[str] | None = None) -> int:
    """Opens the main window on the demo exchange and returns the exit code."""
    import qasync

    from app.engine.clock import RealClock
    from app.workspace import Workspace
    from ui.errors import install_error_hooks
    from ui.main_window import MainWindow

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = make_application(argv)
    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        loop = runner.get_loop()
        clock = RealClock(loop)
        workspace = Workspace(clock)
        window = MainWindow(workspace)
        reporter = install_error_hooks(loop, window, window)  # noqa: F841 (kept alive)
        code = runner.run(_run_window(window))
    return code
