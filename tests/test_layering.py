"""Dependencies point one way, and the core stays Qt-free: the import-linter contracts in
.importlinter (domain < book < interfaces < connectors, strategies < engine < wiring < ui;
app/, connectors/ and strategies/ never import Qt), checked on every test run."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def test_a_broken_layer_is_caught(tmp_path):
    """The check can fail: a domain module importing the engine breaks the layers."""
    config = (ROOT / ".importlinter").read_text()
    probe = ROOT / "app" / "domain" / "_layering_probe.py"
    probe.write_text("import app.engine.bot  # noqa: F401 - deliberately upward\n")
    try:
        (tmp_path / "importlinter.ini").write_text(config)
        lint = Path(sys.executable).with_name("lint-imports")
        result = subprocess.run([str(lint), "--config", str(tmp_path / "importlinter.ini"), "--no-cache"],
                                cwd=ROOT, capture_output=True, text=True, timeout=300)
    finally:
        probe.unlink()
    assert result.returncode != 0 and "app.domain._layering_probe -> app.engine.bot" in result.stdout
