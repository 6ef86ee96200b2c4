"""The local exchange's state on disk (sqlite3, WAL): balances, orders, own trades, counters.

The exchange outlives its clients, and with a state directory also its own restarts:
balances and open orders come back (resting orders re-enter the book), order and trade
ids keep counting, the market restarts near its last price. Every change is written when
it happens (one small transaction each; WAL with synchronous=NORMAL keeps that cheap).
"""
from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path

FILE_NAME = "exchange.sqlite3"
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS balances (asset TEXT PRIMARY KEY, total TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    order_id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL, open INTEGER NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS orders_open ON orders (open);
CREATE TABLE IF NOT EXISTS trades (id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL, data TEXT NOT NULL);
"""


class StateStore:
    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / FILE_NAME
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    # -- reading ------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta"))

    def balances(self) -> dict[str, Decimal]:
        return {asset: Decimal(total) for asset, total in self._db.execute("SELECT asset, total FROM balances")}

    def orders(self, recent_done: int = 10_000) -> list[dict]:
        """Open orders and the most recent finished ones, oldest first."""
        rows = self._db.execute(
            "SELECT data FROM orders WHERE open = 1 UNION "
            "SELECT data FROM (SELECT data, order_id FROM orders WHERE open = 0 ORDER BY order_id DESC LIMIT ?)",
            (recent_done,)).fetchall()
        return sorted((json.loads(row[0]) for row in rows), key=lambda d: d["order_id"])

    def trades(self, recent: int = 100_000) -> list[dict]:
        rows = self._db.execute("SELECT data FROM trades ORDER BY id DESC LIMIT ?", (recent,)).fetchall()
        return [json.loads(row[0]) for row in reversed(rows)]

    # -- writing ------------------------------------------------------------------------
    def set_meta(self, values: dict[str, object]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                             [(k, str(v)) for k, v in values.items()])

    def save_balances(self, totals: dict[str, Decimal]) -> None:
        self._db.executemany("INSERT OR REPLACE INTO balances (asset, total) VALUES (?, ?)",
                             [(asset, str(total)) for asset, total in totals.items()])

    def save_order(self, data: dict, is_open: bool) -> None:
        self._db.execute("INSERT OR REPLACE INTO orders (order_id, client_order_id, open, data) VALUES (?, ?, ?, ?)",
                         (data["order_id"], data["client_order_id"], int(is_open), json.dumps(data)))

    def delete_order(self, order_id: int) -> None:
        self._db.execute("DELETE FROM orders WHERE order_id = ?", (order_id,))

    def save_trade(self, data: dict) -> None:
        self._db.execute("INSERT OR REPLACE INTO trades (id, order_id, data) VALUES (?, ?, ?)",
                         (data["id"], data["orderId"], json.dumps(data)))

    def close(self) -> None:
        self._db.close()
