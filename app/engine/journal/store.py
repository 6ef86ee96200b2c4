"""The journal store: one SQLite file per workspace, written one transaction per record.

`JournalStore(path)` opens (or creates) the file and starts a session row; `close()`
writes the clean-stop marker. Bots write through `store.for_bot(...)`, a `BotJournal`
whose one method `write(kind, ts_ns, **fields)` records an audit record and, in the same
transaction, what it means for the tables (an order's state, a fill, a bot's start and
stop with its balances). Queries (`orders`, `fills`, `bots`, `history`, `records`) serve
recovery, the desktop tables and the export.
"""
from __future__ import annotations

import itertools
import json
import os
import sqlite3
import time
import weakref
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from app.domain import Fill, Instrument, Order, OrderStatus, OrderType, Side
from app.domain.order import SESSION_ID, bot_tag
from app.engine.journal.schema import FINAL_STATUSES, connect

if TYPE_CHECKING:
    from app.engine.pnl import PnlTracker
    from app.interfaces.venue import Connector


_epochs: "weakref.WeakKeyDictionary[Connector, str]" = weakref.WeakKeyDictionary()
_epoch_numbers = itertools.count(1)


def account_epoch(connector: "Connector") -> str:
    """'' for a venue whose orders and trade ids outlive this process; for an in-process
    venue (demo, paper), whose trade ids start again with every instance, this session's
    id and the instance's number ("3lzwu38d.1")."""
    if connector.keeps_orders_across_restarts:
        return ""
    epoch = _epochs.get(connector)
    if epoch is None:
        epoch = _epochs[connector] = f"{SESSION_ID}.{next(_epoch_numbers)}"
    return epoch


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    session_id: str
    pid: int
    started_ns: int
    stopped_ns: int | None
    clean: bool
    recovered_ns: int | None


@dataclass(frozen=True, slots=True)
class JournaledBot:
    name: str
    tag: str
    account: str
    epoch: str
    symbol: str
    strategy: str | None
    params: dict[str, str]
    state: str
    session: int
    started_ns: int | None
    stopped_ns: int | None


@dataclass(frozen=True, slots=True)
class JournaledOrder:
    client_order_id: str
    bot: str
    account: str
    epoch: str
    symbol: str
    side: Side | None
    type: OrderType | None
    price: Decimal | None
    amount: Decimal | None
    filled: Decimal
    status: OrderStatus
    reason: str
    exchange_order_id: str | None
    session: int
    created_ns: int
    updated_ns: int

    def to_order(self, instrument: Instrument) -> Order:
        """The domain order (ticks and lots of `instrument`), e.g. for the orders table."""
        order = Order(self.client_order_id, self.symbol, self.side or Side.BUY, self.type or OrderType.LIMIT,
                      instrument.price_to_ticks(self.price) if self.price else 0,
                      instrument.amount_to_lots(self.amount) if self.amount else 0, self.created_ns,
                      status=self.status, reason=self.reason, updated_ns=self.updated_ns,
                      exchange_order_id=self.exchange_order_id)
        order.filled_lots = instrument.amount_to_lots(self.filled) if self.filled else 0
        return order


@dataclass(frozen=True, slots=True)
class JournaledFill:
    account: str
    bot: str
    fill: Fill


@dataclass(frozen=True, slots=True)
class BotHistory:
    """A bot's history across restarts: orders and fills counted, PnL from every fill."""

    bot: JournaledBot
    orders: int
    fills: int
    pnl: "PnlTracker"
    last_price: Decimal | None

    @property
    def pnl_at_last_price(self) -> Decimal:
        return self.pnl.pnl(self.last_price) if self.last_price is not None else Decimal(0)


