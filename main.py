"""Colibri's entry point: `python main.py` opens the desktop app (or, without a display,
runs the headless demo); `python main.py --help` lists the subcommands.

The Qt face is handed to the Qt-free CLI from here, so app/ never imports ui/.
"""
import sys


def launch_gui() -> int:
    from ui.app import run_app

    return run_app()


def run() -> int:
    from app.cli import main

    return main(gui=launch_gui)


if __name__ == "__main__":
    sys.exit(run())
