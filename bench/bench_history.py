"""The Bot history panel's read of a big journal, and what it costs the GUI loop meanwhile.

A journal with one bot and N fills (inserted in one transaction) is read by the window's
HistoryLoader (a worker thread, its own read-only connection) while a 5 ms QTimer runs on
the GUI thread; the figures are the load time and the timer's median and largest gap (the
worker shares the GIL: the gap shows how much of it the GUI still gets).

    .venv/bin/python -m bench.bench_history [FILLS]     (or: python -m bench history)
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_FILLS = 100_000
TICK_MS = 5


def _journal(path: Path, fills: int) -> None:
    from app.engine.journal import JournalStore

    store = JournalStore(path)
    db = store._conn
    db.execute("BEGIN")
    db.execute("INSERT INTO bots (name, tag, account, epoch, symbol, strategy, params, state, session, started_ns) "
               "VALUES ('b', 't', 'demo', 'e', 'BTC/USDT', 'simple_quoter', '{}', 'stopped', ?, 1)", (store.session,))
    db.executemany(
        "INSERT INTO fills (account, epoch, symbol, trade_id, client_order_id, bot, side, price, amount, fee, "
        "fee_asset, maker, ts_ns, wall_ns) VALUES ('demo', 'e', 'BTC/USDT', ?, ?, 'b', ?, ?, '0.01', '0.0006', "
        "'USDT', 1, ?, ?)",
        [(str(i), f"c{i // 2}", "buy" if i % 2 else "sell", f"{60000 + (i % 100) / 100:.2f}", i, i)
         for i in range(fills)])
    db.execute("COMMIT")
    store.close()


def main(fills: int = DEFAULT_FILLS) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from ui.models.bot_history_model import HistoryLoader

    app = QApplication.instance() or QApplication([])
    with tempfile.TemporaryDirectory(prefix="colibri-bench-history-") as folder:
        path = Path(folder) / "journal.sqlite"
        _journal(path, fills)
        gaps: list[float] = []
        last = [time.perf_counter()]

        def tick() -> None:
            now = time.perf_counter()
            gaps.append(now - last[0])
            last[0] = now

        timer = QTimer()
        timer.setInterval(TICK_MS)
        timer.timeout.connect(tick)
        done: list[float] = []
        loader = HistoryLoader(str(path), dict)
        loader.loaded.connect(lambda _rows: (done.append(time.perf_counter()), app.quit()))
        start = time.perf_counter()
        timer.start()
        QTimer.singleShot(0, loader.request)
        app.exec()
        timer.stop()
    gaps.sort()
    result = {"fills": fills, "load_s": round(done[0] - start, 3),
              "gui_median_gap_ms": round(gaps[len(gaps) // 2] * 1e3, 1), "gui_max_gap_ms": round(gaps[-1] * 1e3, 1),
              "gui_ticks": len(gaps)}
    print(f"{fills} fills: read in {result['load_s']} s in the worker; GUI timer ({TICK_MS} ms): "
          f"median gap {result['gui_median_gap_ms']} ms, largest {result['gui_max_gap_ms']} ms")
    return result


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_FILLS)