class JournalStore:
    """See the module docstring. One process writes a journal at a time."""

    def __init__(self, path: str | Path, *, read_only: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.read_only = read_only
        self._db: sqlite3.Connection | None = connect(self.path, read_only=read_only)
        self.session = 0
        if not read_only:
            with self._tx() as db:
                self.session = db.execute(
                    "INSERT INTO sessions (session_id, pid, started_ns) VALUES (?, ?, ?)",
                    (SESSION_ID, os.getpid(), time.time_ns())).lastrowid

    # -- life cycle ---------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._db is None

    def close(self, *, clean: bool = True) -> None:
        """Writes the clean-stop marker (unless `clean` is False) and closes the file."""
        if self._db is None:
            return
        if not self.read_only and clean:
            with self._tx() as db:
                db.execute("UPDATE sessions SET stopped_ns = ?, clean = 1 WHERE id = ?", (time.time_ns(), self.session))
        if not self.read_only:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()
        self._db = None

    def __enter__(self) -> "JournalStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One transaction; committed (and, synchronous=FULL, fsynced) when the block ends."""
        db = self._conn
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise ValueError(f"{self.path}: the journal is closed")
        return self._db

    # -- sessions -----------------------------------------------------------------------------
    def sessions(self) -> list[SessionInfo]:
        rows = self._conn.execute("SELECT id, session_id, pid, started_ns, stopped_ns, clean, recovered_ns "
                                  "FROM sessions ORDER BY id").fetchall()
        return [SessionInfo(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6]) for r in rows]

    def unclean_sessions(self) -> list[SessionInfo]:
        """Earlier sessions that ended without their clean-stop marker and were not recovered."""
        return [s for s in self.sessions() if s.id != self.session and not s.clean and s.recovered_ns is None]

    def mark_recovered(self, sessions: list[SessionInfo], summary: str) -> None:
        now = time.time_ns()
        with self._tx() as db:
            db.executemany("UPDATE sessions SET recovered_ns = ? WHERE id = ?", [(now, s.id) for s in sessions])
            self._record(db, "recovery", None, None, {"sessions": [s.session_id for s in sessions],
                                                      "summary": summary})

    # -- writing --------------------------------------------------------------------------------
    def for_bot(self, name: str, connector: "Connector", symbol: str) -> "BotJournal":
        """The journal a bot writes to. The bot's row is written by its `start` record (so
        building a bot never hides the row of its crashed predecessor before recovery)."""
        return BotJournal(self, name, connector.name, account_epoch(connector), symbol)

    def _record(self, db: sqlite3.Connection, kind: str, bot: str | None, ts_ns: int | None,
                fields: dict[str, Any], wall_ns: int | None = None) -> None:
        db.execute("INSERT INTO records (session, wall_ns, ts_ns, bot, kind, data) VALUES (?, ?, ?, ?, ?, ?)",
                   (self.session, wall_ns or time.time_ns(), ts_ns, bot, kind,
                    json.dumps(fields, default=str, separators=(",", ":"))))

    def _order_change(self, db: sqlite3.Connection, bot: str, account: str, epoch: str, symbol: str,
                      fields: dict[str, Any], ts_ns: int, wall_ns: int, source: str) -> None:
        cid = fields["id"]
        status = fields["status"]
        db.execute(
            "INSERT INTO orders (client_order_id, bot, account, epoch, symbol, side, type, price, amount, filled, "
            "status, reason, exchange_order_id, session, created_ns, updated_ns) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT(client_order_id) DO UPDATE SET status = excluded.status, "
            "filled = COALESCE(?, filled), reason = CASE WHEN excluded.reason != '' THEN excluded.reason "
            "ELSE reason END, side = COALESCE(side, excluded.side), type = COALESCE(type, excluded.type), "
            "price = COALESCE(price, excluded.price), amount = COALESCE(amount, excluded.amount), "
            "exchange_order_id = COALESCE(excluded.exchange_order_id, exchange_order_id), "
            "updated_ns = excluded.updated_ns",
            (cid, bot, account, epoch, fields.get("symbol") or symbol, fields.get("side"), fields.get("type"),
             fields.get("price"), fields.get("amount"), fields.get("filled") or "0", status,
             fields.get("reason") or "", fields.get("exchange_order_id"), self.session, ts_ns, ts_ns,
             fields.get("filled")))
        db.execute("INSERT INTO order_events (client_order_id, status, filled, reason, ts_ns, wall_ns, source) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)",
                   (cid, status, fields.get("filled"), fields.get("reason") or "", ts_ns, wall_ns, source))

    def record_order(self, order: JournaledOrder, *, status: OrderStatus, filled: Decimal | None, reason: str,
                     source: str = "recovery", ts_ns: int | None = None) -> None:
        """A state found for a journaled order outside its bot (recovery): the order row,
        its event and an `order` record, in one transaction."""
        now = time.time_ns()
        fields: dict[str, Any] = {"id": order.client_order_id, "status": status.value, "symbol": order.symbol}
        if order.side is not None:
            fields.update(side=order.side.value, type=order.type.value if order.type else None,
                          price=str(order.price), amount=str(order.amount))
        if filled is not None:
            fields["filled"] = str(filled)
        fields["reason"] = reason
        fields[source] = True
        with self._tx() as db:
            self._order_change(db, order.bot, order.account, order.epoch, order.symbol, fields, ts_ns or now,
                               now, source)
            self._record(db, "order", order.bot, ts_ns or now, fields, now)

    def record_found_order(self, bot: str, account: str, epoch: str, order: Order, instrument: Instrument | None,
                           reason: str) -> None:
        """An order found open on the venue with one of our bots' tags but not in the journal."""
        now = time.time_ns()
        conv = (lambda t: str(instrument.ticks_to_price(t))) if instrument else str
        lots = (lambda n: str(instrument.lots_to_amount(n))) if instrument else str
        fields = {"id": order.client_order_id, "status": order.status.value, "symbol": order.symbol,
                  "side": order.side.value, "type": order.type.value, "price": conv(order.price_ticks),
                  "amount": lots(order.amount_lots), "filled": lots(order.filled_lots), "reason": reason,
                  "exchange_order_id": order.exchange_order_id, "recovery": True}
        with self._tx() as db:
            self._order_change(db, bot, account, epoch, order.symbol, fields, now, now, "recovery")
            self._record(db, "order", bot, now, fields, now)

    def record_fill(self, bot: str, account: str, epoch: str, fill: Fill, ts_ns: int | None = None,
                    extra: dict[str, Any] | None = None, *, order: tuple[str, str] | None = None) -> bool:
        """Stores a fill once per (account, epoch, symbol, trade id); False if it was known.
        `order`: the order's (status, filled amount) after this fill, written with it."""
        now = time.time_ns()
        with self._tx() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO fills (account, epoch, symbol, trade_id, client_order_id, bot, side, price, "
                "amount, fee, fee_asset, maker, ts_ns, wall_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (account, epoch, fill.symbol, fill.trade_id, fill.client_order_id, bot, fill.side.value,
                 str(fill.price), str(fill.amount), str(fill.fee), fill.fee_asset, int(fill.is_maker), fill.ts_ns,
                 now))
            if cursor.rowcount == 0:
                return False
            fields = {"id": fill.client_order_id, "trade_id": fill.trade_id, "side": fill.side.value,
                      "price": str(fill.price), "amount": str(fill.amount), "fee": str(fill.fee),
                      "fee_asset": fill.fee_asset, "maker": fill.is_maker, **(extra or {})}
            self._record(db, "fill", bot, ts_ns if ts_ns is not None else fill.ts_ns, fields, now)
            if order is not None:
                status, filled = order
                db.execute("UPDATE orders SET status = ?, filled = ?, updated_ns = ? WHERE client_order_id = ?",
                           (status, filled, fill.ts_ns, fill.client_order_id))
                db.execute("INSERT INTO order_events (client_order_id, status, filled, reason, ts_ns, wall_ns, "
                           "source) SELECT ?, ?, ?, '', ?, ?, 'fill' WHERE EXISTS "
                           "(SELECT 1 FROM orders WHERE client_order_id = ?)",
                           (fill.client_order_id, status, filled, fill.ts_ns, now, fill.client_order_id))
        return True

    def record_balances(self, account: str, balances: dict[str, Any], reason: str, *, bot: str | None = None,
                        ts_ns: int | None = None) -> None:
        now = time.time_ns()
        with self._tx() as db:
            self._balances(db, account, bot, balances, reason, ts_ns or now, now)

    @staticmethod
    def _balances(db: sqlite3.Connection, account: str, bot: str | None, balances: dict[str, Any], reason: str,
                  ts_ns: int, wall_ns: int) -> None:
        rows = []
        for asset, value in balances.items():
            total = getattr(value, "total", value)
            locked = getattr(value, "locked", None)
            rows.append((account, bot, asset, str(total), None if locked is None else str(locked), reason, ts_ns,
                         wall_ns))
        db.executemany("INSERT INTO balances (account, bot, asset, total, locked, reason, ts_ns, wall_ns) "
                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def set_bot_state(self, name: str, state: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE bots SET state = ? WHERE name = ?", (state, name))

    # -- queries -----------------------------------------------------------------------------------
    _ORDER_COLUMNS = ("client_order_id, bot, account, epoch, symbol, side, type, price, amount, filled, status, "
                      "reason, exchange_order_id, session, created_ns, updated_ns")

    def orders(self, *, bot: str | None = None, account: str | None = None, open_only: bool = False,
               limit: int | None = None) -> list[JournaledOrder]:
        """Journaled orders, oldest first (the newest `limit` when given). `open_only`: the
        ones not known to be final (pending create, open, partly filled, pending cancel, unknown)."""
        where, args = self._where(bot=bot, account=account)
        if open_only:
            where.append(f"status NOT IN ({', '.join('?' * len(FINAL_STATUSES))})")
            args.extend(FINAL_STATUSES)
        sql = f"SELECT {self._ORDER_COLUMNS} FROM orders"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_ns DESC, rowid DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._conn.execute(sql, args).fetchall()
        return [_order(r) for r in reversed(rows)]

    def order(self, client_order_id: str) -> JournaledOrder | None:
        row = self._conn.execute(f"SELECT {self._ORDER_COLUMNS} FROM orders WHERE client_order_id = ?",
                                 (client_order_id,)).fetchone()
        return _order(row) if row else None

    def order_events(self, client_order_id: str) -> list[tuple[str, str]]:
        """(status, source) of every change of one order, in order."""
        return [(r[0], r[1]) for r in self._conn.execute(
            "SELECT status, source FROM order_events WHERE client_order_id = ? ORDER BY id", (client_order_id,))]

    def fills(self, *, bot: str | None = None, account: str | None = None,
              limit: int | None = None) -> list[JournaledFill]:
        """Journaled fills, oldest first (the newest `limit` when given)."""
        where, args = self._where(bot=bot, account=account)
        sql = ("SELECT account, bot, trade_id, client_order_id, symbol, side, price, amount, fee, fee_asset, maker, "
               "ts_ns FROM fills")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = self._conn.execute(sql, args).fetchall()
        return [JournaledFill(r[0], r[1], Fill(r[2], r[3], r[4], Side(r[5]), Decimal(r[6]), Decimal(r[7]),
                                               Decimal(r[8]), r[9], bool(r[10]), r[11])) for r in reversed(rows)]

    def bots(self) -> list[JournaledBot]:
        rows = self._conn.execute("SELECT name, tag, account, epoch, symbol, strategy, params, state, session, "
                                  "started_ns, stopped_ns FROM bots ORDER BY rowid").fetchall()
        return [JournaledBot(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6]) if r[6] else {}, r[7], r[8],
                             r[9], r[10]) for r in rows]

    def bot(self, name: str) -> JournaledBot | None:
        return next((b for b in self.bots() if b.name == name), None)

    def history(self, name: str, instrument: Instrument | None = None) -> BotHistory:
        """Orders, fills and PnL of a bot over every run in the journal. PnL is computed from
        its fills as the live bot does (`instrument` for derivatives; spot by its symbol's
        quote asset otherwise), marked at the last fill price."""
        from app.engine.pnl import PnlTracker, pnl_tracker_for

        bot = self.bot(name)
        if bot is None:
            raise KeyError(f"no bot named {name!r} in {self.path}")
        tracker = pnl_tracker_for(instrument) if instrument is not None else PnlTracker(_quote_of(bot.symbol))
        last = None
        fills = self.fills(bot=name)
        for item in fills:
            tracker.on_fill(item.fill)
            last = item.fill.price
        orders = self._conn.execute("SELECT count(*) FROM orders WHERE bot = ?", (name,)).fetchone()[0]
        return BotHistory(bot, orders, len(fills), tracker, last)

    def balance_snapshots(self, *, account: str | None = None, bot: str | None = None) -> list[dict[str, Any]]:
        where, args = self._where(bot=bot, account=account)
        sql = "SELECT account, bot, asset, total, locked, reason, ts_ns FROM balances"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [dict(zip(("account", "bot", "asset", "total", "locked", "reason", "ts_ns"), r))
                for r in self._conn.execute(sql + " ORDER BY id", args)]

    def records(self, *, bot: str | None = None) -> Iterator[dict[str, Any]]:
        """The audit records in order, as the old JSON-lines journal wrote them."""
        sql = "SELECT wall_ns, kind, bot, ts_ns, data FROM records"
        args: list[Any] = []
        if bot is not None:
            sql += " WHERE bot = ?"
            args.append(bot)
        for wall_ns, kind, name, ts_ns, data in self._conn.execute(sql + " ORDER BY id", args):
            record: dict[str, Any] = {"wall_ns": wall_ns, "kind": kind}
            if name is not None:
                record["bot"] = name
            if ts_ns is not None:
                record["ts_ns"] = ts_ns
            record.update(json.loads(data))
            yield record

    @staticmethod
    def _where(**filters: Any) -> tuple[list[str], list[Any]]:
        where, args = [], []
        for column, value in filters.items():
            if value is not None:
                where.append(f"{column} = ?")
                args.append(value)
        return where, args


