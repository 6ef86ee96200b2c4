"""Parses raw Binance websocket recordings into the EVENT_DTYPE array.

Input: gzip (or plain) text, one message per line, `<local receive ns> <json>`, the JSON
being the combined-stream envelope {"stream", "data"} or a raw REST depth snapshot
{"lastUpdateId", "bids", "asks"}. Prices and quantities are decimal strings and are turned
into integer ticks and lots by string arithmetic: a float would silently round an
off-grid value, and an off-grid value means the wrong instrument rules were assumed, which
must stop the conversion with the file and line to look at.
"""
from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import IO, Iterable, Iterator

import numpy as np
import orjson

from app.data.events import (
    BBO,
    DEPTH,
    EMPTY_MESSAGE,
    END_OF_MESSAGE,
    EVENT_DTYPE,
    FUNDING_RATE_UNITS,
    MARK,
    NO_ID,
    SNAPSHOT,
    TRADE,
    RecordingMeta,
)
from app.data.inference import InferenceError, infer_rules, stream_kind
from app.domain import Instrument
from app.markets.registry import instrument_from_inferred
from app.markets.symbols import MARKETS

_MS = 1_000_000
_FAMILY_ALIASES = {"futures": "usdm"}  # converted files and callers from before COIN-M
_CACHE_LIMIT = 1_000_000
_INT64_MAX = 2**63 - 1


class RecordingError(ValueError):
    """A recording line that cannot be read; the message names file and line."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        where = f"{path}:{line}: " if path and line > 0 else f"{path}: " if path else ""
        super().__init__(f"{where}{reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason

    def __reduce__(self):  # picklable across processes (the desktop backtest worker)
        return (type(self), (self.path, self.line, self.reason))


class OffGrid(ValueError):
    """A well-formed decimal that is not a whole number of steps."""


class _Grid:
    """Exact decimal string -> integer multiple of a step (tick or lot), with memoisation.

    The step is m * 10**-e; a string is scaled to units of 10**-e by moving the decimal
    point (digits beyond e must be zeros), then divided by m with no remainder allowed.
    """

    def __init__(self, step: Decimal, what: str) -> None:
        sign, digits, exponent = step.normalize().as_tuple()
        self.decimals = max(0, -int(exponent))
        self.multiple = int(step * (10 ** self.decimals))
        self.step = step
        self.what = what
        self._memo: dict[str, int] = {}

    def __call__(self, text: str) -> int:
        if type(text) is not str:
            raise ValueError(f"{self.what} is {_type_name(text)} {text!r:.40}, expected a decimal string")
        value = self._memo.get(text)
        if value is not None:
            return value
        whole, _, frac = text.partition(".")
        e = self.decimals
        if len(frac) > e:
            if frac[e:].strip("0"):
                raise OffGrid(f"{self.what} {text!r} is not a multiple of {self.step}")
            frac = frac[:e]
        digits = whole + frac.ljust(e, "0")
        if not digits.isdigit() or not digits.isascii():
            raise ValueError(f"{self.what} {text!r} is not a plain non-negative decimal")
        units, rest = divmod(int(digits), self.multiple)
        if rest:
            raise OffGrid(f"{self.what} {text!r} is not a multiple of {self.step}")
        if units > _INT64_MAX:
            raise ValueError(f"{self.what} {text!r} is too large")
        if len(self._memo) >= _CACHE_LIMIT:
            self._memo.clear()
        self._memo[text] = units
        return units

    def nearest(self, text: str) -> int:
        """Nearest whole number of steps (half to even), at least 1 for a positive value."""
        value = Decimal(text) / self.step
        units = int(value.to_integral_value(rounding=ROUND_HALF_EVEN))
        return 1 if units == 0 and value > 0 else units


def _open(path: Path) -> IO[bytes]:
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _lines(paths: Iterable[Path]) -> Iterator[tuple[Path, int, int, bytes]]:
    """(path, line number, receive ns, json bytes) of every non-blank line.

    Raises RecordingError naming the file and line for an unreadable file: missing, empty,
    corrupt or truncated compression, or a line that is not `<receive ns> <json>`."""
    for path in paths:
        try:
            fh = _open(path)
        except OSError as exc:
            raise RecordingError(path, 0, f"cannot open: {exc.strerror or exc}") from None
        with fh:
            lineno = 0
            data_lines = 0
            try:
                for raw in fh:
                    lineno += 1
                    raw = raw.strip()
                    if not raw:
                        continue
                    space = raw.find(b" ")
                    try:
                        ts = int(raw[:space]) if space > 0 else None
                    except ValueError:
                        ts = None
                    if ts is None:
                        raise RecordingError(
                            path, lineno, f"expected '<receive ns> <json>', got {_excerpt(raw)}"
                        )
                    if not 0 < ts <= _INT64_MAX:
                        raise RecordingError(path, lineno, f"receive time {ts} is not a positive 64-bit ns count")
                    data_lines += 1
                    yield path, lineno, ts, raw[space + 1 :]
            except EOFError:
                raise RecordingError(
                    path, lineno, f"truncated: the compressed data ends mid-stream after line {lineno} "
                    "(the last line read); the file was cut short"
                ) from None
            except (OSError, zlib.error) as exc:
                what = "corrupt gzip" if isinstance(exc, (gzip.BadGzipFile, zlib.error)) or "CRC" in str(exc) else "unreadable"
                after = f"after line {lineno} (the last line read)" if lineno else "at the start of the file"
                raise RecordingError(path, lineno + 1, f"{what} data {after}: {exc}") from None
            if not data_lines:
                size = path.stat().st_size
                raise RecordingError(
                    path, 0, "empty file (0 bytes)" if size == 0 else
                    f"empty recording: no data lines ({lineno} lines, {size} bytes on disk)"
                )


def _excerpt(raw: bytes, limit: int = 40) -> str:
    text = repr(raw[:limit])[1:]
    return text + ("..." if len(raw) > limit else "")


def _int(value: object, name: str) -> int:
    """An integer field (JSON number or digit string); anything else is refused by name."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        shown = "" if value is None else f" {value!r:.40}"
        raise ValueError(f"field {name} is {_type_name(value)}{shown}, expected an integer")
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"field {name} {value!r:.40} is not an integer") from None
    if not -_INT64_MAX <= number <= _INT64_MAX:
        raise ValueError(f"field {name} {number} is out of range")
    return number


