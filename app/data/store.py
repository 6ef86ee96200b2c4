"""Converts raw recordings once and loads the compact event file afterwards.

Parsing JSON costs seconds per recording; loading the converted .npy takes milliseconds
(memory-mapped). Cache entries are keyed by each source's resolved path, size and mtime,
so a changed or replaced recording is converted again, never served stale.
"""
from __future__ import annotations

import hashlib
import os
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from app.data.binance_recording import RecordingError, _lines, parse_recordings
from app.data.events import FORMAT_VERSION, MARK, SNAPSHOT, RecordingMeta, load_event_file, save_event_file
from app.domain import Instrument
from app.paths import data_dir, is_bundled

_REPO_ROOT = Path(__file__).resolve().parents[2]
# Bumped when the parser starts refusing input it used to accept: a file converted by an
# older, more lenient parser is then checked again instead of served from the cache.
_PARSER_REVISION = 2


def recordings_dir() -> Path:
    """Where the shared real recordings live: COLIBRI_DATA_DIR, else ../shared/data beside
    the checkout (tests and benchmarks skip what is not there), or, in an installed bundle,
    the recordings folder of the user's data (app/paths.py)."""
    override = os.environ.get("COLIBRI_DATA_DIR")
    if override:
        return Path(override)
    return data_dir() / "recordings" if is_bundled() else _REPO_ROOT.parent / "shared" / "data"


def default_cache_dir() -> Path:
    """COLIBRI_CACHE_DIR, else .cache/recordings under the checkout, or, in an installed
    bundle, the user's data folder (the install folder may be read-only, or signed)."""
    override = os.environ.get("COLIBRI_CACHE_DIR")
    if override:
        return Path(override)
    return data_dir() / "cache" / "recordings" if is_bundled() else _REPO_ROOT / ".cache" / "recordings"


def cache_key(paths: Iterable[Path], extra: str = "") -> str:
    digest = hashlib.sha256(f"v{FORMAT_VERSION}|p{_PARSER_REVISION}|{extra}".encode())
    for path in paths:
        st = path.stat()
        digest.update(f"|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def convert_recordings(
    paths: Iterable[Path | str], out_path: Path | str, **parse_options: object
) -> tuple[np.ndarray, RecordingMeta]:
    """Parses raw recordings and writes `out_path` (.npy + .json sidecar)."""
    events, meta = parse_recordings(paths, **parse_options)  # type: ignore[arg-type]
    save_event_file(Path(out_path), events, meta)
    return events, meta


