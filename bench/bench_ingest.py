"""Live depth ingest: websocket diff-depth message -> updated book, messages/s, ours
against ccxt's `watch_order_book` on the same local stream. `python -m bench ingest`.

The stream is the real Binance spot BTCUSDT recording (both spot files, 6,495 chained
diffs, ~46 levels each, on the recording's 1,000-level REST snapshot), replayed by
bench/ingest_server.py in its own process as fast as the client reads. Both clients run in
this process, one after the other, each on a fresh connection:

- ours: connectors/ccxt/binance_stream.BinanceStream + CcxtFeed, exactly as the live
  connector runs them (aiohttp websocket, bytes parsed by depth_parser.pyx, applied by the
  DepthSynchronizer to the Cython book, a BookUpdated event per message);
- ccxt: an unmodified ccxt.pro.binance looping on `watch_order_book` (rate limiter off).

Timed from the snapshot (the server holds back every diff after the one bracketing it
until the snapshot has been served) to the moment the client's book has absorbed the last
diff, counted by update id: ccxt coalesces (one `watch_order_book` return per read burst),
so its progress is its book's nonce (the last u applied), not its number of returns. CPU is
this process's CPU time over the same span. Both final books must equal the book
app/data/verify rebuilds from the recording (itself checked against ~2,000 bookTickers).
"""
from __future__ import annotations

import asyncio
import bisect
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from app.data.store import recordings_dir

FILES = ("spot_btcusdt_20240808.gz", "spot_btcusdt_20240809.gz")
REPEATS = 5


@dataclass
class Run:
    messages: int
    wall_s: float
    cpu_s: float
    best_bid: Decimal
    best_ask: Decimal
    returns: int = 0  # watch_order_book returns (ccxt only)

    @property
    def rate(self) -> float:
        return self.messages / self.wall_s

    @property
    def cpu_us(self) -> float:
        return self.cpu_s / self.messages * 1e6


class Timer:
    """Wall and process CPU time between start() and stop()."""

    def start(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def stop(self) -> tuple[float, float]:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


async def run_ours(port: int, instrument, final_u: int, post: int) -> Run:
    from app.domain import BookUpdated
    from app.interfaces.clock import RealClock
    from connectors.ccxt.binance_stream import BinanceEndpoints, BinanceStream
    from connectors.ccxt.feed import CcxtFeed

    feed = CcxtFeed("bench", instrument, RealClock(asyncio.get_running_loop()), "spot")
    base = f"127.0.0.1:{port}"
    stream = BinanceStream(feed, BinanceEndpoints(f"ws://{base}/stream?streams=", f"http://{base}/api/v3/depth", False),
                           "BTCUSDT")
    # The connector's own grids: the lot rounds far-level quantities finer than it (Binance
    # keeps totals of orders placed under older rules), as `data verify` does.
    timer, done, result = Timer(), asyncio.Event(), []
    on_snapshot = feed.on_snapshot

    def timed_snapshot(*args):
        timer.start()  # the snapshot's application counts, as ccxt's reset does
        return on_snapshot(*args)

    feed.on_snapshot = timed_snapshot

    def on_event(event) -> None:
        if type(event) is BookUpdated and feed.sync.last_update_id >= final_u and not done.is_set():
            result.append(timer.stop())
            done.set()

    feed.add_listener(on_event)
    task = asyncio.get_running_loop().create_task(stream.run())
    try:
        await asyncio.wait_for(done.wait(), 120)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    book, inst = feed.book, instrument
    wall, cpu = result[0]
    return Run(post, wall, cpu, inst.ticks_to_price(book.best_bid_ticks), inst.ticks_to_price(book.best_ask_ticks))


async def run_floor(port: int, total: int, post: int) -> Run:
    """The transport alone: aiohttp reading the same stream, nothing parsed (a floor)."""
    import aiohttp

    timer, seen = Timer(), 0
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(f"ws://127.0.0.1:{port}/stream?streams=btcusdt@depth@100ms",
                                      max_msg_size=0) as ws:
            async for msg in ws:
                seen += 1
                if seen == 1:
                    async with session.get(f"http://127.0.0.1:{port}/api/v3/depth") as response:
                        await response.read()
                    timer.start()
                elif seen == total:
                    wall, cpu = timer.stop()
                    break
    return Run(post, wall, cpu, Decimal(0), Decimal(0))


async def run_ccxt(port: int, final_u: int, last_ids: list[int]) -> Run:
    import ccxt.pro as ccxtpro

    from connectors.local_exchange.ccxt_client import point_ccxt_at

    ex = point_ccxt_at(ccxtpro.binance({"enableRateLimit": False}), f"http://127.0.0.1:{port}")
    timer, start_nonce = Timer(), []
    fetch = ex.fetch_rest_order_book_safe

    async def timed_fetch(*args, **kwargs):
        snapshot = await fetch(*args, **kwargs)
        start_nonce.append(snapshot["nonce"])
        timer.start()  # ccxt now resets its book to the snapshot and replays its cache
        return snapshot

    ex.fetch_rest_order_book_safe = timed_fetch
    returns = 0
    try:
        await ex.load_markets()
        while True:
            book = await asyncio.wait_for(ex.watch_order_book("BTC/USDT"), 120)
            returns += 1
            if book["nonce"] is not None and book["nonce"] >= final_u:
                wall, cpu = timer.stop()
                break
        best_bid, best_ask = Decimal(str(book["bids"][0][0])), Decimal(str(book["asks"][0][0]))
    finally:
        await ex.close()
    absorbed = len(last_ids) - bisect.bisect_right(last_ids, start_nonce[0])
    return Run(absorbed, wall, cpu, best_bid, best_ask, returns)


def start_server(paths: list[Path]) -> tuple[subprocess.Popen, int]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.ingest_server", *map(str, paths)], stdout=subprocess.PIPE,
                            text=True, cwd=Path(__file__).resolve().parents[1])
    line = proc.stdout.readline() if proc.stdout else ""
    if not line.startswith("port "):
        proc.kill()
        raise RuntimeError(f"the replay server did not start: {line!r}")
    return proc, int(line.split()[1])