def _order(r: tuple) -> JournaledOrder:
    return JournaledOrder(r[0], r[1], r[2], r[3], r[4], Side(r[5]) if r[5] else None,
                          OrderType(r[6]) if r[6] else None, Decimal(r[7]) if r[7] else None,
                          Decimal(r[8]) if r[8] else None, Decimal(r[9] or "0"), OrderStatus(r[10]), r[11], r[12],
                          r[13], r[14], r[15])


def _quote_of(symbol: str) -> str:
    """'BTC/USDT' -> 'USDT'; 'BTC/USDT:USDT' -> 'USDT'."""
    return symbol.split("/", 1)[-1].split(":", 1)[0]


@dataclass
class BotJournal:
    """What a Bot writes to: `write(kind, ts_ns, **fields)`, one transaction per record.

    Besides the record itself: an `order` record updates the order's row and adds its
    state change (the first one, written before the request leaves, is the intent); a
    `fill` record stores the fill unless its trade id is known, and then writes nothing and
    returns False, so a fill reported twice is never counted twice; `start` and `stopped`
    update the bot's row and snapshot its balances."""

    store: JournalStore
    bot: str
    account: str
    epoch: str
    symbol: str
    closed: bool = field(default=False)

    def write(self, kind: str, ts_ns: int, **fields: Any) -> bool:
        if self.closed or self.store.closed:
            return True
        if kind == "fill":
            fill = fields.pop("fill")
            order = fields.pop("order", None)
            return self.store.record_fill(self.bot, self.account, self.epoch, fill, ts_ns, fields, order=order)
        now = time.time_ns()
        store = self.store
        with store._tx() as db:
            if kind == "order":
                store._order_change(db, self.bot, self.account, self.epoch, self.symbol, fields, ts_ns, now,
                                    "intent" if fields.get("intent") else "venue")
            elif kind == "start":
                db.execute("INSERT OR IGNORE INTO accounts (name, epoch, first_seen_ns) VALUES (?, ?, ?)",
                           (self.account, self.epoch, now))
                db.execute(
                    "INSERT INTO bots (name, tag, account, epoch, symbol, strategy, params, state, session, "
                    "started_ns) VALUES (?, ?, ?, ?, ?, ?, ?, 'running', ?, ?) ON CONFLICT(name) DO UPDATE SET "
                    "tag = excluded.tag, account = excluded.account, epoch = excluded.epoch, "
                    "symbol = excluded.symbol, strategy = excluded.strategy, params = excluded.params, "
                    "state = 'running', session = excluded.session, started_ns = excluded.started_ns, "
                    "stopped_ns = NULL",
                    (self.bot, bot_tag(self.bot), self.account, self.epoch, self.symbol, fields.get("strategy"),
                     json.dumps(fields.get("params") or {}), store.session, now))
                store._balances(db, self.account, self.bot, fields.get("balances") or {}, "start", ts_ns, now)
            elif kind == "stop":
                db.execute("UPDATE bots SET state = 'stopping' WHERE name = ?", (self.bot,))
            elif kind == "stopped":
                db.execute("UPDATE bots SET state = 'stopped', stopped_ns = ? WHERE name = ?", (now, self.bot))
                store._balances(db, self.account, self.bot, fields.get("balances") or {}, "stopped", ts_ns, now)
            store._record(db, kind, self.bot, ts_ns, fields, now)
        return True

    def close(self) -> None:
        """The bot is finished: later writes are ignored (the store stays open for others)."""
        self.closed = True
