"""`colibri exchange serve`: the rehearsal exchange from the command line (app/cli.py adds
the subcommand; bad input is one line `error: ...` and exit status 2, like every command)."""
from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys

from connectors.local_exchange.auth import KEY_PATTERN


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535 (0: any free port), got {text!r}")
    return int(text)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 0 <= value < 2**63:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to 2**63-1, got {text!r}")
    return value


def _credential(text: str) -> str:
    if not KEY_PATTERN.match(text):
        raise argparse.ArgumentTypeError("expected 8-128 letters and digits")
    return text


def _faults(text: str) -> str:
    from connectors.local_exchange.faults import parse_fault_spec

    try:
        parse_fault_spec(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_exchange_parser(sub: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Adds `exchange serve`; returns the `exchange` subcommands so others can join them."""
    exchange = sub.add_parser("exchange", help="the rehearsal exchange (Binance spot protocol, local)")
    exchange_sub = exchange.add_subparsers(dest="exchange_command", required=True)
    serve = exchange_sub.add_parser(
        "serve", help="serve the demo market on 127.0.0.1 with Binance spot's REST and websocket API",
        description="Prints url, key and secret (one line each), then serves until Ctrl-C or SIGTERM.")
    serve.add_argument("--port", type=_port, default=0, help="TCP port (default 0: any free port, printed)")
    serve.add_argument("--seed", type=_seed, default=7, help="seed of the demo market's order flow (default 7)")
    serve.add_argument("--key", type=_credential, help="API key to accept (default: generated)")
    serve.add_argument("--secret", type=_credential, help="API secret to accept (default: generated)")
    serve.add_argument("--state", metavar="DIR", help="keep balances, orders and trades here (restored at start)")
    serve.add_argument("--faults", metavar="SPEC", type=_faults,
                       help="inject faults, e.g. drop_ws=0.01,delay_ms=50,http429=0.01,seed=3 (see the user guide)")
    serve.set_defaults(func=cmd_exchange_serve)
    return exchange_sub


def cmd_exchange_serve(args: argparse.Namespace) -> int:
    from connectors.local_exchange.server import LocalExchangeServer, serve

    if (args.key is None) != (args.secret is None):
        print("error: give --key and --secret together (or neither: both are generated)", file=sys.stderr)
        return 2
    server = LocalExchangeServer(port=args.port, seed=args.seed, api_key=args.key, secret=args.secret,
                                 state_dir=args.state, faults=args.faults)
    try:
        asyncio.run(serve(server))
    except sqlite3.Error as exc:
        print(f"error: --state {args.state}: {exc}", file=sys.stderr)
        return 2
    return 0
