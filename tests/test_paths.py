"""Where Colibri's files live on each OS (app/paths.py), and how a bundle re-runs itself
(app/own_commands.py)."""
import sys
from pathlib import Path

import pytest

from app import own_commands, paths


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("COLIBRI_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "APPDATA", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: tmp_path))
    return tmp_path


def test_linux_follows_xdg_and_its_defaults(clean_env, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert paths.config_dir() == clean_env / ".config" / "colibri"
    assert paths.data_dir() == clean_env / ".local" / "share" / "colibri"
    assert paths.log_dir() == clean_env / ".local" / "state" / "colibri" / "logs"
    monkeypatch.setenv("XDG_CONFIG_HOME", "/x/config")
    monkeypatch.setenv("XDG_DATA_HOME", "relative/ignored")  # the spec: relative paths are invalid
    assert paths.config_dir() == Path("/x/config/colibri")
    assert paths.data_dir() == clean_env / ".local" / "share" / "colibri"


def test_macos_and_windows_use_their_standard_folders(clean_env, monkeypatch):
    monkeypatch.setattr(sys, "platform", "darwin")
    assert paths.config_dir() == clean_env / "Library" / "Application Support" / "Colibri"
    assert paths.log_dir() == clean_env / "Library" / "Logs" / "Colibri"
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(clean_env / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(clean_env / "Local"))
    assert paths.config_dir() == clean_env / "Roaming" / "Colibri"
    assert paths.data_dir() == clean_env / "Local" / "Colibri"
    assert paths.log_dir() == clean_env / "Local" / "Colibri" / "logs"


def test_colibri_home_holds_everything(clean_env, monkeypatch):
    monkeypatch.setenv("COLIBRI_HOME", str(clean_env / "portable"))
    where = paths.locations()
    assert where.configs == where.data == clean_env / "portable"
    assert where.logs == clean_env / "portable" / "logs"
    assert where.journal == clean_env / "portable" / "journal.sqlite"
    assert [label for label, _ in where.rows()][:4] == ["Configs and accounts", "Data and caches", "Logs", "Journal"]


def test_a_journal_left_by_an_earlier_version_is_still_used(clean_env, monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    assert paths.journal_file() == clean_env / ".local" / "share" / "colibri" / "journal.sqlite"
    legacy = clean_env / ".config" / "colibri" / "journal.sqlite"
    legacy.parent.mkdir(parents=True)
    legacy.write_bytes(b"")
    assert paths.journal_file() == legacy


def test_resources_are_found_from_source_and_in_a_bundle(monkeypatch, tmp_path):
    assert (paths.resources_dir() / "configs" / "demo.yaml").is_file()
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert paths.resources_dir() == tmp_path / "resources"


def test_child_commands_from_source_and_bundled(monkeypatch):
    assert own_commands.module_command("ui.reports.plots", "r.json") == [sys.executable, "-m", "ui.reports.plots",
                                                                         "r.json"]
    assert own_commands.colibri_command("--qt-probe")[1].endswith("main.py")
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert own_commands.module_command("ui.reports.plots", "r.json") == [
        sys.executable, "--run-module", "ui.reports.plots", "r.json"]
    assert own_commands.colibri_command("exchange", "serve") == [sys.executable, "exchange", "serve"]



def test_a_bundle_keeps_recordings_and_their_cache_in_the_user_data(clean_env, monkeypatch):
    """An install folder may be read-only (/opt) or signed (macOS): never write there."""
    from app.data import store

    monkeypatch.delenv("COLIBRI_DATA_DIR", raising=False)
    monkeypatch.delenv("COLIBRI_CACHE_DIR", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    assert store.default_cache_dir() == Path(store.__file__).resolve().parents[2] / ".cache" / "recordings"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    assert store.default_cache_dir() == clean_env / ".local" / "share" / "colibri" / "cache" / "recordings"
    assert store.recordings_dir() == clean_env / ".local" / "share" / "colibri" / "recordings"
