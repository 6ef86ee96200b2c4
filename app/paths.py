"""Where Colibri keeps its files on each OS, and where its own resources are.

One module decides, so the About dialog, the self-test and the docs name the same places:
configs (accounts, the key file, settings) roam with the user; data (markets caches, the
journal), logs and recordings stay on the machine. $COLIBRI_HOME puts everything under one
folder instead (tests, portable installs, several independent set-ups on one machine).

Linux follows the XDG base directories, macOS Application Support and Logs, Windows
AppData (Roaming for configs, Local for the rest).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

HOME_ENV = "COLIBRI_HOME"
APP_DIR_NAME = "Colibri"
"""The folder name on macOS and Windows; XDG folders are lower case by convention."""


def _override() -> Path | None:
    value = os.environ.get(HOME_ENV)
    return Path(value) if value else None


def _xdg(variable: str, fallback: str) -> Path:
    value = os.environ.get(variable)
    base = Path(value) if value and Path(value).is_absolute() else Path.home() / fallback
    return base / "colibri"


def _per_user(windows_env: str, windows_default: str, xdg_variable: str, xdg_default: str) -> Path:
    """$COLIBRI_HOME, else the OS's folder: %windows_env%\\Colibri, Application Support, or
    $xdg_variable/colibri (each with its documented default when the variable is unset)."""
    override = _override()
    if override:
        return override
    if sys.platform == "win32":
        return Path(os.environ.get(windows_env) or Path.home() / "AppData" / windows_default) / APP_DIR_NAME
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / APP_DIR_NAME
    return _xdg(xdg_variable, xdg_default)


def config_dir() -> Path:
    """Accounts, the encrypted key file, strategy files: what a user moves between machines."""
    return _per_user("APPDATA", "Roaming", "XDG_CONFIG_HOME", ".config")


def data_dir() -> Path:
    """Market caches, the journal, recordings: machine-local and possibly large."""
    return _per_user("LOCALAPPDATA", "Local", "XDG_DATA_HOME", ".local/share")


def log_dir() -> Path:
    """The desktop app's log files (a bundled app on Windows has no console to print to)."""
    override = _override()
    if override:
        return override / "logs"
    if sys.platform == "win32":
        return data_dir() / "logs"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Logs" / APP_DIR_NAME
    return _xdg("XDG_STATE_HOME", ".local/state") / "logs"


def journal_file() -> Path:
    """The desktop app's SQLite journal. Earlier versions kept it beside the configs: an
    existing journal there is still used, so an upgrade never loses the orders it holds."""
    legacy = config_dir() / "journal.sqlite"
    if legacy.exists():
        return legacy
    return data_dir() / "journal.sqlite"


def settings_file() -> Path | None:
    """The desktop's settings (layout, hotkeys, bot forms' last values) as an INI file under
    $COLIBRI_HOME; None without it: the platform's own store (registry, plist, ~/.config)."""
    override = _override()
    return override / "settings.ini" if override else None


def resources_dir() -> Path:
    """The app's own read-only files (example configs, icons): beside the source tree, or
    in a PyInstaller bundle where the bootloader unpacked them (sys._MEIPASS)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[1] / "resources"


def is_bundled() -> bool:
    """True in a PyInstaller bundle, where sys.executable is Colibri itself, not Python."""
    return bool(getattr(sys, "frozen", False))


@dataclass(frozen=True)
class Locations:
    """The places shown in the About dialog and printed by the self-test."""

    configs: Path
    data: Path
    logs: Path
    journal: Path
    resources: Path

    def rows(self) -> list[tuple[str, Path]]:
        return [("Configs and accounts", self.configs), ("Data and caches", self.data),
                ("Logs", self.logs), ("Journal", self.journal), ("App resources", self.resources)]


def locations() -> Locations:
    return Locations(config_dir(), data_dir(), log_dir(), journal_file(), resources_dir())
