"""Table models for orders, fills and balances, fed from connectors' events.

Listeners only queue changes (Qt-free buffers); `flush()` from a capped timer
(`ModelFlusher`) applies them with minimal model signals.
"""
from ui.models.balances_model import BalancesModel
from ui.models.base import (
    EXACT_ROLE, KEY_ROLE, SORT_ROLE, KeyedTableModel, RowData, fmt_clock_ns, fmt_decimal, fmt_money, fmt_time_ns,
)
from ui.models.csv_export import CsvExportAction, export_model, table_rows, write_csv
from ui.models.fills_model import FillsModel
from ui.models.flusher import ModelFlusher
from ui.models.orders_model import OrdersModel
from ui.models.proxy import TableProxy

__all__ = [
    "BalancesModel", "EXACT_ROLE", "KEY_ROLE", "SORT_ROLE", "KeyedTableModel", "RowData", "fmt_clock_ns",
    "fmt_decimal", "fmt_money", "fmt_time_ns",
    "CsvExportAction", "export_model", "table_rows", "write_csv", "FillsModel", "ModelFlusher",
    "OrdersModel", "TableProxy",
]
