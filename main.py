"""Colibri's entry point: `python main.py` opens the desktop app (or, without a display,
runs the headless demo); `python main.py --help` lists the subcommands.

The Qt face is handed to the Qt-free CLI from here, so app/ never imports ui/. Two hidden
entries serve child processes, which in a PyInstaller bundle cannot use `python -c/-m`
(app/own_commands.py): `--run-module MODULE ARGS...` and `--qt-probe`.
"""
import multiprocessing
import os
import subprocess
import sys

from app.own_commands import QT_PROBE_FLAG, RUN_MODULE_FLAG


def qt_probe() -> int:
    """Starts Qt's GUI platform and nothing else: the child side of qt_problem()."""
    from PySide6.QtGui import QGuiApplication

    QGuiApplication(sys.argv[:1])
    return 0


def run_module(args: list[str]) -> int:
    """`--run-module MODULE ARGS...`: MODULE as __main__ with ARGS, as `python -m` would."""
    import runpy

    if not args:
        print(f"error: {RUN_MODULE_FLAG} needs a module name", file=sys.stderr)
        return 2
    sys.argv = [args[0], *args[1:]]
    runpy.run_module(args[0], run_name="__main__", alter_sys=True)
    return 0


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
    from app.own_commands import colibri_command

    try:
        probe = subprocess.run(colibri_command(QT_PROBE_FLAG), capture_output=True, text=True, timeout=60)
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


def launch_self_test() -> int:
    """`--self-test`: the window on the demo exchange until a bot's first fill (ui/self_test.py).
    Without a display it runs offscreen, and says so."""
    from app.cli import has_display

    if not has_display() and not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    problem = qt_problem()
    if problem:
        print(f"self-test failed: {' '.join(problem.split())}", file=sys.stderr)
        return 1
    from ui.self_test import run_self_test

    return run_self_test()


def run() -> int:
    multiprocessing.freeze_support()  # a bundled backtest worker process starts here and never returns
    if sys.argv[1:2] == [QT_PROBE_FLAG]:
        return qt_probe()
    if sys.argv[1:2] == [RUN_MODULE_FLAG]:
        return run_module(sys.argv[2:])
    from app.cli import main

    return main(gui=launch_gui, self_test=launch_self_test)


if __name__ == "__main__":
    sys.exit(run())
