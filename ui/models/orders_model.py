"""Own orders of one or more accounts as a table.

By default only orders that may still fill are shown; finished orders (filled,
cancelled, rejected, failed) leave the table with removeRows. `set_show_finished(True)`
keeps the most recent finished orders (bounded) visible as well.
"""
from __future__ import annotations

from collections import OrderedDict
from typing import Any, Callable, Hashable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from app.domain import Instrument, Order, OrderFilled, OrderUpdated, Side
from app.interfaces.venue import Connector
from ui.models.base import AccountFedModel, RowData, fmt_clock_ns, fmt_decimal, fmt_time_ns, history_mark
from ui.models.buffer import CoalescingBuffer, Subscriptions

OrderKey = tuple[str, str]  # (account, client_order_id)

_BUY = QBrush(QColor(38, 166, 91))
_SELL = QBrush(QColor(214, 69, 65))


class OrdersModel(AccountFedModel):
    COLUMNS = (
        "Account", "Bot", "Symbol", "Side", "Type", "Price", "Amount", "Filled", "Remaining",
        "Status", "Updated", "Order ID", "Reason",
    )
    NUMERIC = frozenset({5, 6, 7, 8})
    COL_BOT = 1
    COL_SIDE = 3
    COL_STATUS = 9
    COL_UPDATED = 10

    def __init__(self, parent: Any = None, *, show_finished: bool = False, max_finished: int = 5000,
                 owner: Callable[[str], str] | None = None) -> None:
        """`owner(client_order_id)`: who placed an order, for the Bot column (a bot's name,
        "Manual"; app/wiring/workspace.py: Workspace.owner_of). None: the column stays empty."""
        super().__init__(parent)
        self._owner = owner
        self._buffer: CoalescingBuffer[OrderKey, Order] = CoalescingBuffer()
        self._subs = Subscriptions()
        self._open: dict[OrderKey, Order] = {}
        self._finished: OrderedDict[OrderKey, Order] = OrderedDict()
        self._show_finished = show_finished
        self._max_finished = max_finished
        self._history: set[OrderKey] = set()  # rows from the journal (earlier runs): greyed

    # -- feeding ------------------------------------------------------------------------
    def add_account(self, account: str, connector: Connector, history: Iterable[Order] = ()) -> None:
        """Shows `connector`'s open orders now and its order events from now on; `history`
        (finished orders, oldest first, e.g. from the journal) joins the finished ones."""

        def listener(event: object) -> None:
            if isinstance(event, (OrderUpdated, OrderFilled)):
                self._buffer.put((account, event.order.client_order_id), event.order)

        self._subs.add(account, connector, listener)
        for order in history:
            if order.status.is_done:
                self._buffer.put((account, order.client_order_id), order)
                self._history.add((account, order.client_order_id))
        for order in connector.open_orders():
            self._buffer.put((account, order.client_order_id), order)

    def remove_account(self, account: str) -> None:
        """Stops listening and removes the account's rows at once."""
        if self._subs.remove(account) is None:
            return
        gone = [k for k in self._keys if k[0] == account]
        for store in (self._open, self._finished):
            for key in [k for k in store if k[0] == account]:
                del store[key]
        self._history = {k for k in self._history if k[0] != account}
        self._remove(gone)

    @property
    def max_finished(self) -> int:
        return self._max_finished

    # -- view mode ----------------------------------------------------------------------
    @property
    def show_finished(self) -> bool:
        return self._show_finished

    def set_show_finished(self, show: bool) -> None:
        if show == self._show_finished:
            return
        self._show_finished = show
        self.flush()
        rows = list(self._open.items())
        if show:
            rows += list(self._finished.items())
        rows.sort(key=lambda item: (item[1].created_ns, item[0]))
        self._reset((key, self._row(key, order)) for key, order in rows)

    # -- applying changes ---------------------------------------------------------------
    def flush(self) -> bool:
        """Applies queued changes; call from a capped timer. Returns whether rows changed."""
        changes = self._buffer.drain()
        if not changes:
            return False
        upserts: dict[Hashable, RowData] = {}
        removals: list[Hashable] = []
        for key, order in changes.items():
            if key[0] not in self._subs:
                continue  # queued just before its account was removed
            if order.status.is_done:
                self._open.pop(key, None)
                self._finished[key] = order
                self._finished.move_to_end(key)
                if self._show_finished:
                    upserts[key] = self._row(key, order)
                else:
                    removals.append(key)
            else:
                self._finished.pop(key, None)
                self._open[key] = order
                upserts[key] = self._row(key, order)
        while len(self._finished) > self._max_finished:
            old_key, _ = self._finished.popitem(last=False)
            self._history.discard(old_key)
            upserts.pop(old_key, None)
            removals.append(old_key)
        return self._apply(upserts, removals)

    def order_at(self, row: int) -> tuple[str, Order] | None:
        key = self.key_at(row)
        if key is None:
            return None
        order = self._open.get(key) or self._finished.get(key)  # type: ignore[arg-type]
        return (key[0], order) if order is not None else None  # type: ignore[index]

    # -- presentation -------------------------------------------------------------------
    def _instrument(self, account: str, symbol: str) -> Instrument | None:
        connector = self._subs.connector(account)
        if connector is None:
            return None
        return connector.instruments.get(symbol)  # type: ignore[attr-defined]

    def _row(self, key: OrderKey, order: Order) -> RowData:
        account = key[0]
        instrument = self._instrument(account, order.symbol)
        if instrument is not None:
            price = instrument.ticks_to_price(order.price_ticks) if order.price_ticks else None
            amount = instrument.lots_to_amount(order.amount_lots)
            filled = instrument.lots_to_amount(order.filled_lots)
            remaining = instrument.lots_to_amount(order.remaining_lots)
            texts = [fmt_decimal(price) if price is not None else "market", fmt_decimal(amount),
                     fmt_decimal(filled), fmt_decimal(remaining)]
            sorts: list[Any] = [price if price is not None else -1, amount, filled, remaining]
        else:  # instrument unknown to the connector: show raw integers, clearly labelled
            texts = [f"{order.price_ticks} ticks", f"{order.amount_lots} lots",
                     f"{order.filled_lots} lots", f"{order.remaining_lots} lots"]
            sorts = [order.price_ticks, order.amount_lots, order.filled_lots, order.remaining_lots]
        updated = order.updated_ns or order.created_ns
        bot = self._owner(order.client_order_id) if self._owner is not None else ""
        display = (
            account, bot, order.symbol, order.side.value, order.type.value, *texts,
            order.status.value.replace("_", " "), fmt_clock_ns(updated), order.client_order_id, order.reason,
        )
        sort = (
            account, bot, order.symbol, order.side.value, order.type.value, *sorts,
            order.status.value, updated, order.client_order_id, order.reason,
        )
        exact = [""] * len(display)
        exact[self.COL_UPDATED] = fmt_time_ns(updated)  # the cell shows only the time of day
        return RowData(display, sort, tuple(exact))

    def is_history(self, key: OrderKey) -> bool:
        """True for a row from the journal (an earlier run), shown greyed."""
        return key in self._history

    def _extra_data(self, key: Hashable, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and column == self.COL_SIDE:
            return _BUY if self._rows[key].display[column] == Side.BUY.value else _SELL
        return history_mark(key in self._history, column, role, self.COL_BOT)
