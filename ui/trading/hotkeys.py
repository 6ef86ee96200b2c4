"""The hotkeys help dialog: every manual-trading key, changeable, and the trading settings.

A table lists each action with its key (HotkeysModel); selecting a row and pressing a new
key in the recorder assigns it (a key another action uses is refused, naming that action);
Clear removes a key and Reset restores the defaults. The two confirmation checkboxes say
when an order asks before it leaves, and the limits form sets the risk limits every
manual order is checked against (app/engine/manual_orders.py: MANUAL_RISK_SCHEMA).
Changes apply at once (the window's actions are rebound through `changed`, the limits
through `apply_limits`) and are saved in the app's settings.
"""
from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QKeySequenceEdit,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.config.schema import ConfigError
from app.engine.manual_orders import MANUAL_RISK_SCHEMA
from ui.bots.schema_form import SchemaForm
from ui.trading.settings import HOTKEYS, TradingSettings

AnyIndex = QModelIndex | QPersistentModelIndex


class HotkeysModel(QAbstractTableModel):
    """One row per action: what it does and its key (empty: none)."""

    COLUMNS = ("Action", "Key")

    def __init__(self, settings: TradingSettings, parent: Any = None) -> None:
        super().__init__(parent)
        self._settings = settings

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(HOTKEYS)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal \
                and 0 <= section < len(self.COLUMNS):
            return self.COLUMNS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or role != Qt.ItemDataRole.DisplayRole:
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < len(HOTKEYS) and 0 <= column < len(self.COLUMNS)):
            return None
        hotkey = HOTKEYS[row]
        if column == 0:
            return hotkey.title
        return self._settings.hotkey(hotkey.name).toString(QKeySequence.SequenceFormat.NativeText)

    def name_at(self, row: int) -> str | None:
        return HOTKEYS[row].name if 0 <= row < len(HOTKEYS) else None

    def keys_changed(self) -> None:
        """Every key may have changed (a reset): the Key column is announced."""
        self.dataChanged.emit(self.index(0, 1), self.index(len(HOTKEYS) - 1, 1), [Qt.ItemDataRole.DisplayRole])


class HotkeysDialog(QDialog):
    changed = Signal()
    """A key or a confirmation setting changed: rebind the actions."""

    def __init__(self, settings: TradingSettings, parent: QWidget | None = None, *,
                 apply_limits: Callable[[dict[str, Any]], None] | None = None) -> None:
        """`apply_limits(values)`: gives the limits form's values to the manual desk
        (ConfigError, shown under the form, when they cannot apply)."""
        super().__init__(parent)
        self._apply_limits = apply_limits
        self.setObjectName("hotkeys_dialog")
        self.setWindowTitle("Manual trading: hotkeys and settings")
        self.settings = settings
        self.model = HotkeysModel(settings, self)
        self.table = QTableView(self, objectName="hotkeys_table")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.recorder = QKeySequenceEdit(self, objectName="hotkey_recorder")
        self.recorder.setMaximumSequenceLength(1)
        self.recorder.editingFinished.connect(self._assign)
        clear = QPushButton("Clear key", self)
        clear.clicked.connect(self.clear_selected)
        reset = QPushButton("Reset all to defaults", self)
        reset.clicked.connect(self.reset)
        self.message = QLabel("Select an action, then press its new key.", self, objectName="hotkey_message")
        self.message.setWordWrap(True)
        self.confirm_live = QCheckBox("Confirm each manual order on live accounts", self)
        self.confirm_live.setChecked(settings.confirm_live)
        self.confirm_live.toggled.connect(self._set_confirm_live)
        self.confirm_simulated = QCheckBox("Confirm each manual order on the demo exchange and paper accounts", self)
        self.confirm_simulated.setChecked(settings.confirm_simulated)
        self.confirm_simulated.toggled.connect(self._set_confirm_simulated)
        self.limits = SchemaForm(MANUAL_RISK_SCHEMA, settings.risk, self)
        self.limits.setObjectName("manual_risk_form")
        self.limits_button = QPushButton("Apply limits", self, objectName="apply_limits")
        self.limits_button.clicked.connect(self.apply_limits)
        self.limits.validity_changed.connect(self.limits_button.setEnabled)
        self.limits_message = QLabel("Empty: off. Checked before each manual order leaves, as a bot's limits.",
                                     self, objectName="limits_message", wordWrap=True)
        limits_box = QGroupBox("Limits on manual orders", self)
        limits_layout = QVBoxLayout(limits_box)
        limits_layout.addWidget(self.limits)
        limits_layout.addWidget(self.limits_message)
        limits_layout.addWidget(self.limits_button)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.close)
        keys = QHBoxLayout()
        keys.addWidget(QLabel("New key:", self))
        keys.addWidget(self.recorder, 1)
        keys.addWidget(clear)
        keys.addWidget(reset)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(keys)
        layout.addWidget(self.message)
        layout.addWidget(QLabel("On the ladder: click a size in the Bid or Ask column to place a limit order of "
                                "the ticket's amount at that price; click your own order (My bid / My ask) to "
                                "cancel it, or drag it to another price to move it.", self, wordWrap=True))
        layout.addWidget(self.confirm_live)
        layout.addWidget(self.confirm_simulated)
        layout.addWidget(limits_box)
        layout.addWidget(buttons)
        self.resize(640, 820)

    def selected_name(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.name_at(rows[0].row()) if rows else None

    def assign(self, name: str, sequence: QKeySequence) -> bool:
        """Gives `name` the key `sequence`; False (and a message) when another action has it."""
        other = self.settings.hotkey_user(sequence, but=name)
        if other is not None:
            title = next(h.title for h in HOTKEYS if h.name == other)
            self.message.setText(f"{sequence.toString(QKeySequence.SequenceFormat.NativeText)} is already the key "
                                 f"of “{title}”: clear it there first.")
            return False
        self.settings.set_hotkey(name, sequence)
        self.model.keys_changed()
        self.message.setText("Saved.")
        self.changed.emit()
        return True

    def _assign(self) -> None:
        name = self.selected_name()
        sequence = self.recorder.keySequence()
        self.recorder.clear()
        if name is None:
            self.message.setText("Select an action first.")
            return
        if not sequence.isEmpty():
            self.assign(name, sequence)

    def clear_selected(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.assign(name, QKeySequence())

    def reset(self) -> None:
        self.settings.reset_hotkeys()
        self.model.keys_changed()
        self.message.setText("Every key is back to its default.")
        self.changed.emit()

    def apply_limits(self) -> bool:
        """Validates the limits form, applies it to the manual desk and saves it."""
        try:
            values = self.limits.values()
            given = {k: v for k, v in self.limits.raw_values().items() if k in values}
            if self._apply_limits is not None:
                self._apply_limits(given)
        except ConfigError as exc:
            self.limits_message.setText(f"Not applied: {exc.field_path}: {exc.reason}")
            return False
        self.settings.risk = given
        defaults = MANUAL_RISK_SCHEMA.defaults()
        shown = ", ".join(f"{k} {given[k]}" for k in sorted(given) if values.get(k) != defaults.get(k)) or "none"
        self.limits_message.setText(f"Applied: {shown}.")
        return True

    def _set_confirm_live(self, on: bool) -> None:
        self.settings.confirm_live = on
        self.changed.emit()

    def _set_confirm_simulated(self, on: bool) -> None:
        self.settings.confirm_simulated = on
        self.changed.emit()
