"""Log dock (bounded buffer, thread-safe handler, filters) and the exchange health dock."""
from __future__ import annotations

import logging
import threading

import pytest

from app.domain import ConnectionState

from tests.ui.shell_fakes import FakeConnector, HealthyConnector
from ui.docks.health_dock import UNKNOWN, HealthDock, HealthModel
from ui.docks.log_dock import LogBuffer, LogDock, install


@pytest.fixture
def logger():
    log = logging.getLogger("colibri.test.logdock")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for handler in list(log.handlers):
        log.removeHandler(handler)


def test_buffer_is_bounded_and_thread_safe(logger):
    buffer = install(logger, capacity=100)

    def spam(n: int) -> None:
        for i in range(500):
            logger.info("thread %d line %d", n, i)

    threads = [threading.Thread(target=spam, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = buffer.since(0)
    assert len(lines) == 100 and buffer.last_seq == 2000
    assert [line.seq for line in lines] == list(range(1901, 2001))
    assert buffer.since(1990) == lines[-10:]


def test_dock_shows_new_lines_and_filters(qtbot, logger):
    buffer = install(logger)
    dock = LogDock(buffer)
    qtbot.addWidget(dock)
    logger.debug("debug detail")
    logger.info("order placed")
    logger.warning("book stale on BTC/USDT")
    assert dock.text() == "", "nothing is drawn before the timer (or show) refreshes"
    dock.show()
    qtbot.waitExposed(dock)
    text = dock.text()
    assert "order placed" in text and "book stale" in text and "debug detail" not in text

    dock.set_min_level(logging.WARNING)
    assert "order placed" not in dock.text() and "book stale" in dock.text()
    dock.set_min_level(logging.DEBUG)
    dock.filter_edit.setText("DETAIL")
    assert dock.text().count("\n") == 0 and "debug detail" in dock.text()
    dock.filter_edit.clear()

    logger.error("from the timer")
    qtbot.waitUntil(lambda: "from the timer" in dock.text(), timeout=2000)
    assert dock.refresh() == 0, "no new records: nothing redrawn"

    dock.clear()
    assert dock.text() == "" and buffer.since(0) == []
    logger.info("after clear")
    assert dock.refresh() == 1 and dock.text() == dock.text().strip() and "after clear" in dock.text()


def test_dock_view_is_bounded(qtbot, logger):
    buffer = install(logger, capacity=1000)
    dock = LogDock(buffer, max_lines=50)
    qtbot.addWidget(dock)
    for i in range(300):
        logger.info("line %d", i)
    dock.refresh()
    assert dock.view.blockCount() == 50
    assert "line 299" in dock.text() and "line 249" not in dock.text()


def test_dock_stops_refreshing_when_hidden(qtbot, logger):
    dock = LogDock(install(logger))
    qtbot.addWidget(dock)
    dock.show()
    assert dock._timer.isActive()
    dock.hide()
    assert not dock._timer.isActive()


def test_handler_survives_bad_format(monkeypatch):
    monkeypatch.setattr(logging, "raiseExceptions", False)  # as in a release build
    buffer = LogBuffer()
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d", ("not a number",), None)
    buffer.handle(record)  # formatting error: reported by logging, never raised
    assert buffer.since(0) == []
    buffer.handle(logging.LogRecord("x", logging.INFO, __file__, 1, "fine", (), None))
    assert [line.text.endswith("fine") for line in buffer.since(0)] == [True]


# -- health -------------------------------------------------------------------------------
def test_health_model_stale_books_and_health_dict(qtmodeltester):
    model = HealthModel()
    qtmodeltester.check(model)
    plain, live = FakeConnector("demo"), HealthyConnector("binance")
    model.add_connection("demo", plain)
    model.add_connection("binance", live)
    with pytest.raises(ValueError):
        model.add_connection("demo", plain)
    assert model.refresh() is True
    col = model.COLUMNS.index

    def cell(name: str, column: str) -> str:
        return model.data(model.index(model.row_of(name), col(column)))

    assert cell("demo", "State") == "down" and cell("demo", "Latency (ms)") == UNKNOWN
    assert cell("binance", "State") == "connected" and cell("binance", "Latency (ms)") == "42.5"
    assert cell("binance", "Reconnects") == "1" and cell("binance", "Rate limit") == "80%"

    plain._set_connection(ConnectionState.LIVE)
    model.refresh()
    assert cell("demo", "State") == "live"
    plain.stale("BTC/USDT", "sequence gap")
    model.refresh()
    assert cell("demo", "Stale books") == "BTC/USDT (sequence gap)"
    assert cell("demo", "State") == "books stale"
    assert model.data(model.index(model.row_of("demo"), col("Stale books")), 9) is not None  # foreground
    plain.resynced("BTC/USDT")
    model.refresh()
    assert cell("demo", "Stale books") == "" and model.stale_symbols("demo") == []

    changes = []
    model.dataChanged.connect(lambda a, b, _r=None: changes.append(a.row()))
    live.report["latency_ms"] = 120.0
    live.report["weight_used"] = 300
    model.refresh()
    assert changes == [model.row_of("binance")], "only the changed row is signalled"
    assert "weight_used: 300" in model.data(model.index(model.row_of("binance"), 0), 3)  # tooltip

    model.remove_connection("demo")
    plain.stale()
    model.refresh()
    assert model.connections() == ["binance"] and model.rowCount() == 1


def test_health_model_survives_failing_health(qtmodeltester):
    class Broken(FakeConnector):
        def health(self):
            raise ConnectionError("socket closed")

    model = HealthModel()
    qtmodeltester.check(model)
    model.add_connection("x", Broken("x"))
    model.refresh()
    assert model.data(model.index(0, 1)) == "health unavailable"


def test_health_dock_polls_while_visible(qtbot):
    dock = HealthDock()
    qtbot.addWidget(dock)
    live = HealthyConnector("binance")
    dock.model.add_connection("binance", live)
    dock.show()
    assert dock.model.rowCount() == 1
    live.report["state"] = "reconnecting"
    qtbot.waitUntil(lambda: dock.model.data(dock.model.index(0, 1)) == "reconnecting", timeout=3000)
    dock.hide()
    assert not dock._timer.isActive()
