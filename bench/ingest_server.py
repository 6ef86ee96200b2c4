"""The replay server of bench_ingest: real Binance spot diff-depth messages, served on
127.0.0.1 as fast as a client reads them, in a process of its own.

Run by the bench as `python -m bench.ingest_server FILE...` (it prints `port N` and serves
until killed). Its own process, so the server's work never counts against the client being
measured (2 cores: the server takes the other one). The frames are built once, up front,
and written straight to the socket: the server is not the bottleneck.

Routes, as the two clients expect them:
- /stream?streams=btcusdt@depth@100ms/... : the combined stream (our BinanceStream), the
  recording's {"stream","data"} envelopes byte for byte;
- /stream/ws[/<n>] : ccxt's path; it sends SUBSCRIBE, gets `{"result":null,"id":N}` (which
  triggers its snapshot), then the raw `data` objects;
- /api/v3/depth : the recording's REST snapshot; /api/v3/exchangeInfo : BTCUSDT's rules.

Each connection first gets the diffs up to the one bracketing the snapshot
(U <= lastUpdateId + 1 <= u), then waits until the snapshot has been served and gets all
the rest at once: a client's throughput is timed from its snapshot to the last diff.
"""
from __future__ import annotations

import asyncio
import gzip
import struct
import sys
from dataclasses import dataclass

import orjson
from aiohttp import WSMsgType, web

WRITE_BUFFER = 4 << 20  # bytes queued on the socket before the writer waits for the client


@dataclass
class Replay:
    envelopes: list[bytes]  # combined-stream messages, as recorded
    raw: list[bytes]  # their `data` objects
    first_ids: list[int]
    last_ids: list[int]
    snapshot: bytes
    snapshot_id: int
    bracket: int  # index of the diff with U <= snapshot_id + 1 <= u


def load(paths: list[str]) -> Replay:
    """Depth diffs of consecutive spot recordings (chained U == previous u + 1) and the
    first REST snapshot among them."""
    envelopes, raw, firsts, lasts = [], [], [], []
    snapshot, snapshot_id = b"", 0
    for path in paths:
        with gzip.open(path, "rb") as handle:
            for line in handle:
                _, _, body = line.rstrip(b"\r\n").partition(b" ")
                if b'"lastUpdateId"' in body[:40] and not snapshot:
                    snapshot, snapshot_id = body, orjson.loads(body)["lastUpdateId"]
                elif b"@depth" in body[:40]:
                    data = orjson.loads(body)["data"]
                    envelopes.append(body)
                    start = body.index(b'"data":') + len(b'"data":')
                    raw.append(body[start:body.rindex(b"}")])
                    firsts.append(int(data["U"]))
                    lasts.append(int(data["u"]))
    if not snapshot:
        raise SystemExit(f"no REST snapshot in {paths}")
    for i in range(1, len(firsts)):
        if firsts[i] != lasts[i - 1] + 1:
            raise SystemExit(f"diff {i}: U {firsts[i]} does not follow u {lasts[i - 1]}")
    bracket = next(i for i, (f, last) in enumerate(zip(firsts, lasts)) if f <= snapshot_id + 1 <= last)
    return Replay(envelopes, raw, firsts, lasts, snapshot, snapshot_id, bracket)


def frame(payload: bytes) -> bytes:
    """An unmasked websocket text frame (server to client)."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + struct.pack("!H", n) + payload
    return bytes((0x81, 127)) + struct.pack("!Q", n) + payload


EXCHANGE_INFO = {
    "timezone": "UTC", "serverTime": 0, "rateLimits": [], "exchangeFilters": [],
    "symbols": [{
        "symbol": "BTCUSDT", "status": "TRADING", "baseAsset": "BTC", "baseAssetPrecision": 8, "quoteAsset": "USDT",
        "quotePrecision": 8, "quoteAssetPrecision": 8, "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "isSpotTradingAllowed": True, "isMarginTradingAllowed": False, "permissions": [], "permissionSets": [["SPOT"]],
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00", "tickSize": "0.01"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.0", "stepSize": "0.00001"},
            {"filterType": "NOTIONAL", "minNotional": "5.0", "applyMinToMarket": True},
        ],
    }],
}


class ReplayServer:
    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        cut = replay.bracket + 1
        self.frames = {True: [frame(m) for m in replay.envelopes], False: [frame(m) for m in replay.raw]}
        self.pre = {k: b"".join(v[:cut]) for k, v in self.frames.items()}
        self.post = {k: [b"".join(v[i:i + 64]) for i in range(cut, len(v), 64)] for k, v in self.frames.items()}
        self.snapshot_served = asyncio.Event()

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/v3/exchangeInfo", self.exchange_info)
        app.router.add_get("/api/v3/depth", self.depth)
        for path in ("/stream", "/stream/ws", "/stream/ws/{tail}"):
            app.router.add_get(path, self.stream)
        return app

    async def exchange_info(self, request: web.Request) -> web.Response:
        return web.Response(body=orjson.dumps(EXCHANGE_INFO), content_type="application/json")

    async def depth(self, request: web.Request) -> web.Response:
        response = web.Response(body=self.replay.snapshot, content_type="application/json")
        self.snapshot_served.set()
        return response

    async def stream(self, request: web.Request) -> web.WebSocketResponse:
        self.snapshot_served.clear()  # one client at a time: the bench runs them in turn
        ws = web.WebSocketResponse(compress=False, max_msg_size=0)
        await ws.prepare(request)
        combined = request.path.rstrip("/") == "/stream"
        writer: asyncio.Task | None = None
        if combined:
            writer = asyncio.get_running_loop().create_task(self._send(request, combined))
        async for msg in ws:
            if msg.type == WSMsgType.TEXT and writer is None:
                rid = orjson.loads(msg.data).get("id")
                await ws.send_str(orjson.dumps({"result": None, "id": rid}).decode())
                writer = asyncio.get_running_loop().create_task(self._send(request, combined))
            elif msg.type == WSMsgType.ERROR:
                break
        if writer is not None:
            writer.cancel()
        return ws

    async def _send(self, request: web.Request, combined: bool) -> None:
        transport = request.transport
        assert transport is not None
        transport.write(self.pre[combined])
        await self.snapshot_served.wait()
        for chunk in self.post[combined]:
            while transport.get_write_buffer_size() > WRITE_BUFFER:
                await asyncio.sleep(0.0005)
            if transport.is_closing():
                return
            transport.write(chunk)


async def serve(paths: list[str]) -> None:
    server = ReplayServer(load(paths))
    runner = web.AppRunner(server.app(), access_log=None, handle_signals=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    print(f"port {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(sys.argv[1:]))
