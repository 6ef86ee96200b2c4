"""The recording format: one flat numpy array of market-data rows plus a small JSON header.

Why one flat structured array: replay, verification and backtests walk millions of rows;
a packed array is loaded (even memory-mapped) in milliseconds, sliced without copies and
fed to the Cython book in batches. A message with several levels is several contiguous
rows, the last one flagged END_OF_MESSAGE, so message boundaries come from one numpy
`flatnonzero` instead of a Python loop.

Why .npy plus a sidecar .json (not .npz): `np.load(mmap_mode="r")` can memory-map a .npy
but not an array inside a zip, and the header stays readable with any text tool.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable

import numpy as np

from app.domain import Instrument

FORMAT_VERSION = 2  # 2: full instrument rules in the header, MARK rows

# kind
DEPTH = 1  # one level of an incremental depth message (diff)
SNAPSHOT = 2  # one level of a REST depth snapshot
TRADE = 3  # one public trade
BBO = 4  # one side of a best bid/offer message (bookTicker): a bid row then an ask row
MARK = 5  # a mark price (ticks, nearest) with its funding rate (qty_lots, in FUNDING_RATE_UNITS)
#          and next funding time (first_id, ms); from Binance futures markPrice streams
FUNDING_RATE_UNITS = 10**8  # a funding rate of 0.0001 is stored as 10,000

# flags
END_OF_MESSAGE = 1  # last row of a message
EMPTY_MESSAGE = 2  # a message without levels, kept as one row so its ids survive

NO_ID = -1

EVENT_DTYPE = np.dtype(
    [
        ("ts_ns", "<i8"),  # local receive time
        ("exch_ts_ns", "<i8"),  # exchange time (event E, trade T); 0 when the message has none
        ("kind", "u1"),
        ("side", "i1"),  # +1 bid / -1 ask; TRADE: taker side (+1 buyer took, -1 seller took)
        ("flags", "u1"),
        ("price_ticks", "<i8"),
        ("qty_lots", "<i8"),
        ("first_id", "<i8"),  # depth U; trade id for TRADE; -1 otherwise
        ("last_id", "<i8"),  # depth u; snapshot lastUpdateId; bookTicker u; trade id
        ("prev_id", "<i8"),  # futures depth pu; -1 when absent
    ]
)

MARKETS = ("spot", "futures")


@dataclass
class RecordingMeta:
    """What a recording is about: the market and its rules, where it came from, what was in it."""

    symbol: str  # the venue's id, e.g. BTCUSDT, BTCUSD_PERP
    market: str  # depth-chaining rules: "spot" or "futures" (see app/book/sync.py)
    tick_size: str
    lot_size: str
    family: str = ""  # Binance family: spot, usdm, coinm
    unified_symbol: str = ""  # ccxt's symbol, e.g. BTC/USDT, ETH/USDT:USDT, BTC/USD:BTC
    kind: str = "spot"  # spot, linear, inverse
    base: str = ""
    quote: str = ""
    settle: str = ""
    contract_size: str = "1"
    min_notional: str = "0"
    maker_fee: str = "0"
    taker_fee: str = "0"
    rules_source: str = ""  # where the rules came from, in words
    first_ts_ns: int = 0  # receive time of the first and last row
    last_ts_ns: int = 0
    sources: list[str] = field(default_factory=list)
    messages: dict[str, int] = field(default_factory=dict)  # by stream kind
    skipped: dict[str, int] = field(default_factory=dict)  # unknown streams / ignored messages
    rounded_qtys: int = 0  # book-level quantities finer than the lot, rounded to it
    notes: list[str] = field(default_factory=list)  # where those were (first few)
    format_version: int = FORMAT_VERSION

    @classmethod
    def for_instrument(cls, instrument: Instrument, **fields: object) -> "RecordingMeta":
        """A header that keeps every rule of `instrument`, so loading rebuilds it exactly."""
        family = str(fields.get("family") or "")
        return cls(
            market="spot" if family in ("", "spot") and not instrument.is_derivative else "futures",
            tick_size=str(instrument.tick_size),
            lot_size=str(instrument.lot_size),
            unified_symbol=instrument.symbol,
            kind=instrument.kind,
            base=instrument.base,
            quote=instrument.quote,
            settle=instrument.settle,
            contract_size=str(instrument.contract_size),
            min_notional=str(instrument.min_notional),
            maker_fee=str(instrument.maker_fee),
            taker_fee=str(instrument.taker_fee),
            **fields,  # type: ignore[arg-type]
        )

    @property
    def instrument(self) -> Instrument:
        """The instrument the recording was converted with (every rule, and its source)."""
        return Instrument(
            symbol=self.unified_symbol or self.symbol,
            base=self.base,
            quote=self.quote,
            tick_size=Decimal(self.tick_size),
            lot_size=Decimal(self.lot_size),
            min_notional=Decimal(self.min_notional),
            maker_fee=Decimal(self.maker_fee),
            taker_fee=Decimal(self.taker_fee),
            kind=self.kind,
            settle=self.settle,
            contract_size=Decimal(self.contract_size),
            exchange_symbol=self.symbol,
            source=self.rules_source,
        )

    @property
    def span_seconds(self) -> float:
        return max(0, self.last_ts_ns - self.first_ts_ns) / 1e9

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "RecordingMeta":
        data = json.loads(text)
        if data.get("format_version") != FORMAT_VERSION:
            raise ValueError(f"format version {data.get('format_version')}, expected {FORMAT_VERSION}")
        return cls(**data)


def save_event_file(path: Path, events: np.ndarray, meta: RecordingMeta) -> None:
    """Writes `path` (.npy) and `path.with_suffix('.json')`, each atomically."""
    path = Path(path).with_suffix(".npy")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, np.ascontiguousarray(events, dtype=EVENT_DTYPE))
    meta_path = path.with_suffix(".json")
    meta_tmp = meta_path.with_name(meta_path.name + ".tmp")
    meta_tmp.write_text(meta.to_json())
    # The data file goes last: a present .npy implies a complete header next to it.
    meta_tmp.replace(meta_path)
    tmp.replace(path)


def load_event_file(path: Path, *, mmap: bool = True) -> tuple[np.ndarray, RecordingMeta]:
    """Reads a converted recording (memory-mapped, read-only, by default)."""
    path = Path(path).with_suffix(".npy")
    try:
        meta = RecordingMeta.from_json(path.with_suffix(".json").read_text())
    except FileNotFoundError:
        raise ValueError(f"{path}: its header {path.with_suffix('.json').name} is missing") from None
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{path.with_suffix('.json')}: not a usable recording header ({exc})") from None
    events = np.load(path, mmap_mode="r" if mmap else None)
    if events.dtype != EVENT_DTYPE:
        raise ValueError(f"{path}: unexpected dtype {events.dtype}")
    return events, meta


def message_bounds(events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(start, stop) row indices of every message, computed once with numpy."""
    stops = np.flatnonzero(events["flags"] & END_OF_MESSAGE) + 1
    starts = np.empty_like(stops)
    if len(stops):
        starts[0] = 0
        starts[1:] = stops[:-1]
    return starts, stops


