"""Uncaught exceptions in slots, timers, threads and asyncio: logged, shown once, app alive."""
from __future__ import annotations

import asyncio
import logging
import sys
import threading

import pytest
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QApplication

from ui.errors import ErrorDialog, ErrorReporter, signature

pytestmark = pytest.mark.qt_no_exception_capture  # the hooks under test take that role


@pytest.fixture
def reporter(qtbot):
    rep = ErrorReporter(max_open=3, max_per_minute=5)
    rep.install()
    yield rep
    rep.uninstall()
    rep.close_all()


class Boom(QObject):
    fire = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.fire.connect(self.explode)

    def explode(self) -> None:
        raise ValueError("slot exploded")


def test_exception_in_timer_callback_shows_one_dialog_and_app_lives(qtbot, reporter, caplog):
    def explode() -> None:
        raise RuntimeError("timer callback failed")

    alive = []
    with caplog.at_level(logging.ERROR, logger="colibri.errors"):
        with qtbot.waitSignal(reporter.dialog_opened, timeout=3000) as opened:
            QTimer.singleShot(0, explode)
        QTimer.singleShot(10, lambda: alive.append(True))
        qtbot.waitUntil(lambda: alive == [True], timeout=3000)
    dialog = opened.args[0]
    assert isinstance(dialog, ErrorDialog) and dialog.isVisible() and not dialog.isModal()
    assert "timer callback failed" in dialog.details.toPlainText()
    assert "Traceback" in dialog.details.toPlainText()
    assert reporter.open_dialogs() == [dialog]
    assert any("timer callback failed" in r.getMessage() and "Traceback" in r.getMessage() for r in caplog.records)


def test_exception_in_slot_and_copy_button(qtbot, reporter):
    boom = Boom()
    with qtbot.waitSignal(reporter.dialog_opened, timeout=3000) as opened:
        QTimer.singleShot(0, boom.fire.emit)
    dialog = opened.args[0]
    dialog.copy_button.click()
    assert "slot exploded" in QApplication.clipboard().text()
    dialog.close()
    qtbot.waitUntil(lambda: reporter.open_dialogs() == [], timeout=2000)


def test_exception_storm_opens_few_dialogs(qtbot, reporter, caplog):
    def same() -> None:
        raise KeyError("again")

    for _ in range(1000):
        QTimer.singleShot(0, same)
    qtbot.waitUntil(lambda: reporter.reported == 1000, timeout=10_000)
    qtbot.waitUntil(lambda: reporter.open_dialogs() and reporter.open_dialogs()[0].count == 1000, timeout=5000)
    assert len(reporter.open_dialogs()) == 1, "the same error bumps a counter, not a new window"
    assert "1000 times" in reporter.open_dialogs()[0].repeats.text()
    tracebacks = [r for r in caplog.records if r.name == "colibri.errors" and "Traceback" in r.getMessage()]
    assert len(tracebacks) == 1, "repeats are logged as one line"

    def make(i: int):
        def raise_distinct() -> None:
            exec(compile(f"raise ValueError({i})", f"<generated {i}>", "exec"))  # a distinct place each

        return raise_distinct

    for i in range(50):
        QTimer.singleShot(0, make(i))
    qtbot.waitUntil(lambda: reporter.reported == 1050, timeout=5000)
    qtbot.wait(50)
    assert len(reporter.open_dialogs()) == 3, "capped at max_open"
    assert reporter.suppressed == 48


def test_exception_in_thread_reaches_gui_thread(qtbot, reporter):
    def worker() -> None:
        raise ConnectionError("websocket thread died")

    with qtbot.waitSignal(reporter.dialog_opened, timeout=3000) as opened:
        thread = threading.Thread(target=worker, name="ws-reader")
        thread.start()
        thread.join()
    assert "thread ws-reader" in opened.args[0].summary.text()


def test_asyncio_loop_exception_handler(qtbot, reporter, caplog):
    loop = asyncio.new_event_loop()
    try:
        reporter.install(loop)

        def bad_callback() -> None:
            raise ArithmeticError("task math")

        async def bad_task() -> None:
            raise LookupError("never awaited task")

        with qtbot.waitSignal(reporter.dialog_opened, timeout=3000) as opened:
            loop.call_soon(bad_callback)
            loop.run_until_complete(asyncio.sleep(0.01))
        assert "task math" in opened.args[0].details.toPlainText()
        with caplog.at_level(logging.WARNING, logger="colibri.errors"):
            loop.call_exception_handler({"message": "Unclosed client session"})
        assert any("Unclosed client session" in r.getMessage() for r in caplog.records)
        assert len(reporter.open_dialogs()) == 1, "messages without an exception open no dialog"
        reporter.uninstall()
        assert loop.get_exception_handler() is None
    finally:
        loop.close()


def test_uninstall_restores_hooks():
    before = (sys.excepthook, threading.excepthook)
    rep = ErrorReporter()
    rep.install()
    assert sys.excepthook == rep._sys_hook
    rep.uninstall()
    assert (sys.excepthook, threading.excepthook) == before


def test_keyboard_interrupt_is_not_a_dialog(qtbot, reporter, monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "__excepthook__", lambda *a: seen.append(a[0]))
    reporter._sys_hook(KeyboardInterrupt, KeyboardInterrupt(), None)
    assert seen == [KeyboardInterrupt] and reporter.reported == 0


def test_signature_ignores_message_but_not_place():
    def fail(msg: str):
        try:
            raise ValueError(msg)
        except ValueError as exc:
            return exc

    a, b = fail("order 1"), fail("order 2")
    assert signature(ValueError, a.__traceback__) == signature(ValueError, b.__traceback__)
    assert signature(ValueError, None, "x") != signature(ValueError, None, "y")
