"""`data verify`: the synchroniser and book against bookTicker, on real and synthetic data."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from app.book import ASK, BID, OrderBook
from app.book.sync import DepthSynchronizer, SyncStatus
from app.data.store import recordings_dir
from app.data.verify import main_verify, verify_recordings
from tests.synthetic_recordings import book_ticker, diff, spot_session, write_recording

DATA = recordings_dir()
SPOT = [DATA / "spot_btcusdt_20240808.gz", DATA / "spot_btcusdt_20240809.gz"]
USDM = DATA / "usdm_btcusdt_20240808.gz"
needs_data = pytest.mark.skipif(not SPOT[0].is_file(), reason=f"real recordings not found in {DATA} (set COLIBRI_DATA_DIR)")


def levels(*items: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (np.array([s for s, _, _ in items], dtype=np.int8), np.array([p for _, p, _ in items], dtype=np.int64),
            np.array([q for _, _, q in items], dtype=np.int64))


def empty() -> np.ndarray:
    return np.empty(0, dtype=np.int64)


# -- synchroniser -------------------------------------------------------------------------------

def test_spot_sync_buffers_drops_and_chains() -> None:
    book = OrderBook()
    sync = DepthSynchronizer(book, "spot")
    assert sync.on_diff(1, 5, -1, *levels((BID, 100, 1))) == SyncStatus.BUFFERED
    assert sync.on_diff(6, 9, -1, *levels((ASK, 105, 2))) == SyncStatus.BUFFERED
    assert sync.on_snapshot(7, np.array([99]), np.array([4]), np.array([104]), np.array([3])) == SyncStatus.APPLIED
    assert sync.dropped == 1 and sync.diffs_applied == 1 and book.update_id == 9
    assert (book.best_bid_ticks, book.best_ask_ticks) == (99, 104) and book.volume_at(ASK, 105) == 2
    assert sync.on_diff(10, 12, -1, *levels((BID, 101, 1))) == SyncStatus.APPLIED
    assert sync.on_diff(8, 12, -1, *levels((BID, 50, 1))) == SyncStatus.STALE_DROPPED
    assert book.volume_at(BID, 50) == 0


def test_spot_gap_marks_stale_and_recovers() -> None:
    book = OrderBook()
    sync = DepthSynchronizer(book, "spot")
    sync.on_snapshot(10, np.array([99]), np.array([4]), np.array([104]), np.array([3]))
    assert sync.on_diff(11, 12, -1, *levels((BID, 100, 1))) == SyncStatus.APPLIED
    assert sync.on_diff(14, 15, -1, *levels((BID, 101, 1))) == SyncStatus.GAP  # 13 is missing
    assert book.is_stale and "U=14" in book.stale_reason and sync.needs_snapshot and sync.gaps == 1
    assert book.volume_at(BID, 101) == 0
    assert sync.on_diff(16, 18, -1, *levels((ASK, 103, 1))) == SyncStatus.BUFFERED
    assert sync.on_snapshot(15, np.array([100]), np.array([1]), np.array([104]), np.array([3])) == SyncStatus.APPLIED
    assert not book.is_stale and book.best_ask_ticks == 103 and sync.last_update_id == 18


def test_snapshot_older_than_buffer_is_a_gap() -> None:
    book = OrderBook()
    sync = DepthSynchronizer(book, "spot")
    sync.on_diff(20, 25, -1, *levels((BID, 100, 1)))
    assert sync.on_snapshot(10, np.array([99]), np.array([1]), empty(), empty()) == SyncStatus.GAP
    assert book.is_stale and sync.buffered == 1  # kept for the next snapshot
    assert sync.on_snapshot(22, np.array([99]), np.array([1]), empty(), empty()) == SyncStatus.APPLIED
    assert book.best_bid_ticks == 100


def test_futures_chain_uses_pu() -> None:
    book = OrderBook()
    sync = DepthSynchronizer(book, "futures")
    sync.on_diff(100, 110, 95, *levels((BID, 100, 1)))
    sync.on_diff(115, 130, 110, *levels((BID, 101, 1)))
    # Futures ids skip numbers: the snapshot id 112 falls between two diffs.
    assert sync.on_snapshot(112, np.array([99]), np.array([1]), empty(), empty()) == SyncStatus.APPLIED
    assert book.best_bid_ticks == 101 and sync.diffs_applied == 1
    assert sync.on_diff(140, 150, 130, *levels((ASK, 105, 1))) == SyncStatus.APPLIED
    assert sync.on_diff(160, 170, 155, *levels((ASK, 106, 1))) == SyncStatus.GAP
    assert "pu=155" in book.stale_reason


def test_bad_mode() -> None:
    with pytest.raises(ValueError):
        DepthSynchronizer(OrderBook(), "options")


# -- verify on synthetic recordings -----------------------------------------------------------

def test_synthetic_session_verifies(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_recording(tmp_path / "ok.gz", spot_session())
    report = verify_recordings([path], use_cache=False)
    assert report.ok and report.checks == 3 and report.qty_checks_matched == 3 and report.gaps == 0
    assert report.best_bid == Decimal("100.02") and report.best_ask == Decimal("100.03")
    assert main_verify([str(path), "--no-cache"]) == 0
    assert "OK" in capsys.readouterr().out


def test_dropped_diff_is_a_gap_and_exit_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messages = spot_session()
    del messages[5]  # diff 106..110 lost
    path = write_recording(tmp_path / "gap.gz", messages)
    report = verify_recordings([path], use_cache=False)
    assert report.gaps == 1 and not report.ok and "U=111" in report.gap_reasons[0]
    assert main_verify([str(path), "--no-cache"]) == 1
    out = capsys.readouterr().out
    assert "GAP" in out and "FAILED" in out


def test_wrong_book_ticker_is_a_mismatch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    messages = spot_session()
    messages[6] = book_ticker(110, "100.00", "1.00000", "100.04", "0.20000")
    path = write_recording(tmp_path / "mm.gz", messages)
    report = verify_recordings([path], use_cache=False)
    assert report.price_mismatches == 1 and report.mismatches[0].field == "ask price"
    assert report.mismatches[0].book == Decimal("100.03") and report.mismatches[0].exchange == Decimal("100.04")
    assert main_verify([str(path), "--no-cache"]) == 1
    assert "MISMATCH" in capsys.readouterr().out


def test_bad_input_exit_2_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_recording(tmp_path / "broken.gz", [spot_session()[0], diff(101, 102, [["1.0x1", "1"]], [])])
    assert main_verify([str(path), "--no-cache"]) == 2
    assert "broken.gz:2" in capsys.readouterr().err
    assert main_verify([str(tmp_path / "absent.gz")]) == 2
    assert "absent.gz" in capsys.readouterr().err


# -- verify on the real recordings --------------------------------------------------------------

@needs_data
def test_real_spot_two_files_verify() -> None:
    report = verify_recordings(SPOT)
    assert report.ok, report.summary()
    assert report.gaps == 0 and report.price_mismatches == 0 and not report.mismatches
    assert report.checks >= 1000 and report.qty_checks_matched == report.checks
    assert report.snapshots == 1 and report.diffs_applied == 6493
    assert (report.best_bid, report.best_ask) == (Decimal("61602.01"), Decimal("61602.02"))


@needs_data
def test_real_futures_verify() -> None:
    report = verify_recordings([USDM])
    assert report.ok, report.summary()
    assert report.checks >= 500 and report.qty_checks_matched == report.checks
    assert (report.best_bid, report.best_ask) == (Decimal("61659.7"), Decimal("61659.8"))


@needs_data
def test_second_spot_file_alone_cannot_sync(capsys: pytest.CaptureFixture[str]) -> None:
    assert main_verify([str(SPOT[1])]) == 1  # no snapshot in it: nothing can be verified
    assert "never synced" in capsys.readouterr().out
