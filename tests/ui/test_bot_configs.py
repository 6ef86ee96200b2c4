"""The bot form remembers its values per strategy, and configs go in and out as YAML files."""
from __future__ import annotations

from decimal import Decimal

import pytest
from PySide6.QtCore import QSettings

from app.config.bot_config import load_config
from app.interfaces.clock import SimClock
from app.wiring.workspace import build_workspace
from ui.bots.bots_dock import BotsPanel
from ui.bots.config_files import run_export, run_import
from ui.bots.form_memory import FormMemory

S = 1_000_000_000


@pytest.fixture
def workspace():
    ws = build_workspace(SimClock(S))
    ws.start()
    yield ws
    ws.shutdown()


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "colibri.ini"), QSettings.Format.IniFormat)


def make_panel(qtbot, workspace, settings=None):
    panel = BotsPanel(workspace)
    qtbot.addWidget(panel)
    if settings is not None:
        panel.attach_memory(FormMemory(settings))
    return panel


def choose(panel, strategy: str) -> None:
    panel.strategy.setCurrentIndex(panel.strategy.findData(strategy))


def text(form, name: str) -> str:
    return form.raw_values().get(name, "")


def test_the_form_remembers_its_last_values_per_strategy(qtbot, workspace, settings):
    panel = make_panel(qtbot, workspace, settings)
    choose(panel, "simple_quoter")
    panel.account.setCurrentText("paper")
    panel.form.set_values({"order_amount": "0.0123", "bid_spread_bps": "4"})
    panel.risk_form.set_values({"max_open_orders": "6"})
    choose(panel, "grid")  # switching away keeps simple_quoter's values
    choose(panel, "simple_quoter")
    assert text(panel.form, "order_amount") == "0.0123" and text(panel.form, "bid_spread_bps") == "4"
    panel.remember_form()  # as the window does when it closes

    again = make_panel(qtbot, workspace, settings)  # the next start of the app
    choose(again, "simple_quoter")
    assert text(again.form, "order_amount") == "0.0123" and text(again.form, "bid_spread_bps") == "4"
    assert text(again.risk_form, "max_open_orders") == "6"
    assert again.account.currentText() == "paper"


def test_without_memory_the_form_starts_from_the_defaults(qtbot, workspace, settings):
    settings.setValue("botForms/simple_quoter", "{not json")
    panel = make_panel(qtbot, workspace, settings)  # an unreadable entry: defaults, no error
    choose(panel, "simple_quoter")
    assert text(panel.form, "order_amount") == str(panel.form.schema.by_name()["order_amount"].default)


def test_export_then_import_round_trip(qtbot, workspace, tmp_path):
    panel = make_panel(qtbot, workspace)
    choose(panel, "simple_quoter")
    panel.account.setCurrentText("paper")
    panel.form.set_values({"order_amount": "0.0123", "bid_spread_bps": "2.5", "post_only": False})
    panel.risk_form.set_values({"max_order_size": "0.5", "flatten_on_stop": True})
    path = tmp_path / "quoter.yaml"
    assert run_export(panel, path), panel.message.text()
    cfg = load_config(path)  # the CLI reads it as it is
    assert cfg.strategy == "simple_quoter" and cfg.params["order_amount"] == Decimal("0.0123")
    assert cfg.venue["kind"] == "demo" and cfg.venue["account"] == "paper"
    assert cfg.risk.get("max_order_size") == Decimal("0.5") and cfg.risk.get("flatten_on_stop") is True
    exported = (panel.form.raw_values(), panel.risk_form.raw_values())

    other = make_panel(qtbot, workspace)
    choose(other, "grid")
    assert run_import(other, path), other.message.text()
    assert other.strategy.currentData() == "simple_quoter" and other.account.currentText() == "paper"
    assert (other.form.raw_values(), other.risk_form.raw_values()) == exported


