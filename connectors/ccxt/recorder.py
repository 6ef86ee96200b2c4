"""Records one Binance-family market's raw public streams in the format the replay reads
(app/data/binance_recording.py): gzip text, one line per message, `<receive ns> <raw JSON>`.

Why raw: a recording is evidence. Depth diffs, trades, bookTickers (and markPrice on
futures) are written exactly as received on one combined stream, so `data verify` can later
rebuild the book and check it against the exchange's own bookTickers. The REST depth
snapshot is fetched after the first diff of a connection has been written, as Binance
documents for a local book (a snapshot older than that diff is fetched again); after a
reconnect there is a new snapshot, and the break shows as a gap in `data verify`.

Crash safety: the file is written in place through gzip and sync-flushed every second, so a
killed recorder leaves everything up to the last flush readable; a normal end (duration,
Ctrl-C, SIGTERM: the caller sets `stop`) closes the gzip stream, which makes a valid file.
"""
from __future__ import annotations

import asyncio
import gzip
import logging
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import orjson

from connectors.ccxt.binance_stream import BinanceEndpoints

log = logging.getLogger(__name__)

SNAPSHOT_LIMIT = 1000
SNAPSHOT_TRIES = 5


@dataclass
class RecordStats:
    lines: int = 0
    kinds: dict[str, int] = field(default_factory=dict)  # depth, trade, bookTicker, markPrice, snapshot
    connections: int = 0

    def count(self, kind: str) -> None:
        self.lines += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def describe(self) -> str:
        return f"{self.lines:,} lines (" + ", ".join(f"{k} {v:,}" for k, v in self.kinds.items()) + ")"


def stream_names(exchange_symbol: str, futures: bool) -> list[str]:
    """The recorded streams: diffs every 100 ms, trades, bookTicker; futures also markPrice
    (funding)."""
    sym = exchange_symbol.lower()
    names = [f"{sym}@depth@100ms", f"{sym}@trade", f"{sym}@bookTicker"]
    return names + [f"{sym}@markPrice@1s"] if futures else names


class BinanceRecorder:
    def __init__(self, endpoints: BinanceEndpoints, exchange_symbol: str, out: str | Path, *,
                 flush_s: float = 1.0, backoff_s: tuple[float, float] = (0.5, 30.0)) -> None:
        self.endpoints = endpoints
        self.ident = exchange_symbol
        self.out = Path(out)
        self.flush_s = flush_s
        self.backoff_s = backoff_s
        self.url = endpoints.stream_base + "/".join(stream_names(exchange_symbol, endpoints.futures))
        self.stats = RecordStats()
        self._file: gzip.GzipFile | None = None
        self._last_flush = 0.0

    async def run(self, stop: asyncio.Event, duration_s: float | None = None) -> RecordStats:
        """Records until `stop` is set or `duration_s` has passed; the file is always closed."""
        self._file = gzip.open(self.out, "wb", compresslevel=6)
        task = asyncio.get_running_loop().create_task(self._record())
        try:
            waiter = asyncio.get_running_loop().create_task(stop.wait())
            await asyncio.wait({task, waiter}, timeout=duration_s, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if task.done():
                task.result()  # an error that ended recording early is raised here
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            self._file.close()  # the gzip trailer: a valid file whatever ended the recording
        return self.stats

    def _write(self, ts_ns: int, raw: bytes, kind: str) -> None:
        if b"\n" in raw or b"\r" in raw:  # one message per line, whatever the sender did
            raw = orjson.dumps(orjson.loads(raw))
        assert self._file is not None
        self._file.write(b"%d %s\n" % (ts_ns, raw))
        self.stats.count(kind)
        now = time.monotonic()
        if now - self._last_flush >= self.flush_s:
            self._file.flush(zlib.Z_SYNC_FLUSH)  # readable up to here if the process dies
            self._last_flush = now

    async def _record(self) -> None:
        delay = self.backoff_s[0]
        async with aiohttp.ClientSession() as session:
            while True:
                try:
                    async with session.ws_connect(self.url, heartbeat=20, max_msg_size=0) as ws:
                        self.stats.connections += 1
                        delay = self.backoff_s[0]
                        await self._read(session, ws)
                    log.warning("%s: stream closed by the exchange; reconnecting", self.ident)
                except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as exc:
                    if self.stats.connections == 0:
                        raise ConnectionError(f"cannot open {self.url}: {exc}") from exc
                    log.warning("%s: stream error (%s); reconnecting", self.ident, exc)
                await asyncio.sleep(delay)
                delay = min(self.backoff_s[1], delay * 2)

    async def _read(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        snapshot: asyncio.Task | None = None
        try:
            async for msg in ws:
                if msg.type not in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
                    if msg.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                        break
                    continue
                ts = time.time_ns()
                raw = msg.data.encode() if isinstance(msg.data, str) else msg.data
                head = raw[:60]
                kind = ("depth" if b"@depth" in head else "trade" if b"@trade" in head else
                        "bookTicker" if b"@bookTicker" in head else "markPrice" if b"@markPrice" in head else "other")
                self._write(ts, raw, kind)
                if kind == "depth" and snapshot is None:  # the first diff is in the file: now the snapshot
                    first_u = int(orjson.loads(raw)["data"]["U"])
                    snapshot = asyncio.get_running_loop().create_task(self._snapshot(session, first_u))
        finally:
            if snapshot is not None and not snapshot.done():
                snapshot.cancel()

    async def _snapshot(self, session: aiohttp.ClientSession, first_u: int) -> None:
        url = f"{self.endpoints.depth_url}?symbol={self.ident}&limit={SNAPSHOT_LIMIT}"
        for attempt in range(SNAPSHOT_TRIES):
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as response:
                    body = await response.read()
                    ts = time.time_ns()
                    if response.status != 200:
                        raise ValueError(f"HTTP {response.status}: {body[:200]!r}")
                last = int(orjson.loads(body)["lastUpdateId"])
            except (aiohttp.ClientError, OSError, asyncio.TimeoutError, ValueError, KeyError) as exc:
                log.warning("%s: depth snapshot failed (%s); trying again", self.ident, exc)
            else:
                if last >= first_u - 1:  # Binance: a snapshot older than the first buffered diff is refetched
                    self._write(ts, body.strip(), "snapshot")
                    return
            await asyncio.sleep(0.5 * (attempt + 1))
        log.error("%s: no usable depth snapshot after %d tries: the book cannot be rebuilt from this connection",
                  self.ident, SNAPSHOT_TRIES)
