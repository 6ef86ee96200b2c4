"""Help → About Colibri: the version, what it runs on, and where its files are.

The locations come from app/paths.py, the same function the self-test prints, so what a
user is told to back up, move or delete is where the app really writes. Each folder opens
in the system's file manager; the whole text copies to the clipboard for a bug report.
"""
from __future__ import annotations

import platform
from pathlib import Path

from PySide6 import __version__ as pyside_version
from PySide6.QtCore import Qt, QUrl, qVersion
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (QDialog, QDialogButtonBox, QGridLayout, QLabel, QPushButton, QVBoxLayout,
                               QWidget)

from app.paths import is_bundled, locations
from app.version import __version__


def runtime_text() -> str:
    how = "installed bundle" if is_bundled() else "from source"
    return (f"Colibri {__version__} ({how}) · Python {platform.python_version()} · PySide6 {pyside_version} "
            f"(Qt {qVersion()}) · {platform.system()} {platform.release()} {platform.machine()}")


def keyring_text() -> str:
    """The key store in use, or why there is none: asked lazily, it may talk to D-Bus."""
    from app import keystore

    try:
        return keystore.describe_backend(keystore.resolve_backend())
    except keystore.SecretStoreError as exc:
        return f"none usable: {exc}"


def about_rows() -> list[tuple[str, Path]]:
    """app/paths.py's locations, the recordings and their cache (app/data/store.py), and the
    file where Qt keeps the window layout, hotkeys and switches."""
    from app.data.store import default_cache_dir, recordings_dir
    from ui.layout import default_settings

    rows = locations().rows() + [("Recordings", recordings_dir()), ("Recordings cache", default_cache_dir())]
    store = default_settings().fileName()
    if not store.startswith("\\HKEY"):  # Windows keeps them in the registry, not in a file
        rows.append(("Window layout and hotkeys", Path(store)))
    return rows


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("about_dialog")
        self.setWindowTitle("About Colibri")
        self.setMinimumWidth(640)
        title = QLabel(f"<h2>Colibri {__version__}</h2>Open-source market making and algorithmic trading.")
        runtime = QLabel(runtime_text(), objectName="about_runtime")
        runtime.setWordWrap(True)
        grid = QGridLayout()
        self.rows: dict[str, QLabel] = {}
        for row, (label, path) in enumerate(about_rows()):
            value = QLabel(str(path), objectName=f"about_path_{row}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            folder = path if path.suffix == "" else path.parent
            button = QPushButton("Open", objectName=f"about_open_{row}")
            button.setToolTip(f"Open {folder} in the file manager (created if missing)")
            button.clicked.connect(lambda _checked=False, f=folder: self.open_folder(f))
            grid.addWidget(QLabel(label), row, 0)
            grid.addWidget(value, row, 1)
            grid.addWidget(button, row, 2)
            self.rows[label] = value
        grid.setColumnStretch(1, 1)  # the paths get the width, the buttons stay small
        self.keyring = QLabel(f"Key store: {keyring_text()}", objectName="about_keyring")
        self.keyring.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        copy = buttons.addButton("Copy details", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(self.copy_details)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        for widget in (title, runtime):
            layout.addWidget(widget)
        layout.addLayout(grid)
        layout.addWidget(self.keyring)
        layout.addWidget(buttons)

    def details(self) -> str:
        lines = [runtime_text()] + [f"{label}: {value.text()}" for label, value in self.rows.items()]
        return "\n".join(lines + [self.keyring.text()])

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details())

    def open_folder(self, folder) -> bool:  # noqa: ANN001 - Path
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def show_about(parent: QWidget) -> AboutDialog:
    dialog = AboutDialog(parent)
    dialog.open()  # non-blocking: the market keeps drawing behind it
    return dialog
