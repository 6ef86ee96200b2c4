"""Dock layout persistence with QSettings, versioned, with a reset to the default.

QMainWindow.saveState() is only meaningful for the set of docks that existed when it was
saved. When a release adds, removes or renames docks, bump LAYOUT_VERSION: a saved state
of another version is ignored (the default layout is kept) instead of restoring a broken
arrangement. Docks and toolbars need a stable objectName to be saved; those without one
are reported in the log.
"""
from __future__ import annotations

import json
import logging

from PySide6.QtCore import QByteArray, QRect, QSettings
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolBar

from app.paths import settings_file

log = logging.getLogger(__name__)

ORGANISATION = "Colibri"
APPLICATION = "Colibri"
LAYOUT_VERSION = 3  # 2: the Order ticket dock (manual trading); 3: the Bot history dock

KEY_VERSION = "layout/version"
KEY_GEOMETRY = "layout/geometry"
KEY_STATE = "layout/state"
KEY_FLOATING_SCREENS = "layout/floatingScreens"  # JSON: floating dock -> the name of the screen it was on


def default_settings() -> QSettings:
    """The app's settings store: per user, platform-native; a file under $COLIBRI_HOME when
    that is set, so that it too keeps everything in one folder (app/paths.py)."""
    file = settings_file()
    if file is not None:
        return QSettings(str(file), QSettings.Format.IniFormat)
    return QSettings(ORGANISATION, APPLICATION)


def unnamed_parts(window: QMainWindow) -> list[str]:
    """Docks/toolbars without an objectName (saveState cannot place them)."""
    parts = [*window.findChildren(QDockWidget), *window.findChildren(QToolBar)]
    return [f"{type(p).__name__} '{p.windowTitle()}'" for p in parts if not p.objectName()]


def _to_bytes(value: object) -> QByteArray | None:
    if isinstance(value, QByteArray):
        return value if not value.isEmpty() else None
    if isinstance(value, (bytes, bytearray)) and value:
        return QByteArray(bytes(value))
    return None


def save_layout(window: QMainWindow, settings: QSettings | None = None) -> None:
    """Stores geometry and dock state under the current LAYOUT_VERSION."""
    settings = settings if settings is not None else default_settings()
    missing = unnamed_parts(window)
    if missing:
        log.warning("layout: not saved for parts without objectName: %s", ", ".join(missing))
    settings.setValue(KEY_VERSION, LAYOUT_VERSION)
    settings.setValue(KEY_GEOMETRY, window.saveGeometry())
    settings.setValue(KEY_STATE, window.saveState(LAYOUT_VERSION))
    screens = {}
    for dock in window.findChildren(QDockWidget):
        if dock.isFloating() and dock.objectName():
            screen = QGuiApplication.screenAt(dock.geometry().center()) or dock.screen()  # by position first
            if screen is not None:
                screens[dock.objectName()] = screen.name()
    settings.setValue(KEY_FLOATING_SCREENS, json.dumps(screens, sort_keys=True))
    settings.sync()


def saved_version(settings: QSettings) -> int | None:
    value = settings.value(KEY_VERSION)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def restore_layout(window: QMainWindow, settings: QSettings | None = None) -> bool:
    """Restores the saved layout; False (and the window untouched) if none or another version."""
    settings = settings if settings is not None else default_settings()
    version = saved_version(settings)
    if version is None:
        return False
    if version != LAYOUT_VERSION:
        log.info("layout: saved layout is version %s, this build uses %s; using the default", version, LAYOUT_VERSION)
        return False
    geometry = _to_bytes(settings.value(KEY_GEOMETRY))
    state = _to_bytes(settings.value(KEY_STATE))
    if state is None:
        return False
    if geometry is not None:
        window.restoreGeometry(geometry)
    if not window.restoreState(state, LAYOUT_VERSION):
        log.warning("layout: the saved dock state could not be restored; using the default")
        return False
    bring_floating_docks_on_screen(window, _saved_screens(settings))
    return True


