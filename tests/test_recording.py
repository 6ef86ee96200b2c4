"""Recording parser and event files: exact ticks/lots, detection, errors with file:line, cache."""
from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from app.data.binance_recording import RecordingError, parse_recordings
from app.data.events import (
    BBO, DEPTH, EMPTY_MESSAGE, END_OF_MESSAGE, EVENT_DTYPE, SNAPSHOT, TRADE, EventColumns, load_event_file,
)
from app.data.store import convert_recordings, load_events, recordings_dir
from app.domain import BTC_USDT, BTC_USDT_PERP, Instrument
from tests.synthetic_recordings import diff, spot_session, trade, write_recording

DATA = recordings_dir()
SPOT_0808 = DATA / "spot_btcusdt_20240808.gz"
USDM_0808 = DATA / "usdm_btcusdt_20240808.gz"
needs_data = pytest.mark.skipif(not SPOT_0808.is_file(), reason=f"real recordings not found in {DATA} (set COLIBRI_DATA_DIR)")


# -- synthetic inputs -------------------------------------------------------------------------

def test_synthetic_rows_are_exact(tmp_path: Path) -> None:
    events, meta = parse_recordings([write_recording(tmp_path / "s.gz", spot_session())], instrument=BTC_USDT)
    assert events.dtype == EVENT_DTYPE
    assert meta.market == "spot" and meta.instrument == BTC_USDT
    assert meta.messages == {"depth": 5, "snapshot": 1, "trade": 2, "bookTicker": 3}
    first = events[0]
    assert (first["kind"], first["side"], first["price_ticks"], first["qty_lots"]) == (DEPTH, 1, 10_000, 100_000)
    assert (first["first_id"], first["last_id"], first["prev_id"]) == (90, 100, -1)
    assert first["exch_ts_ns"] == 1_723_161_255_000 * 1_000_000
    assert first["flags"] == END_OF_MESSAGE
    snap = events[events["kind"] == SNAPSHOT]
    assert snap["side"].tolist() == [1, 1, -1, -1] and set(snap["last_id"].tolist()) == {103}
    assert snap["flags"].tolist() == [0, 0, 0, END_OF_MESSAGE]
    trades = events[events["kind"] == TRADE]
    # m=false: the buyer took liquidity (+1); m=true: the seller did (-1).
    assert trades["side"].tolist() == [1, -1]
    assert trades["price_ticks"].tolist() == [10_005, 10_002] and trades["qty_lots"].tolist() == [10_000, 30_000]
    bbo = events[events["kind"] == BBO]
    assert bbo["side"].tolist()[:2] == [1, -1] and bbo["last_id"].tolist()[:2] == [105, 105]
    empty = events[(events["flags"] & EMPTY_MESSAGE) != 0]
    assert len(empty) == 1 and (empty[0]["first_id"], empty[0]["last_id"]) == (111, 111)
    assert empty[0]["flags"] == EMPTY_MESSAGE | END_OF_MESSAGE
    cols = EventColumns(events)
    assert len(cols) == 11  # every message ends with exactly one END row
    assert [len(cols.levels(i)[0]) for i in range(len(cols))][:3] == [1, 2, 4]


def test_event_columns_for_some_kinds(tmp_path: Path) -> None:
    events, _ = parse_recordings([write_recording(tmp_path / "s.gz", spot_session())], instrument=BTC_USDT)
    every = EventColumns(events)
    book = EventColumns(events, kinds=(DEPTH, SNAPSHOT, TRADE))  # what a replay needs: no BBO
    kept = [i for i in range(len(every)) if every.msg_kind[i] != BBO]
    assert len(book) == len(kept) == 8 and BBO not in book.msg_kind.tolist()
    for mine, i in enumerate(kept):  # the same messages, rows and ids, numbered among the kept
        assert (book.starts[mine], book.stops[mine]) == (every.starts[i], every.stops[i])
        for name in ("msg_ts", "msg_kind", "msg_empty", "msg_first", "msg_last", "msg_prev"):
            assert getattr(book, name)[mine] == getattr(every, name)[i], name
        assert [a.tolist() for a in book.levels(mine)] == [a.tolist() for a in every.levels(i)]
    snap = book.msg_kind.tolist().index(SNAPSHOT)
    assert [a.tolist() for a in book.snapshot_sides(snap)] == [[10_000, 9_999], [100_000, 300_000],
                                                              [10_005, 10_010], [200_000, 100_000]]
    assert len(EventColumns(events, kinds=[DEPTH, SNAPSHOT, TRADE, BBO])) == len(every)
    assert len(EventColumns(events, kinds=())) == 0
    assert len(EventColumns(events[:0], kinds=(DEPTH,))) == 0


def test_ts_kept_in_file_order_across_files(tmp_path: Path) -> None:
    a = write_recording(tmp_path / "a.gz", spot_session()[:3])
    b = write_recording(tmp_path / "b.gz", spot_session()[3:], start_ns=2_000_000_000_000_000_000)
    events, meta = parse_recordings([a, b])
    assert meta.sources == ["a.gz", "b.gz"]
    assert np.all(np.diff(events["ts_ns"]) >= 0)


def test_bad_json_names_file_and_line(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "bad.gz", [spot_session()[0], '{"stream": "btcusdt@trade", "data": {'])
    with pytest.raises(RecordingError, match=r"bad\.gz:2: bad JSON"):
        parse_recordings([path])


def test_off_grid_price_names_file_and_line(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "grid.gz", [spot_session()[0], diff(101, 102, [["100.005", "1.0"]], [])])
    with pytest.raises(RecordingError, match=r"grid\.gz:2: price '100\.005' is not a multiple of 0\.01"):
        parse_recordings([path], instrument=BTC_USDT)


