"""The core stays Qt-free: app/, connectors/ and strategies/ never import Qt or pyqtgraph."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(r"^\s*(?:from|import|cimport)\s+(PySide6|PyQt\w*|shiboken6|pyqtgraph|qasync|ui)\b", re.M)


def test_core_packages_do_not_import_qt_or_ui():
    offenders = []
    for package in ("app", "connectors", "strategies"):
        for path in (ROOT / package).rglob("*"):
            if path.suffix in (".py", ".pyx", ".pxd"):
                for match in FORBIDDEN.finditer(path.read_text(encoding="utf-8")):
                    offenders.append(f"{path.relative_to(ROOT)}: {match.group(0).strip()}")
    assert not offenders, "Qt imported in the core:\n" + "\n".join(offenders)
