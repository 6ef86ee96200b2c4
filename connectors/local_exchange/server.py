"""The local exchange server: the demo exchange on a real clock, served over HTTP and
websockets with Binance spot's protocol on 127.0.0.1.

    server = LocalExchangeServer(port=0, seed=7)
    await server.start()          # server.url, server.api_key, server.secret
    server.faults.force("http429")
    await server.stop()

Routes: /api/v3/* (rest.py), /ws, /ws/<stream>, /stream, /stream/ws/<n> (streams.py),
/ws-api/v3 (wsapi.py), /colibri/faults (fault counters; POST ?kind=&count= forces).
"""
from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import Mapping, TextIO

from aiohttp import web

from app.interfaces.clock import RealClock
from connectors.demo.exchange import DemoExchange
from connectors.local_exchange.auth import Credentials
from connectors.local_exchange.faults import FaultInjector
from connectors.local_exchange.limits import WeightLimiter
from connectors.local_exchange.rest import RestApi
from connectors.local_exchange.state import StateStore
from connectors.local_exchange.streams import StreamHub
from connectors.local_exchange.venue import BinanceVenue
from connectors.local_exchange.wsapi import WsApi

DEFAULT_START_PRICE = Decimal("60000")
META_SAVE_S = 5.0


class LocalExchangeServer:
    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, seed: int = 7, api_key: str | None = None,
        secret: str | None = None, state_dir: str | Path | None = None, faults: str | FaultInjector | None = None,
        balances: Mapping[str, Decimal | str | int] | None = None, weight_limit: int = 6000, step_ms: int = 20,
    ) -> None:
        if (api_key is None) != (secret is None):
            raise ValueError("give both the API key and the secret, or neither")
        self.credentials = Credentials(api_key, secret) if api_key and secret else Credentials.generate()
        self.faults = faults if isinstance(faults, FaultInjector) else FaultInjector(faults)
        self.host, self.port, self.seed = host, int(port), int(seed)
        self.state_dir = Path(state_dir) if state_dir else None
        self._balances = dict(balances) if balances else None
        self.limiter = WeightLimiter(weight_limit)
        self.step_ms = int(step_ms)
        self.exchange: DemoExchange | None = None
        self.venue: BinanceVenue | None = None
        self.store: StateStore | None = None
        self._runner: web.AppRunner | None = None
        self._hub: StreamHub | None = None
        self._wsapi: WsApi | None = None
        self._meta_task: asyncio.Task | None = None

    @property
    def api_key(self) -> str:
        return self.credentials.api_key

    @property
    def secret(self) -> str:
        return self.credentials.secret

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def hub(self) -> StreamHub:
        assert self._hub is not None
        return self._hub

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        store = self.store = StateStore(self.state_dir) if self.state_dir else None
        saved = store.balances() if store else {}
        meta = store.meta() if store else {}
        self.exchange = DemoExchange(
            RealClock(loop), balances=saved or self._balances, seed=self.seed, latency_ns=0,
            step_ns=self.step_ms * 1_000_000, start_price=Decimal(meta.get("mid_price", DEFAULT_START_PRICE)),
        )
        self.exchange.start()
        if store is not None and not saved:
            store.save_balances({a: b.total for a, b in self.exchange.balances().items()})
        self.venue = BinanceVenue(self.exchange, store)
        self.venue.attach()
        rest = RestApi(self.venue, self.credentials, self.faults, self.limiter)
        self._hub = StreamHub(self.venue, self.faults)
        self._wsapi = WsApi(self.venue, self.credentials, self.faults, self.limiter)
        app = web.Application(middlewares=[rest.middleware])
        rest.add_routes(app)
        for path in ("/ws", "/ws/{tail}", "/stream", "/stream/ws", "/stream/ws/{tail}"):
            app.router.add_get(path, self._hub.handle)
        app.router.add_get("/ws-api/v3", self._wsapi.handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError:
            await self._teardown()
            raise
        self.port = self._runner.addresses[0][1]
        self._hub.start()
        self._meta_task = loop.create_task(self._save_meta_periodically())

    async def stop(self) -> None:
        if self._meta_task is not None:
            self._meta_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._meta_task
            self._meta_task = None
        if self._hub is not None:
            await self._hub.stop()
        if self._wsapi is not None:
            await self._wsapi.stop()
        await self._teardown()

    async def _teardown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.venue is not None:
            self.venue.detach()
        if self.exchange is not None:
            self.exchange.stop()
        if self.store is not None:
            self.store.close()
            self.store = None

    async def _save_meta_periodically(self) -> None:
        while True:
            await asyncio.sleep(META_SAVE_S)
            if self.venue is not None:
                self.venue.save_meta()

    async def __aenter__(self) -> "LocalExchangeServer":
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def serve(server: LocalExchangeServer, out: TextIO = sys.stdout) -> None:
    """Starts the server, prints its URL, key and secret (one line each) and runs until
    SIGINT or SIGTERM."""
    await server.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        print(f"url: {server.url}", file=out)
        print(f"key: {server.api_key}", file=out)
        print(f"secret: {server.secret}", file=out)
        print(f"Rehearsal exchange: {server.venue.symbol} (demo market, seed {server.seed})"
              f"{f', state in {server.state_dir}' if server.state_dir else ''}"
              f"{', faults on' if server.faults.active else ''}; Ctrl-C or SIGTERM stops it", file=out)
        out.flush()
        await stop.wait()
    finally:
        await server.stop()
