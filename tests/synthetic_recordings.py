"""Builds small Binance-style recordings (gzip, `<recv ns> <json>` lines) for tests."""
from __future__ import annotations

import gzip
import json
from pathlib import Path

T0 = 1_723_161_253_000_000_000
STEP = 100_000_000  # 100 ms between lines


def diff(first: int, last: int, bids: list[list[str]], asks: list[list[str]]) -> dict:
    return {"stream": "btcusdt@depth@100ms", "data": {
        "e": "depthUpdate", "E": 1_723_161_255_000, "s": "BTCUSDT", "U": first, "u": last, "b": bids, "a": asks}}


def snapshot(last_update_id: int, bids: list[list[str]], asks: list[list[str]]) -> dict:
    return {"lastUpdateId": last_update_id, "bids": bids, "asks": asks}


def book_ticker(u: int, bid: str, bid_qty: str, ask: str, ask_qty: str) -> dict:
    return {"stream": "btcusdt@bookTicker", "data": {"u": u, "s": "BTCUSDT", "b": bid, "B": bid_qty, "a": ask, "A": ask_qty}}


def trade(trade_id: int, price: str, qty: str, buyer_is_maker: bool) -> dict:
    return {"stream": "btcusdt@trade", "data": {
        "e": "trade", "E": 1_723_161_255_343, "s": "BTCUSDT", "t": trade_id, "p": price, "q": qty,
        "T": 1_723_161_255_342, "m": buyer_is_maker, "M": True}}


def spot_session() -> list[dict]:
    """A consistent spot story: diff before the snapshot, snapshot, diffs, matching tickers."""
    return [
        diff(90, 100, [["100.00", "1.00000"]], []),  # contained in the snapshot: dropped
        diff(101, 105, [["100.01", "0.50000"]], [["100.05", "2.00000"]]),  # brackets 103
        snapshot(103, [["100.00", "1.00000"], ["99.99", "3.00000"]], [["100.05", "2.00000"], ["100.10", "1.00000"]]),
        book_ticker(105, "100.01", "0.50000", "100.05", "2.00000"),
        trade(1, "100.05", "0.10000", False),
        diff(106, 110, [["100.01", "0.00000"]], [["100.03", "0.20000"]]),
        book_ticker(110, "100.00", "1.00000", "100.03", "0.20000"),
        diff(111, 111, [], []),  # an empty diff keeps the chain
        diff(112, 120, [["100.02", "0.70000"]], []),
        book_ticker(120, "100.02", "0.70000", "100.03", "0.20000"),
        trade(2, "100.02", "0.30000", True),
    ]


def write_recording(path: Path, messages: list[dict | str], start_ns: int = T0) -> Path:
    """Writes messages (dicts as JSON, strings verbatim) one per line, 100 ms apart."""
    with gzip.open(path, "wt") as fh:
        for i, msg in enumerate(messages):
            text = msg if isinstance(msg, str) else json.dumps(msg)
            fh.write(f"{start_ns + i * STEP} {text}\n")
    return path
