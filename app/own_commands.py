"""Command lines that start Colibri again in a child process, from source or bundled.

From source, a child is `python main.py ...` or `python -m module ...`. In a PyInstaller
bundle sys.executable is Colibri itself and takes neither `-c` nor `-m`: it runs modules
through the hidden `--run-module` entry that main.py handles before anything else.
"""
from __future__ import annotations

import sys
from pathlib import Path

from app.paths import is_bundled

RUN_MODULE_FLAG = "--run-module"
"""main.py's internal entry: `colibri --run-module MODULE ARGS...` runs MODULE as __main__."""
QT_PROBE_FLAG = "--qt-probe"
"""main.py's internal entry: start Qt's GUI platform and exit (main.py: qt_problem())."""

_MAIN = Path(__file__).resolve().parents[1] / "main.py"


def colibri_command(*args: str) -> list[str]:
    """`colibri ARGS...`: the same program as this one, from source or bundled."""
    if is_bundled():
        return [sys.executable, *args]
    return [sys.executable, str(_MAIN), *args]


def module_command(module: str, *args: str) -> list[str]:
    """Runs `module` as a script (`python -m module ARGS...`), from source or bundled."""
    if is_bundled():
        return [sys.executable, RUN_MODULE_FLAG, module, *args]
    return [sys.executable, "-m", module, *args]