class EventColumns:
    """Contiguous per-field columns and per-message arrays of an event array, built once.

    Field views of a structured array are strided; the Cython book takes contiguous
    arrays, so consumers (replay, verification) slice these columns instead.

    With `kinds`, only the messages of those kinds (the kind of a message's first row)
    are listed: message `i` is then the i-th kept one, and the per-message arrays and
    Python work shrink accordingly (a replay skips BBO messages). `starts`/`stops` always
    index rows of `events` and of the row columns, which are copied whole: a contiguous
    copy of a field costs less than gathering the kept rows out of it.
    """

    def __init__(self, events: np.ndarray, kinds: Iterable[int] | None = None) -> None:
        self.side = np.ascontiguousarray(events["side"])
        self.price = np.ascontiguousarray(events["price_ticks"])
        self.qty = np.ascontiguousarray(events["qty_lots"])
        starts, stops = message_bounds(events)
        msg_kind = events["kind"][starts]
        if kinds is not None:
            keep = np.zeros(len(starts), dtype=bool)
            for kind in set(kinds):
                keep |= msg_kind == kind
            if not keep.all():
                starts, stops, msg_kind = starts[keep], stops[keep], msg_kind[keep]
        self.starts, self.stops = starts, stops
        self.msg_ts = np.ascontiguousarray(events["ts_ns"][starts])
        self.msg_kind = np.ascontiguousarray(msg_kind)
        self.msg_empty = (events["flags"][starts] & EMPTY_MESSAGE) != 0
        self.msg_first = np.ascontiguousarray(events["first_id"][starts])
        self.msg_last = np.ascontiguousarray(events["last_id"][starts])
        self.msg_prev = np.ascontiguousarray(events["prev_id"][starts])

    @classmethod
    def from_arrays(cls, **arrays: np.ndarray) -> "EventColumns":
        """The columns as computed before (app/data/replay_units.py keeps them on disk)."""
        cols = cls.__new__(cls)
        for name in ("side", "price", "qty", "starts", "stops", "msg_ts", "msg_kind", "msg_empty", "msg_first",
                     "msg_last", "msg_prev"):
            setattr(cols, name, arrays[name])
        return cols

    def __len__(self) -> int:
        return len(self.starts)

    def levels(self, msg: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(sides, prices, qtys) slices of one message; empty for an EMPTY_MESSAGE."""
        a = int(self.starts[msg])
        b = a if self.msg_empty[msg] else int(self.stops[msg])
        return self.side[a:b], self.price[a:b], self.qty[a:b]

    def snapshot_sides(self, msg: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(bid prices, bid qtys, ask prices, ask qtys) of a SNAPSHOT message."""
        sides, prices, qtys = self.levels(msg)
        bids = sides > 0
        asks = ~bids
        return prices[bids], qtys[bids], prices[asks], qtys[asks]
