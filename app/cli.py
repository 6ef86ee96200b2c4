"""The `colibri` command line (also `python main.py ...`).

Subcommands: `run` (a bot in real time), `backtest` (the same bot in simulated time),
`sweep` (many backtests over a parameter grid, app/sweep_cli.py), `strategies` (the
strategies and their parameters, app/strategies_cli.py; `--set NAME=VALUE` on run and
backtest),
`data verify` (check recordings by rebuilding the order book), `keys` (exchange API keys,
app/keys_cli.py), `journal export` (a journal's records as JSON lines or CSV), `gui` (the
desktop app).

Bad input (a config, a flag, a file) is one line on stderr, `error: where: what`, and exit
status 2, before anything starts: report and journal paths are checked before the run, so
a long run is never lost at its end.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, NoReturn

from app.config.schema import ConfigError, one_line
from app.paths import resources_dir
from app.strategies_cli import apply_sets

HEADLESS_DEMO_SECONDS = 60.0
DEMO_CONFIG = resources_dir() / "configs" / "demo.yaml"
MAX_DURATION_S = 1e9
"""About 31 years: simulated nanoseconds stay well within int64."""

INSTRUMENT_FLAGS = {
    "--tick": "tick",
    "--lot": "lot",
    "--min-notional": "min_notional",
    "--contract-size": "contract_size",
    "--maker-fee": "maker_fee",
    "--taker-fee": "taker_fee",
}
"""Command-line flag -> key of the config's `instrument:` section (the flag wins)."""


class ArgumentParser(argparse.ArgumentParser):
    """argparse that reports a bad command line as one line: `error: <what>`, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {one_line(message)} (see {self.prog} --help)\n")


def positive_number(what: str, maximum: float = MAX_DURATION_S) -> Callable[[str], float]:
    """An argparse type: a finite number > 0 and <= maximum (no nan, inf, 0, -1, "abc")."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not math.isfinite(value) or value <= 0:
            raise argparse.ArgumentTypeError(f"expected {what} (finite, greater than 0), got {text!r}")
        if value > maximum:
            raise argparse.ArgumentTypeError(f"expected {what} of at most {maximum:g}, got {text!r}")
        return value

    return parse