def load_events(
    paths: Iterable[Path | str] | Path | str,
    *,
    instrument: Instrument | None = None,
    market: str | None = None,
    cache_dir: Path | str | None = None,
    use_cache: bool = True,
) -> tuple[np.ndarray, RecordingMeta]:
    """Events and header of one converted .npy file, or of raw recordings (converted once).

    If the cache directory cannot be written, the parsed array is returned uncached.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    sources = [Path(p) for p in paths]
    if len(sources) == 1 and sources[0].suffix == ".npy":
        try:
            return load_event_file(sources[0])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if isinstance(exc, RecordingError):
                raise
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise RecordingError(sources[0], 0, f"cannot read converted recording: {reason}") from None
    for src in sources:
        if not src.is_file():
            raise RecordingError(src, 0, "no such recording file")
    if not use_cache:
        return parse_recordings(sources, instrument=instrument, market=market)
    extra = f"{market}|{instrument!r}"
    target = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = target / f"{cache_key(sources, extra)}.npy"
    if target.is_file() and target.with_suffix(".json").is_file():
        try:
            return load_event_file(target)
        except (ValueError, OSError):
            pass  # unreadable or outdated entry: convert again
    events, meta = parse_recordings(sources, instrument=instrument, market=market)
    try:
        save_event_file(target, events, meta)
    except OSError:
        return events, meta
    return events, meta


# -- order checks on the raw lines --------------------------------------------------------------

_DUPLICATE_WINDOW = 200_000  # lines remembered for duplicate detection (bounded memory)
_DEPTH_IDS = re.compile(rb'"U":\s*(\d+),\s*"u":\s*(\d+)')
_TRADE_ID = re.compile(rb'"t":\s*(\d+)')


@dataclass
class OrderScan:
    """Receive times going backwards and duplicated messages in raw recordings."""

    lines: int = 0
    backwards: int = 0
    duplicates: int = 0
    problems: list[str] = field(default_factory=list)  # the first few, each naming file:line

    def note(self, text: str, limit: int) -> None:
        if len(self.problems) < limit:
            self.problems.append(text)


def scan_order(paths: Iterable[Path], *, limit: int = 20, first_backwards_only: bool = False) -> OrderScan:
    """Reads raw recordings once more (no JSON parsing) and finds lines whose receive time is
    earlier than the line before, repeated lines, and repeated depth update id ranges
    (U..u) or trade ids. Duplicates are looked for among the last 200,000 lines.
    With `first_backwards_only`, stops at the first time going backwards (replay check).
    Raises RecordingError on unreadable input, like the parser."""
    scan = OrderScan()
    seen: dict[object, str] = {}
    window: deque = deque()
    prev_ts = 0
    prev_where = ""
    for path, lineno, ts, payload in _lines(paths):
        scan.lines += 1
        where = f"{path}:{lineno}"
        if ts < prev_ts:
            scan.backwards += 1
            scan.note(f"{where}: receive time {ts} is {(prev_ts - ts) / 1e9:.6f} s before that of "
                      f"{prev_where} ({prev_ts}): receive times go backwards", limit)
            if first_backwards_only:
                return scan
        prev_ts, prev_where = ts, where
        if first_backwards_only:
            continue
        keys: list[object] = [hash(payload) ^ ts]
        head = payload[:48]
        if b"@depth" in head:
            ids = _DEPTH_IDS.search(payload)
            if ids:
                keys.append(("depth", ids.group(1), ids.group(2)))
        elif b"@trade" in head:
            ids = _TRADE_ID.search(payload)
            if ids:
                keys.append(("trade", ids.group(1)))
        for i, key in enumerate(keys):
            earlier = seen.get(key)
            if earlier is not None:
                scan.duplicates += 1
                if i == 0:
                    scan.note(f"{where}: duplicate message: the same line as {earlier}", limit)
                elif key[0] == "depth":
                    scan.note(f"{where}: duplicate depth update U={key[1].decode()} u={key[2].decode()} "
                              f"(already at {earlier})", limit)
                else:
                    scan.note(f"{where}: duplicate trade id {key[1].decode()} (already at {earlier})", limit)
                break  # one finding per line
        for key in keys:
            if key not in seen:
                seen[key] = where
                window.append(key)
        while len(window) > _DUPLICATE_WINDOW:
            seen.pop(window.popleft(), None)
    return scan


def check_replayable(events: np.ndarray, paths: Iterable[Path | str]) -> None:
    """Refuses (RecordingError) recordings whose replay could only be wrong: no depth
    snapshot (the book can never be built) or receive times going backwards (the replay
    order would differ from the recorded one)."""
    sources = [Path(p) for p in paths]
    names = ", ".join(str(p) for p in sources)
    if not len(events):
        raise RecordingError("", 0, f"no market data in {names}")
    if not (events["kind"] == SNAPSHOT).any():
        raise RecordingError("", 0, f"no depth snapshot in {names}: the book can never be built")
    ts = events["ts_ns"]
    backwards = np.flatnonzero(ts[1:] < ts[:-1])
    if not len(backwards):
        return
    if not (len(sources) == 1 and sources[0].suffix == ".npy"):
        scan = scan_order(sources, limit=1, first_backwards_only=True)
        if scan.problems:
            raise RecordingError("", 0, f"{scan.problems[0]}; a replay needs them in order")
    row = int(backwards[0]) + 1
    raise RecordingError(sources[0], 0, f"event row {row}: receive time {int(ts[row])} is before the "
                         f"previous row's ({int(ts[row - 1])}): receive times go backwards; a replay needs them in order")


def load_market(
    paths: Iterable[Path | str],
    *,
    overrides: dict | None = None,
    where: str = "the command line",
    use_cache: bool = True,
) -> tuple[np.ndarray, RecordingMeta, Instrument]:
    """A recording with the rules a run on it uses: inferred from the data, the exchange's
    cached markets (minimum notional, fees) and the user's `overrides` on top
    (app/markets/registry.py). Parsed again when the overrides change the tick or lot, so
    an off-grid value under the user's rules is an error naming file and line."""
    from app.markets.ccxt_markets import BINANCE_FAMILY_EXCHANGES, load_markets_cache
    from app.markets.registry import resolve

    sources = [Path(p) for p in paths]
    events, meta = load_events(sources, use_cache=use_cache)
    inferred = meta.instrument
    exchange_id = BINANCE_FAMILY_EXCHANGES.get(meta.family, "")
    exchange = load_markets_cache(exchange_id).get(inferred.symbol) if exchange_id else None
    instrument = resolve(inferred, exchange=exchange, cli=overrides or {}, from_data=True)
    if overrides:
        instrument = instrument.with_rules(source=instrument.source.replace("the command line", where))
    if any(getattr(instrument, f) != getattr(inferred, f) for f in ("tick_size", "lot_size")):
        events, meta = load_events(sources, instrument=instrument, market=meta.family, use_cache=use_cache)
    _check_integer_range(events, instrument, sources)
    return events, meta, instrument


def _check_integer_range(events: np.ndarray, instrument: Instrument, sources: list[Path]) -> None:
    """Bad data, said as such: a grid so fine that the market's numbers overflow int64."""
    from app.markets.registry import integer_range_problem

    book = events[events["kind"] != MARK]
    if not len(book):
        return
    problem = integer_range_problem(instrument, int(np.abs(book["price_ticks"]).max()),
                                    int(np.abs(book["qty_lots"]).max()))
    if problem is not None:
        where = sources[0] if len(sources) == 1 else f"{sources[0]} (and {len(sources) - 1} more)"
        raise RecordingError(where, 0, f"{problem} (the tick and lot come from the data's finest values: "
                                       "one may be a stray)")
