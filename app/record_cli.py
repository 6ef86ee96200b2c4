"""`colibri data record`: a Binance-family market's raw streams into a recording file that
`data verify`, `data info` and backtests read (connectors/ccxt/recorder.py does the work).

app/cli.py adds the subcommand; this module sits beside it, above the layers it uses (the
connectors, app.wiring.preflight for --out). Everything that can be wrong with the command
line is found before the first message is recorded, and said in one line `error: ...` with
exit status 2: an exchange ccxt does not know or that is not of the Binance family, markets
that cannot be loaded, a symbol the exchange does not list (with what it does list), an
--out that cannot be written.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys

BINANCE_FAMILY = ("binance", "binanceusdm", "binancecoinm")
LISTED = 30


class RecordError(ValueError):
    """Bad input for `data record`: app/cli.py prints it as `error: ...`, exit 2."""


def add_record_parser(data_sub: argparse._SubParsersAction) -> None:
    from app.cli import positive_number

    rec = data_sub.add_parser(
        "record", help="record a Binance-family market's raw streams (depth, trades, bookTicker) to a file",
        description="Writes `<receive ns> <raw JSON>` lines through gzip: combined-stream depth diffs, trades, "
                    "bookTickers (markPrice on futures) and the REST depth snapshot. Ctrl-C or SIGTERM ends the "
                    "file cleanly.")
    rec.add_argument("--exchange", required=True, help="ccxt id: binance, binanceusdm or binancecoinm")
    rec.add_argument("--symbol", required=True, help="ccxt symbol (BTC/USDT) or the exchange's id (BTCUSDT)")
    rec.add_argument("--out", required=True, help="the file to write (.gz; replaced)")
    rec.add_argument("--duration", type=positive_number("a number of seconds"),
                     help="seconds to record (default: until Ctrl-C or SIGTERM)")
    rec.add_argument("--url", help="a local Binance-protocol server instead (e.g. python main.py exchange serve)")
    rec.set_defaults(func=cmd_data_record)


def cmd_data_record(args: argparse.Namespace) -> int:
    from app.wiring.preflight import check_writable

    check_writable(args.out, "--out", append=True)  # ConfigError: `error: ...`, exit 2
    return asyncio.run(_record(args))


def make_exchange(exchange_id: str, url: str | None):
    import ccxt.pro as ccxtpro

    if exchange_id not in ccxtpro.exchanges:
        raise RecordError(f"--exchange: ccxt does not know {exchange_id!r}")
    exchange = getattr(ccxtpro, exchange_id)({"enableRateLimit": True})
    if exchange.id not in BINANCE_FAMILY and not isinstance(exchange, ccxtpro.binance):
        raise RecordError(f"--exchange: {exchange_id} is not of the Binance family; recording needs one of "
                          f"{', '.join(BINANCE_FAMILY)} (their raw diff-depth streams)")
    if url:
        from connectors.local_exchange.ccxt_client import point_ccxt_at

        point_ccxt_at(exchange, url)
    return exchange


def find_market(exchange, symbol: str) -> dict:
    """By ccxt symbol or by the exchange's own id; RecordError lists the first symbols."""
    if symbol in exchange.markets:
        return exchange.markets[symbol]
    by_id = (exchange.markets_by_id or {}).get(symbol) or (exchange.markets_by_id or {}).get(symbol.upper())
    if by_id:
        return by_id[0] if isinstance(by_id, list) else by_id
    listed = sorted(exchange.markets)
    shown = ", ".join(listed[:LISTED]) + (f" and {len(listed) - LISTED} more" if len(listed) > LISTED else "")
    raise RecordError(f"--symbol: {exchange.id} does not list {symbol!r} (it lists: {shown or 'nothing'})")


async def _record(args: argparse.Namespace) -> int:
    import ccxt

    from connectors.ccxt.binance_stream import binance_endpoints
    from connectors.ccxt.recorder import BinanceRecorder

    exchange = make_exchange(args.exchange, args.url)
    try:
        try:
            await exchange.load_markets()
        except ccxt.BaseError as exc:
            raise RecordError(f"cannot load {exchange.id}'s markets: {type(exc).__name__}: {exc}") from None
        market = find_market(exchange, args.symbol)
        endpoints = binance_endpoints(exchange, market)
    finally:
        await exchange.close()
    recorder = BinanceRecorder(endpoints, market["id"], args.out)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    until = "until Ctrl-C or SIGTERM" if args.duration is None else f"for {args.duration:g} s (Ctrl-C ends early)"
    print(f"recording {exchange.id} {market['symbol']} ({market['id']}) to {args.out} {until}", flush=True)
    try:
        stats = await recorder.run(stop, args.duration)
    except ConnectionError as exc:
        raise RecordError(str(exc)) from None
    print(f"recorded {stats.describe()} to {args.out}", file=sys.stdout, flush=True)
    return 0