def instrument_rule(key: str) -> Callable[[str], Any]:
    """An argparse type checked by the same field as the config's `instrument:` section."""
    from app.config.bot_config import INSTRUMENT_SCHEMA

    spec = INSTRUMENT_SCHEMA.by_name()[key]

    def parse(text: str) -> Any:
        try:
            return spec.coerce(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(exc.reason) from None

    return parse


def _load(config_path: str | None, strategy_files: list[str] | None = None):
    """The config, after the user's strategy files (the folder's, then --strategy-file)."""
    from app.config.bot_config import BotConfig, load_config
    from app.wiring.user_strategies import load_for_command_line

    load_for_command_line(strategy_files, sys.stderr)
    return load_config(config_path) if config_path else BotConfig()


def strategy_file_flag(sub: argparse.ArgumentParser) -> None:
    """--strategy-file FILE (repeatable): a user strategy file, loaded beside the built-ins."""
    sub.add_argument("--strategy-file", action="append", metavar="FILE",
                     help="a Python file defining strategies of your own (repeatable); the strategies folder in "
                          "Colibri's config folder is loaded too")


def set_flag(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--set", action="append", metavar="NAME=VALUE",
                     help="override a strategy parameter (or venue.FIELD, instrument.RULE) of the config, checked "
                          "as the config file is (repeatable; python main.py strategies NAME lists them)")


def _apply_instrument_flags(config, args: argparse.Namespace) -> None:
    """Flags replace the same rules of the config's `instrument:` section."""
    from app.config.bot_config import INSTRUMENT_FIELDS

    for key in INSTRUMENT_FLAGS.values():
        value = getattr(args, key, None)
        if value is not None:
            config.instrument_overrides[INSTRUMENT_FIELDS[key]] = value


def _check_outputs(args: argparse.Namespace) -> None:
    """Report and journal paths must be writable before the run, not after it."""
    from app.wiring.preflight import check_writable

    if getattr(args, "report", None):
        check_writable(args.report, "--report")
    if getattr(args, "journal", None):
        from app.engine.journal import check_journal_path

        check_writable(args.journal, "--journal", append=True)
        check_journal_path(args.journal)  # JournalError (a ValueError): not a journal, newer schema


def _ready(banner: str | None = None) -> Callable[[Any], None]:
    """Called with the built session (config checked, preflight passed), before it starts."""

    def on_ready(session) -> None:
        for note in session.notes:
            print(f"note: {note}")
        if banner:
            print(banner)
        sys.stdout.flush()

    return on_ready


def _finish(report: dict, report_path: str | None) -> int:
    from app.engine.report import format_summary, write_json_atomic

    print(format_summary(report))
    if report_path:
        write_json_atomic(report_path, report)
        print(f"report written to {report_path}")
    if report["open_orders_at_exit"]:
        return 3
    return 1 if report.get("bot_error") else 0  # the strategy failed: said in the summary, not a success


def cmd_run(args: argparse.Namespace) -> int:
    from app.wiring.runners import run_realtime

    config = apply_sets(_load(args.config, args.strategy_file), args.set)
    _apply_instrument_flags(config, args)
    _check_outputs(args)
    where = (", ".join(f"{role} {b.venue['kind']} {b.symbol}" for role, b in config.markets.items())
             if config.markets else f"{config.venue['kind']} {config.symbol}")
    banner = (f"Colibri: running {config.strategy} on {where} "
              f"({'until Ctrl-C' if args.duration is None else f'for {args.duration:g} s'})")
    report = asyncio.run(run_realtime(config, args.duration, journal_path=args.journal, on_restart=args.on_restart,
                                      on_ready=_ready(banner)))
    if report.get("stopped_after_recovery"):
        left = report["open_orders_at_exit"]
        print("stopped after recovery: the bot was not started"
              + (f"; {left} order(s) still open (cancel not confirmed)" if left else "")
              + ". Run again to start it, or with --on-restart resume to take its orders over.")
        if args.report:
            from app.engine.report import write_json_atomic

            write_json_atomic(args.report, report)
        return 0 if left == 0 else 3
    return _finish(report, args.report)


def cmd_journal_export(args: argparse.Namespace) -> int:
    from app.engine.journal.export import export_journal

    count = export_journal(args.journal, args.out, fmt=args.format, bot=args.bot)
    print(f"{count} record(s) written to {args.out}")
    return 0


def cmd_backtest(args: argparse.Namespace) -> int:
    from app.wiring.runners import run_simulated

    if args.plots and not args.report:
        print("error: --plots needs --report FILE (the plots are written beside the report)", file=sys.stderr)
        return 2
    config = apply_sets(_load(args.config, args.strategy_file), args.set)
    _apply_instrument_flags(config, args)
    _check_outputs(args)
    report = run_simulated(config, args.duration, on_ready=_ready())
    status = _finish(report, args.report)
    if args.plots:
        _write_plots(args.report)
    return status


PLOTS_MODULE = "ui.reports.plots"


def _write_plots(report_path: str) -> None:
    """REPORT.plots.png, drawn by the Qt side in a process of its own (the core never
    imports Qt), offscreen: no display is needed. A failure is a warning; the report stands."""
    import subprocess

    from app.own_commands import module_command

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               PYTHONPATH=os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH")) if p))
    try:
        result = subprocess.run(module_command(PLOTS_MODULE, str(Path(report_path).resolve())), env=env,
                                capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        print(f"warning: plots not written: {one_line(str(exc))}", file=sys.stderr)
        return
    if result.returncode == 0:
        print(f"plots written to {result.stdout.strip()}")
    else:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        reason = lines[-1].removeprefix("error: ") if lines else f"exit status {result.returncode}"
        print(f"warning: plots not written: {one_line(reason)}", file=sys.stderr)


def cmd_data_info(args: argparse.Namespace) -> int:
    from app.data.info import describe_recording

    print(describe_recording(args.files, use_cache=not args.no_cache, overrides=_flag_rules(args)))
    return 0


def _flag_rules(args: argparse.Namespace) -> dict[str, Any]:
    """The market-rule flags given, as Instrument field names (for the data commands)."""
    from app.config.bot_config import INSTRUMENT_FIELDS

    return {INSTRUMENT_FIELDS[key]: getattr(args, key) for key in INSTRUMENT_FLAGS.values()
            if getattr(args, key, None) is not None}


def cmd_data_verify(args: argparse.Namespace) -> int:
    from app.data.verify import run_verify

    return run_verify(args.files, use_cache=not args.no_cache, overrides=_flag_rules(args))


def has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


GuiLauncher = Callable[[], int]
_gui_launcher: GuiLauncher | None = None  # given by main.py: the core never imports Qt


_NO_DISPLAY_PLATFORMS = ("offscreen", "minimal", "vnc", "linuxfb", "eglfs", "vkkhrdisplay")
"""Qt platforms (QT_QPA_PLATFORM) that draw without a window system."""


def cmd_gui(args: argparse.Namespace) -> int:
    if _gui_launcher is None:
        print("error: the desktop app is not available from this entry point (use python main.py gui)",
              file=sys.stderr)
        return 2
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0].strip()
    if not has_display() and platform not in _NO_DISPLAY_PLATFORMS:
        print("error: the desktop app needs a display and none was found (DISPLAY and WAYLAND_DISPLAY are not "
              "set); without one: python main.py run", file=sys.stderr)
        return 2
    return _gui_launcher()


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(prog="colibri", description="Colibri market making: bots, data, desktop app.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--self-test", action="store_true",
                        help="open the window on the demo exchange, run a bot to its first fill, check the keyring, "
                             "a backtest worker process and TLS certificates, close; exit 0 when all passed "
                             "(offscreen without a display)")
    sub = parser.add_subparsers(dest="command")

    run = sub.add_parser("run", help="run a bot in real time (default: demo exchange, simple quoter)")
    run.add_argument("--config", help="bot config (YAML); default: the built-in demo config")
    run.add_argument("--duration", type=positive_number("a number of seconds"),
                     help="seconds to run (default: until Ctrl-C or SIGTERM)")
    run.add_argument("--report", help="write the JSON report here")
    run.add_argument("--journal", metavar="FILE.sqlite",
                     help="journal the run into this SQLite journal (created if missing) and recover from it first")
    run.add_argument("--on-restart", choices=("resume", "stop"), default="stop",
                     help="after an unclean exit found in the journal: resume (adopt the orders still open and run) "
                          "or stop (cancel them and do not run; the default)")
    strategy_file_flag(run)
    set_flag(run)
    _instrument_flags(run)
    run.set_defaults(func=cmd_run)

    bt = sub.add_parser("backtest", help="run a bot in simulated time, as fast as possible")
    bt.add_argument("--config", help="bot config (YAML); default: the built-in demo config")
    bt.add_argument("--duration", type=positive_number("a number of seconds"), default=3600.0,
                    help="simulated seconds (default 3600)")
    bt.add_argument("--report", help="write the JSON report here")
    bt.add_argument("--plots", action="store_true",
                    help="also write REPORT.plots.png beside the report: price with own fills, inventory, PnL")
    strategy_file_flag(bt)
    set_flag(bt)
    _instrument_flags(bt)
    bt.set_defaults(func=cmd_backtest)

    data = sub.add_parser("data", help="market data recordings")
    data_sub = data.add_subparsers(dest="data_command", required=True)
    verify = data_sub.add_parser("verify", help="rebuild the order book from recordings and check it")
    verify.add_argument("files", nargs="+", type=Path, help="Binance recordings (.gz), consecutive files in order")
    verify.add_argument("--no-cache", action="store_true", help="parse again; do not read or write the cache")
    _instrument_flags(verify, "the rules inferred from the data")
    verify.set_defaults(func=cmd_data_verify)
    info = data_sub.add_parser("info", help="market, symbol, rules and their source, span, counts and gaps")
    info.add_argument("files", nargs="+", type=Path, help="Binance recordings (.gz), consecutive files in order")
    info.add_argument("--no-cache", action="store_true", help="parse again; do not read or write the cache")
    _instrument_flags(info, "the rules inferred from the data")
    info.set_defaults(func=cmd_data_info)
    from app.record_cli import add_record_parser

    add_record_parser(data_sub)  # data record: a Binance-family market's raw streams (connectors/ccxt/recorder.py)

    journal = sub.add_parser("journal", help="the SQLite journal of orders, fills and bot records")
    journal_sub = journal.add_subparsers(dest="journal_command", required=True)
    export = journal_sub.add_parser("export", help="write the journal's records as JSON lines or CSV")
    export.add_argument("journal", help="the journal (FILE.sqlite)")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="output format (default jsonl)")
    export.add_argument("--bot", help="only this bot's records")
    export.add_argument("--out", required=True, help="the file to write (replaced)")
    export.set_defaults(func=cmd_journal_export)

    from app.keys_cli import add_keys_parser

    add_keys_parser(sub)  # keys set|list|delete|test (app/keys_cli.py)

    from connectors.local_exchange.cli import add_exchange_parser

    exchange_sub = add_exchange_parser(sub)  # exchange serve: the rehearsal exchange (connectors/local_exchange)
    from app.soak_cli import add_soak_parser

    add_soak_parser(exchange_sub)  # exchange soak: faults and kills against it (app/wiring/soak.py)
    from app.sweep_cli import add_sweep_parser

    add_sweep_parser(sub)  # sweep: many backtests in parallel, grid or optuna (app/wiring/sweep.py)
    from app.strategies_cli import add_parser as add_strategies_parser

    add_strategies_parser(sub)  # strategies [NAME]: the strategies and their parameters, from their schemas

    gui = sub.add_parser("gui", help="open the desktop app")
    gui.set_defaults(func=cmd_gui)
    return parser