def _saved_screens(settings: QSettings) -> dict[str, str]:
    try:
        value = json.loads(str(settings.value(KEY_FLOATING_SCREENS) or "{}"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


MIN_VISIBLE_PX = 48
"""How much of a floating dock must lie on a screen for it to count as reachable."""


def _reachable(rect: QRect, screens: list[QRect]) -> bool:
    """At least a MIN_VISIBLE_PX square of `rect`, including part of its title strip, on a screen."""
    title = QRect(rect.left(), rect.top(), rect.width(), MIN_VISIBLE_PX)
    for area in screens:
        shown, grip = rect.intersected(area), title.intersected(area)
        if shown.width() >= MIN_VISIBLE_PX and shown.height() >= MIN_VISIBLE_PX and not grip.isEmpty():
            return True
    return False


def bring_floating_docks_on_screen(window: QMainWindow, saved_screens: dict[str, str] | None = None) -> list[str]:
    """Moves every floating dock that was saved on a screen that is gone (`saved_screens`:
    dock -> screen name at save time), or that lies off every screen, to the middle of the
    window's current screen, shrunk to fit it. (Qt only clamps such a dock into the nearest
    or primary screen, which may not be where the window is, or leaves it unreachable on
    some platforms.) Returns the docks moved."""
    screens = [s.availableGeometry() for s in QGuiApplication.screens()]
    if not screens:
        return []
    names = {s.name() for s in QGuiApplication.screens()}
    saved_screens = saved_screens or {}
    target_screen = window.screen() or QGuiApplication.primaryScreen()
    target = target_screen.availableGeometry() if target_screen is not None else screens[0]
    moved = []
    for dock in window.findChildren(QDockWidget):
        if not dock.isFloating():
            continue
        rect = dock.geometry()
        gone = saved_screens.get(dock.objectName(), "") not in names | {""}
        if not gone and _reachable(rect, screens):
            continue
        size = rect.size().boundedTo(target.size() * 0.8)
        placed = QRect(0, 0, max(size.width(), 120), max(size.height(), 80))
        placed.moveCenter(target.center())
        dock.setGeometry(placed)
        moved.append(dock.objectName())
        log.info("layout: floating dock %s was %s; moved to the window's screen", dock.objectName(),
                 "on a screen that is gone" if gone else "off every screen")
    return moved


def clear_layout(settings: QSettings | None = None) -> None:
    settings = settings if settings is not None else default_settings()
    for key in (KEY_VERSION, KEY_GEOMETRY, KEY_STATE, KEY_FLOATING_SCREENS):
        settings.remove(key)
    settings.sync()


def reset_layout(window: QMainWindow, default_state: QByteArray, settings: QSettings | None = None) -> bool:
    """Puts the docks back where the app first placed them and forgets the saved layout.

    `default_state` is `window.saveState(LAYOUT_VERSION)` taken right after the main
    window built its docks and before `restore_layout` (see LayoutManager).
    """
    clear_layout(settings)
    for dock in window.findChildren(QDockWidget):
        dock.setFloating(False)
    return window.restoreState(default_state, LAYOUT_VERSION)


class LayoutManager:
    """What the main window calls: capture_default() after building docks, restore() on
    start, save() on close, reset() from the View menu."""

    def __init__(self, window: QMainWindow, settings: QSettings | None = None) -> None:
        self.window = window
        self.settings = settings if settings is not None else default_settings()
        self.default_state: QByteArray | None = None

    def capture_default(self) -> None:
        self.default_state = self.window.saveState(LAYOUT_VERSION)

    def restore(self) -> bool:
        if self.default_state is None:
            self.capture_default()
        return restore_layout(self.window, self.settings)

    def save(self) -> None:
        save_layout(self.window, self.settings)

    def reset(self) -> bool:
        if self.default_state is None:
            raise RuntimeError("capture_default() must run before the layout can be reset")
        return reset_layout(self.window, self.default_state, self.settings)
