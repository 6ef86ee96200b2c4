"""Dock layout save/restore with a versioned QSettings store in a temp dir."""
from __future__ import annotations

import logging

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow

import ui.layout as layout
from ui.layout import LAYOUT_VERSION, LayoutManager, default_settings, restore_layout, save_layout

LEFT = Qt.DockWidgetArea.LeftDockWidgetArea
RIGHT = Qt.DockWidgetArea.RightDockWidgetArea
BOTTOM = Qt.DockWidgetArea.BottomDockWidgetArea


def make_window(qtbot, *, name_docks: bool = True) -> QMainWindow:
    window = QMainWindow()
    qtbot.addWidget(window)
    window.setCentralWidget(QLabel("book"))
    for name, area in (("accountsDock", LEFT), ("logDock", BOTTOM), ("healthDock", RIGHT)):
        dock = QDockWidget(name, window)
        if name_docks:
            dock.setObjectName(name)
        dock.setWidget(QLabel(name))
        window.addDockWidget(area, dock)
    window.resize(900, 600)
    return window


def dock(window: QMainWindow, name: str) -> QDockWidget:
    return window.findChild(QDockWidget, name)


@pytest.fixture
def settings(tmp_path):
    return QSettings(str(tmp_path / "colibri.ini"), QSettings.Format.IniFormat)


def rearrange(window: QMainWindow) -> None:
    window.addDockWidget(RIGHT, dock(window, "logDock"))
    dock(window, "healthDock").hide()


def test_save_and_restore_round_trip(qtbot, settings):
    first = make_window(qtbot)
    rearrange(first)
    save_layout(first, settings)
    assert settings.value(layout.KEY_VERSION) in (LAYOUT_VERSION, str(LAYOUT_VERSION))

    second = make_window(qtbot)
    assert second.dockWidgetArea(dock(second, "logDock")) == BOTTOM
    assert restore_layout(second, settings) is True
    assert second.dockWidgetArea(dock(second, "logDock")) == RIGHT
    assert dock(second, "healthDock").isHidden()
    assert not dock(second, "accountsDock").isHidden()


def test_nothing_saved_keeps_default(qtbot, settings):
    window = make_window(qtbot)
    assert restore_layout(window, settings) is False
    assert window.dockWidgetArea(dock(window, "logDock")) == BOTTOM


def test_version_mismatch_ignores_saved_state(qtbot, settings, monkeypatch, caplog):
    old = make_window(qtbot)
    rearrange(old)
    save_layout(old, settings)
    monkeypatch.setattr(layout, "LAYOUT_VERSION", LAYOUT_VERSION + 1)
    new = make_window(qtbot)
    with caplog.at_level(logging.INFO, logger="ui.layout"):
        assert restore_layout(new, settings) is False
    assert new.dockWidgetArea(dock(new, "logDock")) == BOTTOM
    assert not dock(new, "healthDock").isHidden()
    assert any("version" in r.getMessage() for r in caplog.records)


def test_corrupt_state_is_ignored(qtbot, settings):
    settings.setValue(layout.KEY_VERSION, LAYOUT_VERSION)
    settings.setValue(layout.KEY_STATE, b"garbage")
    window = make_window(qtbot)
    assert restore_layout(window, settings) is False
    assert window.dockWidgetArea(dock(window, "logDock")) == BOTTOM


def test_manager_reset_restores_default_and_forgets_saved(qtbot, settings):
    window = make_window(qtbot)
    manager = LayoutManager(window, settings)
    with pytest.raises(RuntimeError):
        manager.reset()
    manager.capture_default()
    rearrange(window)
    dock(window, "accountsDock").setFloating(True)
    manager.save()
    assert manager.reset() is True
    assert window.dockWidgetArea(dock(window, "logDock")) == BOTTOM
    assert not dock(window, "healthDock").isHidden()
    assert not dock(window, "accountsDock").isFloating()
    assert settings.value(layout.KEY_STATE) is None

    again = make_window(qtbot)
    assert LayoutManager(again, settings).restore() is False, "a reset layout is not restored next start"


def test_unnamed_docks_are_reported(qtbot, settings, caplog):
    window = make_window(qtbot, name_docks=False)
    with caplog.at_level(logging.WARNING, logger="ui.layout"):
        save_layout(window, settings)
    assert any("objectName" in r.getMessage() for r in caplog.records)


def test_default_settings_names():
    settings = default_settings()
    assert (settings.organizationName(), settings.applicationName()) == ("Colibri", "Colibri")
