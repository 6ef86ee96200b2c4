"""`data info`: what a recording holds, before anyone trades on it.

Market, symbol (the venue's id and ccxt's unified symbol), the instrument rules with where
they came from, the span in UTC, message counts, update-id gaps and the longest silence.
The rules are the ones a backtest on the file would use, so a surprise shows up here
rather than as odd fills later.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np

from app.data.events import MARK, RecordingMeta
from app.data.store import load_market
from app.data.verify import verify_recordings
from app.domain.instrument import fmt_rate


def utc(ts_ns: int) -> str:
    """2024-08-08 23:54:13.900 UTC."""
    when = datetime.fromtimestamp(ts_ns / 1e9, tz=timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S.") + f"{when.microsecond // 1000:03d} UTC"


def describe_recording(paths: Iterable[Path | str], *, use_cache: bool = True, overrides: dict | None = None) -> str:
    paths = [Path(p) for p in paths]
    events, meta, inst = load_market(paths, overrides=overrides, use_cache=use_cache)
    report = verify_recordings(paths, use_cache=use_cache, overrides=overrides)
    lines = [", ".join(p.name for p in paths)]
    family = {"spot": "spot", "usdm": "USD-M futures", "coinm": "COIN-M futures"}.get(meta.family, meta.family)
    lines.append(f"  market     Binance {family}: {meta.symbol} = {inst.symbol} ({inst.kind}"
                 + (f", contract size {inst.contract_size} {inst.quote}" if inst.is_inverse else "")
                 + (f", settled in {inst.settle_asset}" if inst.is_derivative else "") + ")")
    lines.append(f"  rules      tick {inst.tick_size}, lot {inst.lot_size}, min notional {inst.min_notional} "
                 f"{inst.settle_asset}, fees maker {fmt_rate(inst.maker_fee)} / taker {fmt_rate(inst.taker_fee)}")
    lines.append(f"  source     {inst.source or 'given by the caller'}")
    if len(events):
        lines.append(f"  span       {utc(meta.first_ts_ns)} to {utc(meta.last_ts_ns)} ({meta.span_seconds:,.1f} s, "
                     "local receive times)")
        silence, at = _longest_silence(events)
        lines.append(f"  silence    longest {silence:.3f} s without a message, after {utc(at)}")
    lines.append("  messages   " + ", ".join(f"{k} {v:,}" for k, v in meta.messages.items() if v))
    if meta.skipped:
        lines.append("  skipped    " + ", ".join(f"{k} {v:,}" for k, v in meta.skipped.items()))
    lines.append(f"  book       {report.snapshots} snapshot(s), {report.diffs_applied:,} diffs applied, "
                 f"{report.gaps} gap(s) in the update-id chain"
                 + ("" if report.snapshots else ": no snapshot, the book can never be built"))
    for reason in report.gap_reasons[:5]:
        lines.append(f"    gap: {reason}")
    lines.append(_funding_line(events, meta))
    if meta.rounded_qtys:
        lines.append(f"  note       {meta.rounded_qtys} book-level quantities finer than the lot were rounded "
                     f"(first: {meta.notes[0] if meta.notes else '-'})")
    return "\n".join(lines)


def _longest_silence(events: np.ndarray) -> tuple[float, int]:
    ts = events["ts_ns"]
    if len(ts) < 2:
        return 0.0, int(ts[0]) if len(ts) else 0
    gaps = np.diff(ts)
    i = int(np.argmax(gaps))
    return float(gaps[i]) / 1e9, int(ts[i])


def _funding_line(events: np.ndarray, meta: RecordingMeta) -> str:
    if meta.kind == "spot":
        return "  funding    - (spot)"
    marks = events[events["kind"] == MARK]
    if not len(marks):
        return ("  funding    no markPrice stream: backtests pay funding only at the config's "
                "venue.funding_rate")
    rates = marks["qty_lots"] / 1e8
    return (f"  funding    {len(marks):,} markPrice messages, funding rate {rates.min():.6f} .. {rates.max():.6f}")