def _instrument_flags(sub: argparse.ArgumentParser, what: str = "the config's instrument: section") -> None:
    from app.config.bot_config import INSTRUMENT_SCHEMA

    group = sub.add_argument_group("market rules", f"override {what} (fees are fractions: 0.001 = 0.1%)")
    for flag, key in INSTRUMENT_FLAGS.items():
        spec = INSTRUMENT_SCHEMA.by_name()[key]
        group.add_argument(flag, dest=key, type=instrument_rule(key), metavar="N", help=spec.help.replace("%", "%%"))


def main(argv: list[str] | None = None, gui: GuiLauncher | None = None,
         self_test: GuiLauncher | None = None) -> int:
    """`gui` starts the desktop app, `self_test` its self-test; None means headless only.
    Returns the exit status: 0 done, 1 a failed run or self-test, 2 bad input (one line on
    stderr), 3 orders left open at exit, 130 interrupted."""
    global _gui_launcher
    _gui_launcher = gui
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a bad command line (2, already reported)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.self_test:
            if args.command is not None:
                print(f"error: --self-test runs alone, not with {args.command!r}", file=sys.stderr)
                return 2
            if self_test is None:
                print("error: this entry point has no desktop app to self-test (use python main.py --self-test)",
                      file=sys.stderr)
                return 2
            return self_test()
        if args.command is None:
            return default_entry()
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        # Known kinds of bad input that got past the checks: an unreadable or malformed
        # recording (RecordingError is a ValueError), a file that vanished or a full disk.
        # Anything else (AttributeError, TypeError...) is a bug and keeps its traceback.
        print(f"error: {_describe(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return one_line(f"{where}{exc.strerror}")
    return one_line(str(exc) or type(exc).__name__)


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