def test_a_two_market_config_round_trips_with_its_roles(qtbot, workspace, tmp_path):
    panel = make_panel(qtbot, workspace)
    choose(panel, "cross_exchange_market_making")
    panel.pickers["taker"].account.setCurrentText("demo-lagged")
    path = tmp_path / "xemm.yaml"
    assert run_export(panel, path), panel.message.text()
    cfg = load_config(path)
    assert cfg.markets["taker"].venue["follow"] == "maker"
    other = make_panel(qtbot, workspace)
    assert run_import(other, path), other.message.text()
    assert other.bindings() == panel.bindings()


@pytest.mark.parametrize("content, words", [
    ("strategy: {name: simple_quoter, params: {order_amount: -1}}\n", "order_amount"),
    ("venue: {kind: ccxt, exchange_account: nowhere}\n", "not connected"),
    ("venue: {kind: demo}\nsymbol: DOGE/EUR\n", "not traded"),
    ("strategy: [1, 2\n", "invalid YAML"),
    ("strategy: {name: no_such_strategy}\n", "unknown strategy"),
])
def test_a_bad_file_is_one_line_and_changes_nothing(qtbot, workspace, tmp_path, content, words):
    panel = make_panel(qtbot, workspace)
    choose(panel, "grid")
    before = (panel.strategy.currentData(), panel.form.raw_values(), panel.risk_form.raw_values(),
              panel.bindings())
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    assert not run_import(panel, path)
    message = panel.message.text()
    assert message.startswith("Not imported: ") and words in message and "\n" not in message
    assert "Traceback" not in message
    assert (panel.strategy.currentData(), panel.form.raw_values(), panel.risk_form.raw_values(),
            panel.bindings()) == before


def test_an_invalid_form_is_not_exported(qtbot, workspace, tmp_path):
    panel = make_panel(qtbot, workspace)
    choose(panel, "simple_quoter")
    panel.form.set_values({"order_amount": "lots"})
    path = tmp_path / "never.yaml"
    assert not run_export(panel, path)
    assert panel.message.text().startswith("Not exported: ") and "order_amount" in panel.message.text()
    assert not path.exists()


def test_the_bots_menu_exports_and_imports_through_file_dialogs(qtbot, workspace, tmp_path):
    """The menu's two entries open non-blocking file dialogs; choosing a file runs the export
    or import."""
    from PySide6.QtWidgets import QFileDialog, QMenu

    from ui.bots.config_files import add_config_file_actions

    panel = make_panel(qtbot, workspace)
    menu = QMenu(panel)
    add_config_file_actions(menu, panel, panel)
    actions = {a.objectName(): a for a in menu.actions()}
    choose(panel, "simple_quoter")
    panel.form.set_values({"order_amount": "0.0456"})
    path = tmp_path / "menu.yaml"
    actions["export_bot_config"].trigger()
    dialog = panel.findChild(QFileDialog, "bot_config_dialog")
    assert dialog is not None and dialog.isVisible()
    dialog.fileSelected.emit(str(path))
    dialog.close()
    assert load_config(path).params["order_amount"] == Decimal("0.0456")
    panel.form.set_values({"order_amount": "0.1"})
    actions["import_bot_config"].trigger()
    dialog = [d for d in panel.findChildren(QFileDialog, "bot_config_dialog") if d.isVisible()][0]
    dialog.fileSelected.emit(str(path))
    dialog.close()
    assert text(panel.form, "order_amount") == "0.0456"


def test_a_strategy_of_your_own_is_exported_with_its_file(qtbot, workspace, tmp_path):
    from pathlib import Path

    from strategies import user_files

    example = Path(__file__).resolve().parents[2] / "resources" / "examples" / "my_first_strategy.py"
    mine = tmp_path / "mine.py"
    mine.write_text(example.read_text())
    loaded = user_files.ensure_loaded(mine)
    try:
        panel = make_panel(qtbot, workspace)
        panel.refresh_strategies()
        choose(panel, "my_first_strategy")
        path = tmp_path / "mine.yaml"
        assert run_export(panel, path), panel.message.text()
        cfg = load_config(path)
        assert cfg.strategy == "my_first_strategy" and cfg.strategy_file == mine.resolve()
        other = make_panel(qtbot, workspace)
        assert run_import(other, path), other.message.text()
        assert other.strategy.currentData() == "my_first_strategy"
    finally:
        user_files.forget(loaded.path)
