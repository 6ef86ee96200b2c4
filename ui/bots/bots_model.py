"""The bots table: one row per bot with its live status, refreshed from a timer.

A bot whose strategy failed shows "failed: <error>" as its state, in red, with the
error in the cell's tooltip (the traceback is in the log and the bot's journal). A bot a
risk limit stopped shows "stopped by risk: ..." in orange, the same way. A running bot
with no open order whose last orders were all rejected says so in orange ("running, 3
orders in a row rejected: ..."): otherwise it would look busy while placing nothing.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QBrush, QColor

from app.domain.numbers import fmt_signed
from app.engine.bot import Bot, BotStatus
from ui.models.base import fmt_decimal, fmt_money

COLUMNS = ("Bot", "Strategy", "Account", "State", "Mid", "Own bid", "Own ask", "Orders", "Inventory", "PnL", "Fills")
STATE_COLUMN = COLUMNS.index("State")
_FAILED = QBrush(QColor(200, 40, 40))
_RISK_STOP = QBrush(QColor(176, 96, 0))

Index = QModelIndex | QPersistentModelIndex


def _fmt(value: Decimal | None) -> str:
    """Prices as every other table shows them (no trailing zeros, no exponent)."""
    return "-" if value is None else fmt_decimal(value)


class BotsModel(QAbstractTableModel):
    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._bots: list[Bot] = []
        self._rows: list[tuple[str, ...]] = []
        self._rejecting: list[str] = []  # per row: the rejection streak shown, if any

    def rowCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not (0 <= index.row() < len(self._rows)):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._rows[index.row()][index.column()]
        if index.column() == STATE_COLUMN and role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole):
            bot = self._bots[index.row()]
            if bot.error is not None:
                return (f"The strategy failed and the bot stopped: {bot.error}"
                        if role == Qt.ItemDataRole.ToolTipRole else _FAILED)
            if bot.stopped_by is not None:
                return (f"A risk limit stopped the bot (its orders cancelled): {bot.stopped_by}"
                        if role == Qt.ItemDataRole.ToolTipRole else _RISK_STOP)
            if self._rejecting[index.row()]:
                return (f"The bot runs but places nothing: {self._rejecting[index.row()]}"
                        if role == Qt.ItemDataRole.ToolTipRole else _RISK_STOP)
            return None
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() >= 4:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def bot_at(self, row: int) -> Bot | None:
        return self._bots[row] if 0 <= row < len(self._bots) else None

    @staticmethod
    def state_text(status: BotStatus) -> str:
        if status.error is not None:
            return ("failed: " if status.state.value == "stopped" else f"failed, {status.state.value}: ") + status.error
        if status.stopped_by is not None:
            return f"{status.state.value} by {status.stopped_by}"
        if BotsModel.rejecting(status):
            return f"{status.state.value}, {status.rejected}"
        return status.state.value + (" (stale book)" if status.stale else "")

    @staticmethod
    def rejecting(status: BotStatus) -> str:
        """The rejection streak of a running bot that has no open order ("" otherwise)."""
        return status.rejected if status.state.value == "running" and not status.open_orders else ""

    @classmethod
    def _row(cls, bot: Bot, status: BotStatus) -> tuple[str, ...]:
        return (
            bot.name, bot.strategy.name, " + ".join(dict.fromkeys(m.account for m in bot.markets.values())),
            cls.state_text(status),
            _fmt(status.mid), _fmt(status.own_bid), _fmt(status.own_ask), str(status.open_orders),
            fmt_signed(status.inventory_base), fmt_money(status.pnl_quote), str(status.fills),
        )

    def refresh(self, bots: list[Bot]) -> None:
        """Inserts new bots and signals only the rows whose text changed."""
        known = {id(b) for b in self._bots}
        new = [b for b in bots if id(b) not in known]
        if new:
            start = len(self._bots)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            self._bots.extend(new)
            statuses = [b.status() for b in new]
            self._rows.extend(self._row(b, s) for b, s in zip(new, statuses))
            self._rejecting.extend(self.rejecting(s) for s in statuses)
            self.endInsertRows()
        for row, bot in enumerate(self._bots):
            status = bot.status()
            fresh = self._row(bot, status)
            self._rejecting[row] = self.rejecting(status)
            if fresh != self._rows[row]:
                self._rows[row] = fresh
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