def test_off_grid_trade_quantity_is_an_error(tmp_path: Path) -> None:
    path = write_recording(tmp_path / "t.gz", [trade(1, "100.00", "0.000001", False)])
    with pytest.raises(RecordingError, match=r"t\.gz:1: quantity '0\.000001'"):
        parse_recordings([path], instrument=BTC_USDT)


def test_off_grid_level_quantity_is_rounded_and_reported(tmp_path: Path) -> None:
    # Binance spot really sends such totals for old far-away orders (e.g. 25.42618900 BTC).
    path = write_recording(tmp_path / "q.gz", [diff(1, 2, [], [["200000.00", "25.42618900"]])])
    events, meta = parse_recordings([path], instrument=BTC_USDT)
    assert events["qty_lots"].tolist() == [2_542_619]
    assert meta.rounded_qtys == 1 and meta.notes[0].startswith("q.gz:1: level quantity 25.42618900")
    with pytest.raises(RecordingError, match=r"q\.gz:1: level quantity"):
        parse_recordings([path], strict=True, instrument=BTC_USDT)


def test_malformed_lines(tmp_path: Path) -> None:
    path = tmp_path / "ts.gz"
    write_recording(path, [spot_session()[0]])
    import gzip
    with gzip.open(path, "at") as fh:
        fh.write("notanumber {}\n")
    with pytest.raises(RecordingError, match=r"ts\.gz:2: expected '<receive ns> <json>'"):
        parse_recordings([path])
    missing = write_recording(tmp_path / "m.gz", [{"stream": "btcusdt@depth@100ms", "data": {"s": "BTCUSDT", "U": 1, "pu": 0}}])
    with pytest.raises(RecordingError, match=r"m\.gz:1: missing field 'u'"):
        parse_recordings([missing])
    with pytest.raises(RecordingError, match=r"nothere\.gz: cannot open"):
        parse_recordings([tmp_path / "nothere.gz"])


def test_unknown_streams_are_counted(tmp_path: Path) -> None:
    odd = {"stream": "btcusdt@kline_1m", "data": {"s": "BTCUSDT"}}
    path = write_recording(tmp_path / "u.gz", [odd, spot_session()[0], odd])
    events, meta = parse_recordings([path])
    assert meta.skipped == {"btcusdt@kline_1m": 2} and meta.messages["depth"] == 1


def test_futures_detection_and_override(tmp_path: Path) -> None:
    fut = {"stream": "btcusdt@depth@0ms", "data": {"e": "depthUpdate", "E": 1, "T": 1, "s": "BTCUSDT",
                                                   "U": 10, "u": 12, "pu": 9, "b": [["61800.10", "0.001"]], "a": []}}
    path = write_recording(tmp_path / "f.gz", [fut])
    events, meta = parse_recordings([path], instrument=BTC_USDT_PERP)
    assert meta.market == "futures" and meta.family == "usdm" and meta.instrument == BTC_USDT_PERP
    assert events["price_ticks"].tolist() == [618_001] and events["prev_id"].tolist() == [9]
    odd = {**fut, "data": {**fut["data"], "b": [["61800.15", "0.001"]]}}
    other = write_recording(tmp_path / "g.gz", [odd])
    with pytest.raises(RecordingError, match=r"g\.gz:1: price '61800\.15' is not a multiple of 0\.1"):
        parse_recordings([other], instrument=BTC_USDT_PERP)
    custom = Instrument("X", "BTC", "USDT", Decimal("0.05"), Decimal("0.001"))
    events, meta = parse_recordings([other], instrument=custom)
    assert events["price_ticks"].tolist() == [1_236_003] and meta.tick_size == "0.05"


def test_convert_and_cache(tmp_path: Path) -> None:
    src = write_recording(tmp_path / "s.gz", spot_session())
    events, meta = convert_recordings([src], tmp_path / "out" / "s.npy")
    loaded, meta2 = load_event_file(tmp_path / "out" / "s.npy")
    assert np.array_equal(loaded, events) and meta2 == meta
    cache = tmp_path / "cache"
    first, _ = load_events([src], cache_dir=cache)
    assert len(list(cache.glob("*.npy"))) == 1
    second, _ = load_events([src], cache_dir=cache)
    assert isinstance(second, np.memmap) and np.array_equal(first, second)
    write_recording(src, spot_session()[:2])  # the source changed: converted again
    os.utime(src, ns=(1, 1))
    third, meta3 = load_events([src], cache_dir=cache)
    assert meta3.messages["depth"] == 2 and len(list(cache.glob("*.npy"))) == 2


# -- the real recordings --------------------------------------------------------------------

@needs_data
def test_real_spot_counts_match_the_readme() -> None:
    events, meta = load_events([SPOT_0808])
    assert meta.market == "spot" and meta.instrument == BTC_USDT
    assert meta.messages == {"depth": 3451, "snapshot": 1, "trade": 9757, "bookTicker": 28040}
    assert meta.skipped == {}
    assert int(np.count_nonzero(events["flags"] & END_OF_MESSAGE)) == 3451 + 1 + 9757 + 28040
    assert events[0]["price_ticks"] == 6_173_763 and events[0]["first_id"] == 50_093_239_189
    snap = events[events["kind"] == SNAPSHOT]
    assert len(snap) == 2000 and set(snap["last_id"].tolist()) == {50_093_239_218}


@needs_data
def test_real_futures_detected() -> None:
    events, meta = load_events([USDM_0808])
    assert meta.market == "futures" and meta.instrument == BTC_USDT_PERP
    assert meta.messages == {"depth": 6551, "snapshot": 1, "trade": 21313, "bookTicker": 66089}
    depth = events[events["kind"] == DEPTH]
    assert (depth["prev_id"] >= 0).all()
