"""The `colibri` command line (also `python main.py ...`).

Subcommands: `run` (a bot in real time), `backtest` (the same bot in simulated time),
`data verify` (check recordings by rebuilding the order book), `gui` (the desktop app).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Callable

from app.config.schema import ConfigError

HEADLESS_DEMO_SECONDS = 60.0
DEMO_CONFIG = Path(__file__).resolve().parents[1] / "resources" / "configs" / "demo.yaml"


def _load(config_path: str | None):
    from app.config.bot_config import BotConfig, load_config

    return load_config(config_path) if config_path else BotConfig()


def _finish(report: dict, report_path: str | None) -> int:
    from app.engine.report import format_summary, write_json_atomic

    print(format_summary(report))
    if report_path:
        write_json_atomic(report_path, report)
        print(f"report written to {report_path}")
    return 0 if report["open_orders_at_exit"] == 0 else 3


def cmd_run(args: argparse.Namespace) -> int:
    from app.engine.runners import run_realtime

    config = _load(args.config)
    if args.duration is not None and args.duration <= 0:
        raise ConfigError("--duration", "", "must be a positive number of seconds")
    print(f"Colibri: running {config.strategy} on {config.venue['kind']} {config.symbol} "
          f"({'until Ctrl-C' if args.duration is None else f'for {args.duration:g} s'})")
    report = asyncio.run(run_realtime(config, args.duration, journal_path=args.journal))
    return _finish(report, args.report)


def cmd_backtest(args: argparse.Namespace) -> int:
    from app.engine.runners import run_simulated

    config = _load(args.config)
    if args.duration <= 0:
        raise ConfigError("--duration", "", "must be a positive number of seconds")
    report = run_simulated(config, args.duration)
    return _finish(report, args.report)


def cmd_data_verify(args: argparse.Namespace) -> int:
    from app.data.verify import main_verify

    return main_verify([str(p) for p in args.files])


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


GuiLauncher = Callable[[], int]
_gui_launcher: GuiLauncher | None = None  # given by main.py: the core never imports Qt


def cmd_gui(args: argparse.Namespace) -> int:
    if _gui_launcher is None:
        print("The desktop app is not available from this entry point.", file=sys.stderr)
        return 2
    return _gui_launcher()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="colibri", description="Colibri market making: bots, data, desktop app.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run a bot in real time (default: demo exchange, simple quoter)")
    run.add_argument("--config", help="bot config (YAML); default: the built-in demo config")
    run.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C or SIGTERM)")
    run.add_argument("--report", help="write the JSON report here")
    run.add_argument("--journal", help="append the bot's audit journal (JSON lines) to this file")
    run.set_defaults(func=cmd_run)

    bt = sub.add_parser("backtest", help="run a bot in simulated time, as fast as possible")
    bt.add_argument("--config", help="bot config (YAML); default: the built-in demo config")
    bt.add_argument("--duration", type=float, default=3600.0, help="simulated seconds (default 3600)")
    bt.add_argument("--report", help="write the JSON report here")
    bt.set_defaults(func=cmd_backtest)

    data = sub.add_parser("data", help="market data recordings")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    verify = data_sub.add_parser("verify", help="rebuild the order book from recordings and check it")
    verify.add_argument("files", nargs="+", type=Path, help="Binance recordings (.gz), consecutive files in order")
    verify.set_defaults(func=cmd_data_verify)

    gui = sub.add_parser("gui", help="open the desktop app")
    gui.set_defaults(func=cmd_gui)
    return parser


def main(argv: list[str] | None = None, gui: GuiLauncher | None = None) -> int:
    """`gui` starts the desktop app; None means headless only."""
    global _gui_launcher
    _gui_launcher = gui
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command is None:
        return default_entry()
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def default_entry() -> int:
    """No arguments: the desktop app when there is a display, else the headless demo."""
    if has_display() and _gui_launcher is not None:
        return _gui_launcher()
    if _gui_launcher is None:
        print("This entry point has no desktop app: running the headless demo.")
    else:
        print("No display found: running the headless demo (the desktop app needs a screen).")
    print(f"Headless demo: {HEADLESS_DEMO_SECONDS:g} s on the demo exchange; Ctrl-C stops early. "
          "Longer: python main.py run --duration SECONDS")
    demo = ["--config", str(DEMO_CONFIG)] if DEMO_CONFIG.is_file() else []
    args = build_parser().parse_args(["run", "--duration", str(HEADLESS_DEMO_SECONDS), *demo])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