def main(repeats: int = REPEATS) -> dict:
    from app.data.store import load_market
    from app.data.verify import verify_recordings
    from bench.ingest_server import load

    paths = [recordings_dir() / name for name in FILES]
    if not all(p.is_file() for p in paths):
        print("spot recordings not found: skipped (set COLIBRI_DATA_DIR)")
        return {}
    _, _, instrument = load_market(paths)
    reference = verify_recordings(paths)  # the book rebuilt from the recording, bookTicker-checked
    replay = load([str(p) for p in paths])
    final_u, post = replay.last_ids[-1], len(replay.last_ids) - replay.bracket  # the bracketing diff on
    proc, port = start_server(paths)
    ours, peer, floor = [], [], []
    try:
        for _ in range(repeats):
            floor.append(asyncio.run(run_floor(port, len(replay.last_ids), post)))
            ours.append(asyncio.run(run_ours(port, instrument, final_u, post)))
            peer.append(asyncio.run(run_ccxt(port, final_u, replay.last_ids)))
    finally:
        proc.terminate()
        proc.wait(10)
    for run in ours + peer:  # the comparison means nothing unless both books are right
        assert (run.best_bid, run.best_ask) == (reference.best_bid, reference.best_ask), (run, reference.best_bid)
    assert all(r.messages == post for r in ours + peer), [r.messages for r in peer]
    best_ours, best_peer = max(ours, key=lambda r: r.rate), max(peer, key=lambda r: r.rate)
    best_floor = max(floor, key=lambda r: r.rate)
    print(f"{post:,} real spot BTCUSDT diffs from the snapshot on ({replay.bracket} older ones dropped), "
          f"replayed from another process; best of {repeats}")
    print(f"  {'client':<40}{'msgs/s':>10}{'us CPU/msg':>12}{'ms':>8}")
    print(f"  {'Colibri BinanceStream + CcxtFeed':<40}{best_ours.rate:>10,.0f}{best_ours.cpu_us:>12.1f}"
          f"{best_ours.wall_s * 1e3:>8.1f}")
    print(f"  {'ccxt.pro watch_order_book':<40}{best_peer.rate:>10,.0f}{best_peer.cpu_us:>12.1f}"
          f"{best_peer.wall_s * 1e3:>8.1f}")
    print(f"  {'(aiohttp websocket read alone, a floor)':<40}{best_floor.rate:>10,.0f}{best_floor.cpu_us:>12.1f}"
          f"{best_floor.wall_s * 1e3:>8.1f}")
    print(f"  ccxt returned its book {statistics.median(r.returns for r in peer):.0f} times for {post:,} diffs "
          f"(median); final best bid/ask {reference.best_bid} / {reference.best_ask} in every book")
    ratio = best_ours.rate / best_peer.rate
    print(f"ingest: ours {best_ours.rate:,.0f} msgs/s, ccxt {best_peer.rate:,.0f} msgs/s, ratio {ratio:.1f}")
    return {"messages": post, "ours_msgs_s": best_ours.rate, "ccxt_msgs_s": best_peer.rate, "ratio": ratio,
            "ours_cpu_us": best_ours.cpu_us, "ccxt_cpu_us": best_peer.cpu_us, "floor_msgs_s": best_floor.rate,
            "ours_runs": [r.rate for r in ours], "ccxt_runs": [r.rate for r in peer]}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else REPEATS)