def _type_name(value: object) -> str:
    return {type(None): "null", bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _ms(value: object, name: str) -> int:
    """An exchange time in ms (0 when absent) as ns."""
    ms = _int(value, name)
    if not 0 <= ms <= _INT64_MAX // _MS:
        raise ValueError(f"field {name} {ms} is not a time in ms")
    return ms * _MS


def _levels_list(value: object, name: str) -> list:
    if not isinstance(value, list):
        raise ValueError(f"field {name} is {_type_name(value)}, expected a list of [price, quantity] pairs")
    return value


@dataclass
class _Parser:
    price: _Grid
    qty: _Grid
    symbol: str
    market: str
    strict: bool = False

    def __post_init__(self) -> None:
        self.rows: list[tuple] = []
        self.where = ""
        self.stream = ""
        self.rounded_qtys = 0
        self.notes: list[str] = []
        self.messages: dict[str, int] = {"depth": 0, "snapshot": 0, "trade": 0, "bookTicker": 0}
        self.skipped: dict[str, int] = {}

    def skip(self, key: str) -> None:
        self.skipped[key] = self.skipped.get(key, 0) + 1

    def levels(self, ts: int, exch: int, kind: int, pairs: list, side: int, ids: tuple[int, int, int]) -> None:
        price, qty, rows = self.price, self.qty, self.rows
        first, last, prev = ids
        for pair in pairs:
            if type(pair) is not list or len(pair) != 2:
                raise ValueError(f"level {pair!r:.60} is not a [price, quantity] pair")
            try:
                lots = qty(pair[1])
            except OffGrid:
                lots = self.round_level_qty(pair[0], pair[1])
            rows.append((ts, exch, kind, side, 0, price(pair[0]), lots, first, last, prev))

    def round_level_qty(self, price: str, qty: str) -> int:
        """A book level's total may be finer than today's lot: it sums resting orders placed
        under older, finer exchange rules (seen on Binance spot BTCUSDT far from the top of
        book). Such totals are rounded to the nearest lot and reported; prices, trades and
        bookTicker quantities stay strict."""
        if self.strict:
            raise OffGrid(f"level quantity {qty!r} at price {price!r} is not a multiple of {self.qty.step}")
        self.rounded_qtys += 1
        if len(self.notes) < 20:
            self.notes.append(f"{self.where}: level quantity {qty} at price {price} rounded to the lot {self.qty.step}")
        return self.qty.nearest(qty)

    def close_message(self, start: int, ts: int, exch: int, kind: int, ids: tuple[int, int, int]) -> None:
        rows = self.rows
        if len(rows) == start:
            rows.append((ts, exch, kind, 0, EMPTY_MESSAGE | END_OF_MESSAGE, 0, 0, *ids))
        else:
            last = rows[-1]
            rows[-1] = last[:4] + (END_OF_MESSAGE,) + last[5:]

    def check_symbol(self, data: dict) -> None:
        """A message of another symbol (by its stream name or its `s`) is refused: mixing
        two markets' data in one book would be silently wrong."""
        stream = self.stream
        named = stream.partition("@")[0].upper()
        symbol = data.get("s")
        if symbol is not None and not isinstance(symbol, str):
            raise ValueError(f"field s is {_type_name(symbol)}, expected the symbol as a string")
        for other in (named, symbol):
            if other and self.symbol and other != self.symbol and other.replace("_", "") != self.symbol.replace("_", ""):
                raise ValueError(
                    f"a message for another symbol: {other} (stream {stream!r}) in a {self.symbol} recording"
                )

    def on_message(self, ts: int, msg: dict) -> None:
        if "lastUpdateId" in msg:
            self.on_snapshot(ts, msg)
            return
        stream = msg.get("stream")
        data = msg.get("data")
        if not isinstance(stream, str):
            if stream is not None:
                raise ValueError(f"field stream is {_type_name(stream)}, expected a stream name")
            self.skip("<not a stream message>")
            return
        kind = stream_kind(stream)
        if kind and not isinstance(data, dict):
            raise ValueError(f"{kind} message: field data is {_type_name(data)}, expected an object")
        self.stream = stream
        if kind == "depth":
            self.check_symbol(data)
            self.on_depth(ts, data)
        elif kind == "trade":
            self.check_symbol(data)
            self.on_trade(ts, data)
        elif kind == "bookTicker":
            self.check_symbol(data)
            self.on_bbo(ts, data)
        elif kind == "aggTrade":
            # COIN-M streams offer only aggregated trades; when a file has both kinds the
            # raw trades are kept and the aggregates (the same volume again) are skipped.
            if self.messages["trade"]:
                self.skip(stream)
                return
            self.check_symbol(data)
            self.on_trade(ts, data, id_field="a")
        elif kind == "markPrice":
            self.check_symbol(data)
            self.on_mark(ts, data)
        else:
            self.skip(stream)

    def on_snapshot(self, ts: int, msg: dict) -> None:
        exch = _ms(msg.get("E", 0), "E")
        ids = (NO_ID, _int(msg["lastUpdateId"], "lastUpdateId"), NO_ID)
        start = len(self.rows)
        self.levels(ts, exch, SNAPSHOT, _levels_list(msg["bids"], "bids"), 1, ids)
        self.levels(ts, exch, SNAPSHOT, _levels_list(msg["asks"], "asks"), -1, ids)
        self.close_message(start, ts, exch, SNAPSHOT, ids)
        self.messages["snapshot"] += 1

    def on_depth(self, ts: int, data: dict) -> None:
        exch = _ms(data.get("E", 0), "E")
        prev = data.get("pu")
        ids = (_int(data["U"], "U"), _int(data["u"], "u"), NO_ID if prev is None else _int(prev, "pu"))
        start = len(self.rows)
        self.levels(ts, exch, DEPTH, _levels_list(data["b"], "b"), 1, ids)
        self.levels(ts, exch, DEPTH, _levels_list(data["a"], "a"), -1, ids)
        self.close_message(start, ts, exch, DEPTH, ids)
        self.messages["depth"] += 1

    def on_trade(self, ts: int, data: dict, id_field: str = "t") -> None:
        execution = data.get("X", "MARKET")
        if execution != "MARKET":  # futures insurance-fund / ADL prints are not market trades
            if not isinstance(execution, str):
                raise ValueError(f"field X is {_type_name(execution)}, expected a string")
            self.skip(f"trade:{execution}")
            return
        exch = _ms(data.get("T", data.get("E", 0)), "T")
        trade_id = _int(data[id_field], id_field)
        maker = data["m"]
        if type(maker) is not bool:
            raise ValueError(f"field m is {_type_name(maker)} {maker!r:.40}, expected true or false")
        side = -1 if maker else 1  # buyer is maker => the seller took liquidity
        self.rows.append(
            (ts, exch, TRADE, side, END_OF_MESSAGE, self.price(data["p"]), self.qty(data["q"]),
             trade_id, trade_id, NO_ID)
        )
        key = "trade" if id_field == "t" else "aggTrade"
        self.messages[key] = self.messages.get(key, 0) + 1

    def on_mark(self, ts: int, data: dict) -> None:
        """A futures markPrice update: mark price (nearest tick: marks are finer than the
        tick), funding rate and next funding time, for funding payments in backtests."""
        exch = _ms(data.get("E", 0), "E")
        mark = self.price.nearest(str(data["p"]))
        rate = Decimal(str(data["r"])) if data.get("r") not in (None, "") else Decimal(0)
        if not rate.is_finite() or abs(rate) >= 1:
            raise ValueError(f"funding rate {data['r']!r} is not a plausible rate")
        units = int((rate * FUNDING_RATE_UNITS).to_integral_value(rounding=ROUND_HALF_EVEN))
        next_ms = int(data.get("T") or 0)
        self.rows.append((ts, exch, MARK, 0, END_OF_MESSAGE, mark, units, next_ms, NO_ID, NO_ID))
        self.messages["markPrice"] = self.messages.get("markPrice", 0) + 1

    def on_bbo(self, ts: int, data: dict) -> None:
        exch = _ms(data.get("E", 0), "E")
        u = _int(data["u"], "u")
        price, qty = self.price, self.qty
        self.rows.append((ts, exch, BBO, 1, 0, price(data["b"]), qty(data["B"]), NO_ID, u, NO_ID))
        self.rows.append((ts, exch, BBO, -1, END_OF_MESSAGE, price(data["a"]), qty(data["A"]), NO_ID, u, NO_ID))
        self.messages["bookTicker"] += 1


def _parse_into(parser: "_Parser", paths: list[Path]) -> None:
    """Feeds every line to the parser; a bad line raises RecordingError with file:line."""
    loads = orjson.loads
    for path, lineno, ts, payload in _lines(paths):
        try:
            msg = loads(payload)
        except orjson.JSONDecodeError as exc:
            raise RecordingError(path, lineno, f"bad JSON: {exc}") from None
        parser.where = f"{path.name}:{lineno}"
        try:
            if not isinstance(msg, dict):
                raise ValueError("expected a JSON object")
            parser.on_message(ts, msg)
        except KeyError as exc:
            raise RecordingError(path, lineno, f"missing field {exc}") from None
        except (ValueError, TypeError, IndexError, AttributeError, ArithmeticError) as exc:
            raise RecordingError(path, lineno, str(exc)) from None


def _check_lines(paths: list[Path], family: str, symbol: str, strict: bool) -> None:
    """Raises the RecordingError of the first malformed line, whatever the rules."""
    fine = _Grid(Decimal("1e-18"), "value")
    parser = _Parser(fine, fine, symbol, "spot" if family == "spot" else "futures", strict)
    _parse_into(parser, paths)


def parse_recordings(
    paths: Iterable[Path | str],
    *,
    instrument: Instrument | None = None,
    market: str | None = None,
    symbol: str | None = None,
    strict: bool = False,
) -> tuple[np.ndarray, RecordingMeta]:
    """Parses consecutive recording files into one EVENT_DTYPE array (file order kept).

    `market` is the Binance family (spot, usdm, coinm; "futures" means usdm). The market,
    symbol and instrument rules are inferred from the data unless given (app/data/inference.py;
    the exchange's cached market metadata adds what data cannot show, app/markets). Raises RecordingError naming the file
    and line of the first bad line (bad JSON, missing field, off-grid price or quantity).
    Book-level quantities finer than the lot are rounded and listed in `meta.notes`
    (see `_Parser.round_level_qty`), unless `strict`.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("no recording files given")
    family = _FAMILY_ALIASES.get(market, market) if market else None
    if family is not None and family not in MARKETS:
        raise ValueError(f"unknown market {market!r} (known: {', '.join(MARKETS)})")
    rules_source = instrument.source if instrument is not None else ""
    if instrument is None or family is None or symbol is None:
        try:
            rules = infer_rules(_lines(paths), market=family, symbol=symbol)
        except InferenceError as exc:
            # Say what is wrong with a line first, when one is: parse with the finest grid.
            _check_lines(paths, family or "spot", symbol or "", strict)
            raise RecordingError(paths[0], 0, str(exc)) from None
        family = rules.market
        symbol = rules.symbol.exchange_symbol
        if instrument is None:
            instrument = instrument_from_inferred(rules)
            rules_source = instrument.source
    market = "spot" if family == "spot" else "futures"
    parser = _Parser(
        _Grid(instrument.tick_size, "price"), _Grid(instrument.lot_size, "quantity"), symbol, market, strict
    )
    _parse_into(parser, paths)
    events = np.array(parser.rows, dtype=EVENT_DTYPE) if parser.rows else np.empty(0, EVENT_DTYPE)
    meta = RecordingMeta.for_instrument(
        instrument,
        symbol=symbol,
        family=family,
        rules_source=rules_source,
        sources=[p.name for p in paths],
        messages=parser.messages,
        skipped=parser.skipped,
        rounded_qtys=parser.rounded_qtys,
        notes=parser.notes,
        first_ts_ns=int(events["ts_ns"][0]) if len(events) else 0,
        last_ts_ns=int(events["ts_ns"][-1]) if len(events) else 0,
    )
    return events, meta
