"""`data verify`: rebuilds the book from a recording and checks it against the exchange.

Binance's bookTicker carries the id `u` of the book update it reflects. When it equals the
`u` of the depth diff just applied, the exchange's best bid/ask (and their quantities) at
that exact moment are known, so the local book can be compared exactly. Together with
the update-id chain (a gap is reported, never papered over) this proves that parsing,
synchronisation and the book itself are right on real data.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from app.book.orderbook import OrderBook
from app.book.sync import DepthSynchronizer, SyncStatus
from app.data.binance_recording import RecordingError
from app.data.events import BBO, DEPTH, SNAPSHOT, TRADE, EventColumns
from app.data.store import load_market, scan_order


@dataclass(frozen=True)
class Mismatch:
    update_id: int
    ts_ns: int
    field: str  # "bid price", "ask qty", ...
    book: Decimal
    exchange: Decimal

    def __str__(self) -> str:
        return f"u={self.update_id} ts={self.ts_ns}: {self.field} book {self.book} != bookTicker {self.exchange}"


@dataclass
class VerifyReport:
    files: list[str]
    market: str = ""
    symbol: str = ""
    rules: str = ""  # the instrument rules used, and where they came from
    snapshots: int = 0
    diffs_applied: int = 0
    diffs_buffered_dropped: int = 0
    gaps: int = 0
    gap_reasons: list[str] = field(default_factory=list)
    checks: int = 0  # bookTickers compared (prices)
    qty_checks_matched: int = 0  # of those, how many also matched both quantities
    price_mismatches: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)  # first few, prices and qtys
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    stale_at_end: bool = False
    messages: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    rounded_qtys: int = 0
    notes: list[str] = field(default_factory=list)
    time_backwards: int = 0  # lines received earlier than the line before them
    duplicates: int = 0  # repeated lines, depth update id ranges or trade ids
    order_problems: list[str] = field(default_factory=list)  # the first few, with file:line

    @property
    def qty_mismatches(self) -> int:
        return self.checks - self.qty_checks_matched

    @property
    def ok(self) -> bool:
        """No gap, no mismatch (prices or quantities), and the book was synced at all."""
        return (
            self.gaps == 0 and not self.mismatches and self.snapshots > 0 and not self.stale_at_end
            and not self.time_backwards and not self.duplicates
        )

    def summary(self) -> str:
        lines = [
            f"verify {', '.join(self.files)}",
            f"  market {self.market} {self.symbol}; messages: "
            + ", ".join(f"{k} {v:,}" for k, v in self.messages.items()),
        ]
        if self.rules:
            lines.append(f"  rules: {self.rules}")
        if self.skipped:
            lines.append("  skipped: " + ", ".join(f"{k} {v:,}" for k, v in self.skipped.items()))
        lines += [
            f"  snapshots {self.snapshots}, diffs applied {self.diffs_applied:,}, "
            f"dropped as already in snapshot {self.diffs_buffered_dropped:,}, gaps {self.gaps}",
            f"  exact checks against bookTicker: {self.checks:,}; prices mismatched {self.price_mismatches}; "
            f"quantities matched {self.qty_checks_matched:,}/{self.checks:,}",
            f"  final best bid {self.best_bid} / best ask {self.best_ask}"
            + (" (book STALE)" if self.stale_at_end else ""),
        ]
        if self.rounded_qtys:
            lines.append(f"  {self.rounded_qtys} far book-level quantities finer than the lot were rounded:")
            lines += [f"    {note}" for note in self.notes[:5]]
        lines.append(f"  receive times going backwards: {self.time_backwards:,}; duplicate messages: {self.duplicates:,}")
        for problem in self.order_problems[:20]:
            lines.append(f"  {'BACKWARDS' if 'go backwards' in problem else 'DUPLICATE'} {problem}")
        for reason in self.gap_reasons[:10]:
            lines.append(f"  GAP {reason}")
        for mismatch in self.mismatches[:20]:
            lines.append(f"  MISMATCH {mismatch}")
        if self.snapshots == 0:
            lines.append("  no snapshot in the recording: the book was never synced, nothing verified")
        lines.append("  OK" if self.ok else "  FAILED")
        return "\n".join(lines)


def verify_recordings(
    paths: Iterable[Path | str], *, use_cache: bool = True, max_listed: int = 100, overrides: dict | None = None
) -> VerifyReport:
    """Replays consecutive recordings through the synchroniser and checks every bookTicker
    that names the diff just applied. The rules are inferred from the data unless
    `overrides` (command-line flags) state some. Raises RecordingError on unreadable input."""
    paths = [Path(p) for p in paths]
    events, meta, instrument = load_market(paths, overrides=overrides, use_cache=use_cache)
    report = VerifyReport(
        files=[p.name for p in paths], market=meta.family or meta.market, symbol=f"{meta.symbol} = {instrument.symbol}",
        rules=f"{instrument.describe()}; {instrument.source}" if instrument.source else instrument.describe(),
        messages=dict(meta.messages),
        skipped=dict(meta.skipped), rounded_qtys=meta.rounded_qtys, notes=list(meta.notes),
    )
    cols = EventColumns(events)
    book = OrderBook(meta.symbol)
    sync = DepthSynchronizer(book, meta.market)
    kinds = cols.msg_kind.tolist()
    firsts = cols.msg_first.tolist()
    lasts = cols.msg_last.tolist()
    prevs = cols.msg_prev.tolist()
    starts = cols.starts.tolist()
    price, qty = cols.price, cols.qty
    last_applied = -1
    pending_bbo: int | None = None  # a bookTicker that arrived before its diff
    to_price = instrument.ticks_to_price
    to_amount = instrument.lots_to_amount

    def check(msg: int) -> None:
        row = starts[msg]  # bid row, then ask row
        report.checks += 1
        got = (book.best_bid_ticks, book.best_ask_ticks, book.best_bid_lots, book.best_ask_lots)
        want = (int(price[row]), int(price[row + 1]), int(qty[row]), int(qty[row + 1]))
        if got[:2] != want[:2]:
            report.price_mismatches += 1
        if got[2:] == want[2:] and got[:2] == want[:2]:
            report.qty_checks_matched += 1
        for i, name in enumerate(("bid price", "ask price", "bid qty", "ask qty")):
            if got[i] != want[i] and len(report.mismatches) < max_listed:
                conv = to_price if i < 2 else to_amount
                report.mismatches.append(
                    Mismatch(lasts[msg], int(cols.msg_ts[msg]), name, conv(got[i]), conv(want[i]))
                )

    for msg, kind in enumerate(kinds):
        if kind == DEPTH:
            sides, prices, qtys = cols.levels(msg)
            status = sync.on_diff(firsts[msg], lasts[msg], prevs[msg], sides, prices, qtys)
            if status == SyncStatus.APPLIED:
                last_applied = lasts[msg]
                if pending_bbo is not None and lasts[pending_bbo] == last_applied:
                    check(pending_bbo)
                    pending_bbo = None
            elif status == SyncStatus.GAP:
                report.gap_reasons.append(sync.last_gap_reason)
        elif kind == SNAPSHOT:
            status = sync.on_snapshot(lasts[msg], *cols.snapshot_sides(msg))
            last_applied = sync.last_update_id
            if status == SyncStatus.GAP:
                report.gap_reasons.append(sync.last_gap_reason)
        elif kind == BBO:
            if not sync.synced or book.is_stale:
                continue
            if lasts[msg] == last_applied:
                check(msg)
            elif lasts[msg] > last_applied:
                pending_bbo = msg
        elif kind == TRADE:
            continue
    _check_order(report, paths, events, max_listed)
    report.snapshots = sync.snapshots
    report.diffs_applied = sync.diffs_applied
    report.diffs_buffered_dropped = sync.dropped
    report.gaps = sync.gaps
    report.stale_at_end = book.is_stale or not sync.synced
    if book.best_bid_ticks:
        report.best_bid = to_price(book.best_bid_ticks)
    if book.best_ask_ticks:
        report.best_ask = to_price(book.best_ask_ticks)
    return report


def _check_order(report: VerifyReport, paths: list[Path], events, max_listed: int) -> None:
    """Receive times going backwards and duplicates: from the raw lines (file:line), or for a
    converted .npy from its rows."""
    if len(paths) == 1 and paths[0].suffix == ".npy":
        ts = events["ts_ns"]
        rows = np.flatnonzero(ts[1:] < ts[:-1]) + 1
        report.time_backwards = len(rows)
        report.order_problems += [
            f"{paths[0]}: event row {int(r)}: receive time {int(ts[r])} is before the previous row's "
            f"({int(ts[r - 1])}): receive times go backwards" for r in rows[:max_listed]
        ]
        return
    scan = scan_order(paths, limit=max_listed)
    report.time_backwards = scan.backwards
    report.duplicates = scan.duplicates
    report.order_problems = scan.problems


def main_verify(argv: Sequence[str] | None = None) -> int:
    """CLI entry: 0 when every check passes, 1 on a mismatch or gap, 2 on unreadable input."""
    parser = argparse.ArgumentParser(
        prog="colibri data verify",
        description="Rebuild the order book from Binance recordings (consecutive files, in order) "
        "and compare it with every bookTicker that names the update just applied.",
    )
    parser.add_argument("files", metavar="FILE", nargs="+", help="raw .gz recordings or a converted .npy")
    parser.add_argument("--no-cache", action="store_true", help="parse again, do not read or write the cache")
    args = parser.parse_args(argv)
    return run_verify(args.files, use_cache=not args.no_cache)


def run_verify(files: Sequence[str | Path], *, use_cache: bool = True, overrides: dict | None = None) -> int:
    """Prints the report: 0 when every check passes, 1 on a mismatch, gap, time going
    backwards or duplicate, 2 (one line on stderr) on unreadable input or bad rules."""
    try:
        report = verify_recordings(files, use_cache=use_cache, overrides=overrides)
    except RecordingError as exc:
        print(f"error: cannot read recording: {exc}", file=sys.stderr)
        return 2
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0 if report.ok else 1


if __name__ == "__main__":  # pragma: no cover - manual use: python -m app.data.verify FILE...
    raise SystemExit(main_verify())
