"""Colibri's entry point: `python main.py` opens the desktop app (or, without a display,
runs the headless demo); `python main.py --help` lists the subcommands.

The Qt face is handed to the Qt-free CLI from here, so app/ never imports ui/.
"""
import os
import subprocess
import sys

_QT_PROBE = "import sys; from PySide6.QtGui import QGuiApplication; QGuiApplication(sys.argv[:1])"


def qt_problem() -> str | None:
    """Why Qt cannot start here, in one line, or None.

    A Qt platform plugin that cannot start (no X server behind DISPLAY, missing xcb
    libraries) aborts the whole process from C++, which no Python code can catch: so on
    Linux a child process tries first (a fraction of a second)."""
    try:
        import PySide6.QtWidgets  # noqa: F401
    except ImportError as exc:
        return f"the desktop app cannot load Qt (PySide6): {exc}"
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if not sys.platform.startswith("linux") or platform in ("offscreen", "minimal"):
        return None
    try:
        probe = subprocess.run([sys.executable, "-c", _QT_PROBE], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None  # cannot tell: let Qt itself try
    if probe.returncode == 0:
        return None
    lines = [line.strip() for line in probe.stderr.splitlines() if line.strip()]
    reason = next((line for line in lines if "could not connect" in line.lower()), None)
    reason = reason or next((line for line in lines if "platform plugin" in line.lower()), None)
    reason = reason or (lines[-1] if lines else f"exit status {probe.returncode}")
    return f"the desktop app cannot start Qt: {reason} (without a display: python main.py run)"


def launch_gui() -> int:
    problem = qt_problem()
    if problem:
        print(f"error: {' '.join(problem.split())}", file=sys.stderr)
        return 2
    from ui.app import run_app

    return run_app()


def run() -> int:
    from app.cli import main

    return main(gui=launch_gui)


if __name__ == "__main__":
    sys.exit(run())
