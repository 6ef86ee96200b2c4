"""What a backtest leaves for its replay: the bot's own order activity and, without a
recording, the market it traded in.

The replay (app/wiring/backtest_replay.py) plays the market again and shows the bot's
quotes, cancels and fills at the times they happened, without running the strategy again:

- **Own orders.** Every state change and fill of the bot's orders, as one numpy row each
  (`OWN_EVENT_DTYPE`: time, order, kind, status after it, lots filled so far, and for a
  fill its price, lots and maker flag), plus one row per order in `ORDER_DTYPE` (side,
  type, price, amount, creation time) and the strings numpy cannot hold (client ids, fill
  ids and fees). An order's creation is a row at its `created_ns` (a venue need not
  announce pending-create), so "open at T" is read off the rows alone.
- **The market.** A recording is replayed from its files (the same cached conversion and
  rules the backtest used). The demo exchange has no file, and its book depends on the
  bot (own orders rest in its matching engine), so re-running the crowd alone would show
  another market; re-running the whole backtest would run the strategy again in the
  window's process and make every backwards seek cost a backtest. So its book changes
  are recorded as they are published: a snapshot at the start, then each step's changed
  levels as one depth message with chained update ids, and its trades, in the recording
  format (app/data/events.py), so one replay path (ReplayFeed) serves both venues. The
  step's levels are taken where the demo feed publishes them (`DemoFeed._publish`, the
  one place they exist as arrays): diffing the book after every step cost about four times
  the whole backtest (measured on a 600 s demo run: ~160 us per 20 ms step, against ~40 us
  for everything else); keeping the step's arrays adds about a third.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

from app.data.events import DEPTH, END_OF_MESSAGE, EVENT_DTYPE, NO_ID, SNAPSHOT, TRADE
from app.domain import BookResynced, Instrument, Order, OrderFilled, OrderStatus, OrderUpdated

STATUSES: tuple[OrderStatus, ...] = tuple(OrderStatus)
"""Status codes of OWN_EVENT_DTYPE.status: the index in this tuple."""
_CODE = {status: code for code, status in enumerate(STATUSES)}
UPDATE, FILL = 0, 1
"""OWN_EVENT_DTYPE.kind: a state change, or a fill (which may change the state too)."""

OWN_EVENT_DTYPE = np.dtype([
    ("ts_ns", "<i8"),
    ("order", "<i4"),  # row in the orders table
    ("kind", "u1"),  # UPDATE or FILL
    ("status", "u1"),  # the order's status after the event (index in STATUSES)
    ("filled_lots", "<i8"),  # the order's lots filled so far, after the event
    ("fill_price_ticks", "<i8"),  # FILL: this fill's price; 0 otherwise
    ("fill_lots", "<i8"),  # FILL: this fill's lots; 0 otherwise
    ("maker", "?"),  # FILL: the order rested (maker)
])
ORDER_DTYPE = np.dtype([
    ("created_ns", "<i8"),
    ("side", "i1"),  # +1 buy, -1 sell
    ("price_ticks", "<i8"),  # 0 for a market order
    ("amount_lots", "<i8"),
])
_SNAPSHOT_ID = 1  # the captured snapshot's lastUpdateId; the first step's diff is 2
MAX_MARKET_ROWS = 8_000_000
"""The demo market kept for a replay (~470 MB; a 600 s run needs ~0.5 M rows): a longer run
is replayable up to where this ran out (BacktestRecord.end_ns, `replay_note`)."""
MAX_TABLE_POINTS = 50_000
"""Own-order events listed in the report (the last ones; `total` says how many there were)."""
_CHUNK_STEPS = 4096  # per-step arrays are packed into one chunk this often (few objects)


@dataclass
class FillInfo:
    """The strings of one fill (numpy rows hold the numbers)."""

    trade_id: str
    fee: str
    fee_asset: str


@dataclass
class BacktestRecord:
    """Everything a replay needs, picklable (it comes back from the backtest's worker process)."""

    instrument: Instrument
    venue_label: str
    bot: str
    start_ns: int  # the bot's start
    end_ns: int  # the end of the run (the bot stopped, its cancels confirmed)
    orders: np.ndarray  # ORDER_DTYPE, one row per order
    order_ids: list[str]
    order_types: list[str]  # OrderType values
    events: np.ndarray  # OWN_EVENT_DTYPE, in time order
    fills: list[FillInfo]  # one per FILL row, in row order
    market_events: np.ndarray | None = None  # EVENT_DTYPE: the captured demo market
    recordings: list[Path] = field(default_factory=list)  # or the recording replayed
    instrument_overrides: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the config's name, for error lines
    replay_note: str = ""  # why the replay stops before the run's end, if it does

    def open_at(self, ts_ns: int) -> dict[str, tuple[int, int, int, OrderStatus]]:
        """client id -> (side, price ticks, remaining lots, status) of every order open after
        all the events at or before `ts_ns`: the reference a replay's overlay must match."""
        rows = self.events[: int(np.searchsorted(self.events["ts_ns"], ts_ns, side="right"))]
        last: dict[int, np.void] = {}
        for row in rows:
            last[int(row["order"])] = row
        out = {}
        for index, row in last.items():
            status = STATUSES[int(row["status"])]
            if status.is_done:
                continue
            order = self.orders[index]
            out[self.order_ids[index]] = (int(order["side"]), int(order["price_ticks"]),
                                          int(order["amount_lots"]) - int(row["filled_lots"]), status)
        return out

    def own_orders_table(self) -> dict[str, Any]:
        """The report's `own_orders` (next to `own_fills`): one point per order event, in
        seconds from the start, with exact prices and amounts."""
        inst = self.instrument
        points = []
        for row in self.events[-MAX_TABLE_POINTS:].tolist():
            ts, index, kind, status, filled, fill_price, fill_lots, _maker = row
            order = self.orders[index]
            price = fill_price if kind == FILL else int(order["price_ticks"])
            amount = fill_lots if kind == FILL else int(order["amount_lots"])
            points.append([round((ts - self.start_ns) / 1e9, 6), self.order_ids[index],
                           "fill" if kind == FILL else STATUSES[status].value,
                           "buy" if order["side"] > 0 else "sell",
                           _plain(inst.ticks_to_price(price)) if price else None,
                           _plain(inst.lots_to_amount(amount)), _plain(inst.lots_to_amount(filled))])
        return {"columns": ["seconds", "order", "event", "side", "price", "amount", "filled"],
                "total": len(self.events), "points": points}


def _plain(value: Decimal) -> str:
    return format(value.normalize(), "f") if value != value.to_integral_value() else format(value.quantize(1), "f")


class BacktestCapture:
    """Attached to a session before it starts (run_simulated's `on_ready`); `finish()` after
    the run gives the BacktestRecord. Listeners only append to lists: no work per market
    message beyond keeping the demo's already-built arrays."""

    def __init__(self) -> None:
        self._session: Any = None
        self._bot: Any = None
        self._index: dict[str, int] = {}
        self._orders: list[tuple[int, int, int, int]] = []
        self._order_ids: list[str] = []
        self._order_types: list[str] = []
        self._rows: list[tuple[int, int, int, int, int, int, int, bool]] = []
        self._fills: list[FillInfo] = []
        self._snapshot: tuple[int, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._steps: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []  # not yet packed
        self._trades: list[np.ndarray] = []  # not yet packed
        self._chunks: list[np.ndarray] = []  # packed EVENT_DTYPE rows, in time order
        self._next_id = _SNAPSHOT_ID + 1  # update id of the next depth message
        self._next_trade = 1
        self._rows_kept = 0
        self._full_at: int | None = None  # when MAX_MARKET_ROWS ran out
        self._recordings: list[Path] = []
        self._overrides: dict[str, Any] = {}

    def attach(self, session: Any) -> None:
        from connectors.demo.exchange import DemoFeed
        from connectors.replay.feed import ReplayFeed

        self._session = session
        self._bot = session.bot
        session.connector.add_listener(self._on_venue_event, (OrderUpdated, OrderFilled))
        feed = session.connector.feed(session.config.symbol)
        replay = next((p for p in session.startables if isinstance(p, ReplayFeed)), None)
        if replay is not None:
            from app.wiring.live import venue_request

            self._recordings = list(session.config.recordings)
            self._overrides = dict(venue_request(session.config, simulated=True).instrument_overrides)
        elif isinstance(feed, DemoFeed):
            self._tap_demo(feed)
        else:
            raise ValueError(f"{session.venue_label}: a replay needs a recording or the demo market")

    # -- own orders ----------------------------------------------------------------------------
    def _order_index(self, order: Order) -> int | None:
        index = self._index.get(order.client_order_id)
        if index is not None:
            return index
        if not self._bot.orders.owns(order.client_order_id):
            return None  # another bot's order on a shared account
        index = self._index[order.client_order_id] = len(self._orders)
        self._orders.append((order.created_ns, order.side.sign, order.price_ticks, order.amount_lots))
        self._order_ids.append(order.client_order_id)
        self._order_types.append(order.type.value)
        self._rows.append((order.created_ns, index, UPDATE, _CODE[OrderStatus.PENDING_CREATE], 0, 0, 0, False))
        return index

    def _on_venue_event(self, event: Any) -> None:
        order = event.order
        index = self._order_index(order)
        if index is None:
            return
        if isinstance(event, OrderFilled):
            fill = event.fill
            inst = self._bot.instrument
            self._rows.append((fill.ts_ns, index, FILL, _CODE[order.status], order.filled_lots,
                               inst.price_to_ticks(fill.price), inst.amount_to_lots(fill.amount), fill.is_maker))
            self._fills.append(FillInfo(fill.trade_id, str(fill.fee), fill.fee_asset))
        elif not (order.status is OrderStatus.PENDING_CREATE and event.ts_ns == order.created_ns):
            self._rows.append((event.ts_ns, index, UPDATE, _CODE[order.status], order.filled_lots, 0, 0, False))

    # -- the demo market -------------------------------------------------------------------------
    def _tap_demo(self, feed: Any) -> None:
        publish = feed._publish

        def recorded(ts_ns: int, sides: np.ndarray, prices: np.ndarray, qtys: np.ndarray, trades: np.ndarray) -> None:
            if self._full_at is None:
                # Kept without a copy: the matching engine drains into new arrays every step,
                # and what a feed publishes is never written to (the book reads them).
                if len(sides):
                    self._steps.append((ts_ns, sides, prices, qtys))
                    self._rows_kept += len(sides)
                if len(trades):
                    self._trades.append(trades)
                    self._rows_kept += len(trades)
                if len(self._steps) >= _CHUNK_STEPS:
                    self._pack()
                if self._rows_kept >= MAX_MARKET_ROWS:
                    self._full_at = ts_ns
            publish(ts_ns, sides, prices, qtys, trades)

        feed._publish = recorded
        book = feed.book

        def snapshot(event: Any) -> None:
            if isinstance(event, BookResynced) and self._snapshot is None:
                bp, bq = book.top_levels(1, max(1, book.bid_depth))
                ap, aq = book.top_levels(-1, max(1, book.ask_depth))
                self._snapshot = (event.ts_ns, bp, bq, ap, aq)

        feed.add_listener(snapshot, (BookResynced,))

    def _demo_events(self) -> np.ndarray:
        """The captured market in the recording format (one array, time order)."""
        if self._snapshot is None:
            raise ValueError("the demo market published no snapshot: nothing to replay")
        ts, bp, bq, ap, aq = self._snapshot
        snap = np.zeros(len(bp) + len(ap), EVENT_DTYPE)
        snap["ts_ns"] = snap["exch_ts_ns"] = ts
        snap["kind"] = SNAPSHOT
        snap["side"][: len(bp)] = 1
        snap["side"][len(bp):] = -1
        snap["price_ticks"] = np.concatenate((bp, ap))
        snap["qty_lots"] = np.concatenate((bq, aq))
        snap["first_id"] = snap["prev_id"] = NO_ID
        snap["last_id"] = _SNAPSHOT_ID
        snap["flags"][-1] = END_OF_MESSAGE
        self._pack()
        return np.concatenate([snap, *self._chunks])

    def _pack(self) -> None:
        """Packs the steps kept so far into one chunk of rows in time order (stable: at one
        instant a step's depth message, then its trades)."""
        if not self._steps and not self._trades:
            return
        rows = np.concatenate((self._depth_rows(), self._trade_rows()))
        self._chunks.append(rows[np.argsort(rows["ts_ns"], kind="stable")])
        self._steps = []
        self._trades = []

    def _depth_rows(self) -> np.ndarray:
        steps = self._steps
        if not steps:
            return np.zeros(0, EVENT_DTYPE)
        counts = np.array([len(s[1]) for s in steps], np.int64)
        rows = np.zeros(int(counts.sum()), EVENT_DTYPE)
        rows["ts_ns"] = rows["exch_ts_ns"] = np.repeat([s[0] for s in steps], counts)
        rows["kind"] = DEPTH
        rows["side"] = np.concatenate([s[1] for s in steps])
        rows["price_ticks"] = np.concatenate([s[2] for s in steps])
        rows["qty_lots"] = np.concatenate([s[3] for s in steps])
        ids = np.repeat(np.arange(self._next_id, self._next_id + len(steps), dtype=np.int64), counts)
        self._next_id += len(steps)
        rows["first_id"] = rows["last_id"] = ids
        rows["prev_id"] = NO_ID
        rows["flags"][np.cumsum(counts) - 1] = END_OF_MESSAGE
        return rows

    def _trade_rows(self) -> np.ndarray:
        if not self._trades:
            return np.zeros(0, EVENT_DTYPE)
        batches = self._trades

        def column(name: str) -> np.ndarray:  # plain columns: concatenating records is far slower
            return np.concatenate([batch[name] for batch in batches])

        n = sum(len(batch) for batch in batches)
        rows = np.zeros(n, EVENT_DTYPE)
        rows["ts_ns"] = rows["exch_ts_ns"] = column("ts_ns")
        rows["kind"] = TRADE
        rows["side"] = column("taker_side")
        rows["price_ticks"] = column("price_ticks")
        rows["qty_lots"] = column("qty_lots")
        rows["first_id"] = rows["last_id"] = np.arange(self._next_trade, self._next_trade + n)
        self._next_trade += n
        rows["prev_id"] = NO_ID
        rows["flags"] = END_OF_MESSAGE  # one trade per message, as Binance sends them
        return rows

    # -- the result ------------------------------------------------------------------------------
    def finish(self) -> BacktestRecord:
        """The record, after the run (the session may be shut down)."""
        session = self._session
        if session is None:
            raise RuntimeError("BacktestCapture.finish before attach")
        rows = np.array(self._rows, OWN_EVENT_DTYPE) if self._rows else np.zeros(0, OWN_EVENT_DTYPE)
        rows = rows[np.argsort(rows["ts_ns"], kind="stable")]  # creation rows go back to created_ns
        orders = np.array(self._orders, ORDER_DTYPE) if self._orders else np.zeros(0, ORDER_DTYPE)
        bot = self._bot
        end = max(session.clock.now_ns(), int(rows["ts_ns"][-1]) if len(rows) else 0)
        note = ""
        if self._full_at is not None and self._full_at < end:
            end = self._full_at
            note = (f"the replay covers the first {(end - bot.start_ns) / 1e9:.0f} s of the run: the demo "
                    f"market's record is capped at {MAX_MARKET_ROWS:,} rows")
        return BacktestRecord(
            instrument=bot.instrument, venue_label=session.venue_label, bot=bot.name,
            start_ns=bot.start_ns, end_ns=end, orders=orders, order_ids=list(self._order_ids),
            order_types=list(self._order_types), events=rows, fills=list(self._fills),
            market_events=None if self._recordings else self._demo_events(),
            recordings=list(self._recordings), instrument_overrides=dict(self._overrides),
            source=str(session.config.source), replay_note=note,
        )
