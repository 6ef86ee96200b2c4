"""Colibri's entry point: `python main.py` opens the desktop app (or, without a display,
runs the headless demo); `python main.py --help` lists the subcommands."""
import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main())
