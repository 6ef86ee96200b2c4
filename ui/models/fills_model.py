"""Own fills (executions) of one or more accounts, newest appended, bounded.

Only the last `max_rows` fills are kept: a market-making bot can fill thousands of
times an hour, and the full history belongs in storage, not in a table model.
"""
from __future__ import annotations

from typing import Any, Callable, Hashable, Iterable

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor

from app.domain import Fill, OrderFilled, Side
from app.interfaces.venue import Connector
from ui.models.base import (
    AccountFedModel, RowData, fmt_clock_ns, fmt_decimal, fmt_money, fmt_time_ns, history_mark,
)
from ui.models.buffer import BoundedBuffer, Subscriptions

FillKey = tuple[str, str, str]  # (account, trade_id, client_order_id)

_BUY = QBrush(QColor(38, 166, 91))
_SELL = QBrush(QColor(214, 69, 65))


class FillsModel(AccountFedModel):
    COLUMNS = (
        "Account", "Bot", "Time", "Symbol", "Side", "Price", "Amount", "Quote", "Fee", "Fee asset",
        "Liquidity", "Order ID", "Trade ID",
    )
    NUMERIC = frozenset({5, 6, 7, 8})
    COL_BOT = 1
    COL_TIME = 2
    COL_SIDE = 4
    COL_QUOTE = 7
    COL_FEE = 8

    def __init__(self, parent: Any = None, *, max_rows: int = 10_000,
                 owner: Callable[[str], str] | None = None) -> None:
        """`owner(client_order_id)`: who placed the filled order, for the Bot column (see OrdersModel)."""
        super().__init__(parent)
        self._owner = owner
        if max_rows <= 0:
            raise ValueError("max_rows must be positive")
        self._max_rows = max_rows
        self._buffer: BoundedBuffer[tuple[str, Fill]] = BoundedBuffer(max_rows)
        self._subs = Subscriptions()
        self._fills: dict[Hashable, Fill] = {}
        self._history: set[Hashable] = set()  # rows from the journal (earlier runs): greyed

    @property
    def max_rows(self) -> int:
        return self._max_rows

    def add_account(self, account: str, connector: Connector, history: Iterable[Fill] = ()) -> None:
        """Shows `history` (oldest first, e.g. from storage) and the account's new fills."""

        def listener(event: object) -> None:
            if isinstance(event, OrderFilled):
                self._buffer.put((account, event.fill))

        self._subs.add(account, connector, listener)
        history = list(history)[-self._max_rows:]
        self._history.update((account, fill.trade_id, fill.client_order_id) for fill in history)
        self._buffer.extend((account, fill) for fill in history)

    def remove_account(self, account: str) -> None:
        if self._subs.remove(account) is None:
            return
        gone = [k for k in self._keys if k[0] == account]
        for key in gone:
            self._fills.pop(key, None)
        self._history = {k for k in self._history if k[0] != account}  # type: ignore[index]
        self._remove(gone)


    def flush(self) -> bool:
        """Appends queued fills, then drops the oldest rows beyond `max_rows`."""
        queued = self._buffer.drain()
        if not queued:
            return False
        upserts: dict[Hashable, RowData] = {}
        for account, fill in queued:
            if account not in self._subs:
                continue
            key = (account, fill.trade_id, fill.client_order_id)
            if key in self._index or key in upserts:
                continue  # the same execution reported twice (e.g. after a reconnect)
            upserts[key] = self._row(account, fill)
            self._fills[key] = fill
        if not upserts:
            return False
        self._apply(upserts)
        excess = len(self._keys) - self._max_rows
        if excess > 0:
            for key in self._keys[:excess]:
                self._fills.pop(key, None)
                self._history.discard(key)
            self._remove_front(excess)
        return True

    def fill_at(self, row: int) -> tuple[str, Fill] | None:
        key = self.key_at(row)
        if key is None:
            return None
        return key[0], self._fills[key]  # type: ignore[index]

    def _row(self, account: str, fill: Fill) -> RowData:
        quote = fill.quote_amount
        liquidity = "maker" if fill.is_maker else "taker"
        bot = self._owner(fill.client_order_id) if self._owner is not None else ""
        display = (
            account, bot, fmt_clock_ns(fill.ts_ns), fill.symbol, fill.side.value, fmt_decimal(fill.price),
            fmt_decimal(fill.amount), fmt_money(quote), fmt_money(fill.fee), fill.fee_asset,
            liquidity, fill.client_order_id, fill.trade_id,
        )
        sort = (
            account, bot, fill.ts_ns, fill.symbol, fill.side.value, fill.price, fill.amount, quote, fill.fee,
            fill.fee_asset, liquidity, fill.client_order_id, fill.trade_id,
        )
        # The cells show the time of day and rounded money; tooltip and CSV keep it all.
        exact = ("", "", fmt_time_ns(fill.ts_ns), "", "", "", "", fmt_decimal(quote), fmt_decimal(fill.fee),
                 "", "", "", "")
        return RowData(display, sort, exact)

    def is_history(self, key: Hashable) -> bool:
        """True for a row from the journal (an earlier run), shown greyed."""
        return key in self._history

    def _extra_data(self, key: Hashable, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and column == self.COL_SIDE:
            return _BUY if self._rows[key].display[column] == Side.BUY.value else _SELL
        return history_mark(key in self._history, column, role, self.COL_BOT)
