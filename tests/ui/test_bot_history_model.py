"""The bot history table and its loader (a worker thread on its own read-only connection)."""
from __future__ import annotations

from decimal import Decimal

from PySide6.QtCore import Qt

from app.engine.journal import JournalStore
from app.engine.journal.history import BotSummary
from tests.test_journal import _life
from ui.models.bot_history_model import BotHistoryModel, HistoryLoader


def summary(name: str, state: str = "stopped", fills: int = 3, pnl: str = "1.5") -> BotSummary:
    return BotSummary(name, "simple_quoter", "demo", "BTC/USDT", state, 1_700_000_000 * 10**9,
                      1_700_000_100 * 10**9, 7, fills, Decimal(pnl), "USDT", Decimal("100"), Decimal("1.25"))


def test_rows_are_applied_as_batches_and_marked_as_history(qtmodeltester):
    model = BotHistoryModel()
    qtmodeltester.check(model)
    changes = []
    model.dataChanged.connect(lambda a, b, _r=None: changes.append((a.row(), b.row())))
    assert model.set_summaries([summary("a"), summary("b", state="running")], running={"b"})
    state = model.COLUMNS.index("State")
    assert [model.index(r, state).data() for r in range(2)] == ["history: stopped", "running (this run)"]
    assert model.is_history("a") and not model.is_history("b")
    assert model.index(0, state).data(Qt.ItemDataRole.ForegroundRole) is not None
    assert model.index(1, state).data(Qt.ItemDataRole.ForegroundRole) is None
    assert not model.set_summaries([summary("a"), summary("b", state="running")], running={"b"})  # nothing new
    assert model.set_summaries([summary("a", fills=4)], running=set())  # b's row goes, a's changes
    assert model.rowCount() == 1 and changes == [(0, 0)]
    assert model.index(0, model.COLUMNS.index("PnL at stop")).data() == "1.25"


def test_the_loader_reads_in_a_thread_and_coalesces_requests(qtbot, tmp_path, monkeypatch):
    import threading

    import ui.models.bot_history_model as module

    path = tmp_path / "j.sqlite"
    store = JournalStore(path)
    _life(store, "h")
    gate, reads, threads = threading.Event(), [], []
    real = module.load_summaries

    def slow_read(*args):
        threads.append(threading.current_thread().name)
        gate.wait(10)  # a long read: the requests below arrive while it runs
        reads.append(1)
        return real(*args)

    monkeypatch.setattr(module, "load_summaries", slow_read)
    results = []
    loader = HistoryLoader(str(path), dict)
    loader.loaded.connect(results.append)
    for _ in range(5):
        loader.request()
    gate.set()
    qtbot.waitUntil(lambda: len(results) == 2 and not loader._running, timeout=10_000)
    assert len(reads) == 2  # five requests during one read: one more read, not four
    assert set(threads) == {"bot-history"}  # never on the GUI thread
    assert [s.name for s in results[-1]] == ["h"] and results[-1][0].fills == 1
    store.close()


def test_markets_valued_in_another_asset_are_named_next_to_the_pnl():
    from dataclasses import replace

    from ui.models import EXACT_ROLE

    model = BotHistoryModel()
    model.set_summaries([replace(summary("x"), other_assets=("EUR",))], running=set())
    pnl = model.index(0, model.COLUMNS.index("PnL"))
    assert pnl.data() == "1.5 (without its EUR markets)" and pnl.data(EXACT_ROLE) == "1.5"
