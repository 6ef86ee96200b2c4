"""Bots menu: import a bot config from a YAML file into the bot form, export the form to one.

The files use the CLI's schema (app/config/desktop_configs.py maps the window's accounts
to venue sections and back). Import checks the whole file and every market against the
open accounts before the form changes; a bad file is one line in the bots panel's
message (and the log), and the form stays as it was. Export writes atomically what the
form holds (refused, with the reason, while the form has an invalid field).
"""
from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMenu, QWidget

from app.config.desktop_configs import FormConfig, from_file, to_yaml
from app.config.schema import ConfigError
from app.engine.report import write_text_atomic
from strategies.registry import strategy_class
from ui.bots.market_picker import NONE
from ui.bots.strategy_files import fill_strategy_box

if TYPE_CHECKING:
    from ui.bots.bots_dock import BotsPanel

log = logging.getLogger(__name__)
FILTER = "Bot configs (*.yaml *.yml);;All files (*)"


def _roles(strategy: str) -> list[str]:
    return [role.name for role in strategy_class(strategy).roles]


def form_config(panel: "BotsPanel") -> FormConfig:
    """What the form holds; ConfigError naming the first bad field."""
    assert panel.form is not None
    strategy = panel.strategy.currentData()
    return FormConfig(strategy, panel.form.values(), panel.risk_form.values(), panel.bindings())


def export_config(panel: "BotsPanel", path: str | Path) -> None:
    """Writes the form as a config file; ConfigError (nothing written) if it cannot."""
    form = form_config(panel)
    text = to_yaml(form, _roles(form.strategy), source=str(path))
    try:
        write_text_atomic(Path(path), text)
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot write the file: {exc.strerror or exc}") from None


def import_config(panel: "BotsPanel", path: str | Path) -> FormConfig:
    """Reads `path` and puts it into the form, whole or not at all (ConfigError)."""
    workspace = panel.workspace
    form = from_file(path, list(workspace.connectors), _roles)
    for role, (account, symbol) in form.markets.items():
        if symbol is not None and symbol not in workspace.connectors[account].instruments:
            raise ConfigError(str(path), "symbol" if len(form.markets) == 1 else f"markets.{role}.symbol",
                              f"{symbol} is not traded on the window's {account} account "
                              f"(it has {', '.join(workspace.connectors[account].instruments)})")
    fill_strategy_box(panel.strategy)  # a strategy file the config named is listed now
    index = panel.strategy.findData(form.strategy)
    if index < 0:
        raise ConfigError(str(path), "strategy.name", f"{form.strategy} is not available in the window")
    panel.strategy.setCurrentIndex(index)  # rebuilds the form and the market pickers for it
    for role, picker in panel.pickers.items():
        account, symbol = form.markets.get(role, (NONE, None))
        picker.account.setCurrentText(account)
        if symbol is not None:
            picker.symbol.setCurrentText(symbol)
        elif picker.symbol.count():
            picker.symbol.setCurrentIndex(0)
    assert panel.form is not None
    panel.form.set_values({k: _text(v) for k, v in form.params.items()})
    panel.risk_form.set_values({f.name: "" if form.risk.get(f.name) is None else _text(form.risk[f.name])
                                for f in panel.risk_form.schema.fields})
    return form


def _text(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value else "0"
    return value


def add_config_file_actions(menu: QMenu, panel: "BotsPanel", parent: QWidget) -> None:
    """"Import bot config…" and "Export bot config…" in the Bots menu."""
    importing = menu.addAction("Import bot config…")
    importing.setObjectName("import_bot_config")
    exporting = menu.addAction("Export bot config…")
    exporting.setObjectName("export_bot_config")

    def ask_import() -> None:
        dialog = _dialog(parent, "Import a bot config", "")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(lambda path: run_import(panel, path))
        dialog.open()  # never exec() inside the qasync loop

    def ask_export() -> None:
        dialog = _dialog(parent, "Export the bot form as a config", f"{panel.strategy.currentData()}.yaml")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("yaml")
        dialog.fileSelected.connect(lambda path: run_export(panel, path))
        dialog.open()

    importing.triggered.connect(ask_import)
    exporting.triggered.connect(ask_export)


def _dialog(parent: QWidget, title: str, name: str) -> QFileDialog:
    dialog = QFileDialog(parent, title, name, FILTER)
    dialog.setObjectName("bot_config_dialog")
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    return dialog


def run_import(panel: "BotsPanel", path: str | Path) -> bool:
    """Import with its outcome in the panel's message line (one line on failure)."""
    try:
        form = import_config(panel, path)
    except ConfigError as exc:
        panel.message.setText(f"Not imported: {exc}")
        log.warning("bot config not imported: %s", exc)
        return False
    panel.remember_form()
    notes = "; ".join(form.notes)
    panel.message.setText(f"Imported {Path(path).name}: {form.strategy}. Check the form, then Start."
                          + (f" Note: {notes}." if notes else ""))
    return True


def run_export(panel: "BotsPanel", path: str | Path) -> bool:
    try:
        export_config(panel, path)
    except ConfigError as exc:
        panel.message.setText(f"Not exported: {exc}")
        log.warning("bot config not exported: %s", exc)
        return False
    panel.message.setText(f"Exported the form to {path}.")
    return True
