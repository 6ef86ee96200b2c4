"""Help → About: the version and the real locations (app/paths.py), folders that open, details
that copy, and the menu entry in the main window's menu bar."""
from __future__ import annotations

from PySide6.QtGui import QDesktopServices, QGuiApplication

from app.paths import locations
from app.version import __version__
from ui.dialogs.about import AboutDialog


def test_about_shows_version_and_the_locations_the_app_uses(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path / "home"))
    from app import keystore

    def no_secret_service(choice=None):
        raise keystore.KeystoreUnavailable("no usable Secret Service (system keyring): no D-Bus session")

    monkeypatch.setattr(keystore, "resolve_backend", no_secret_service)
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    shown = [value.text() for value in dialog.rows.values()]
    assert shown[:5] == [str(path) for _, path in locations().rows()]
    assert list(dialog.rows)[5:] == ["Recordings", "Recordings cache", "Window layout and hotkeys"]
    assert dialog.rows["Logs"].text() == str(tmp_path / "home" / "logs")
    assert f"Colibri {__version__} (from source)" in dialog.details()
    assert "Key store: none usable: no usable Secret Service" in dialog.keyring.text()

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url.toLocalFile()) or True)
    assert dialog.open_folder(tmp_path / "home" / "logs")
    assert opened == [str(tmp_path / "home" / "logs")] and (tmp_path / "home" / "logs").is_dir()
    dialog.copy_details()
    assert QGuiApplication.clipboard().text() == dialog.details()


def test_a_folder_that_cannot_be_made_is_not_opened(qtbot, tmp_path, monkeypatch):
    from app import keystore

    monkeypatch.setattr(keystore, "resolve_backend", lambda choice=None: (_ for _ in ()).throw(
        keystore.KeystoreUnavailable("none here")))
    dialog = AboutDialog()
    qtbot.addWidget(dialog)
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: (_ for _ in ()).throw(AssertionError("opened")))
    assert not dialog.open_folder(blocker / "logs")
