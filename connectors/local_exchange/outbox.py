"""What a websocket connection sends, through one FIFO per connection with the faults a
network adds: latency (`delay_ms`), a message overtaken by the next one (`reorder`), the
socket closed instead of a message (`drop_ws`). Callers enqueue from synchronous code (the
venue's event callbacks); a consumer that falls far behind is disconnected, as Binance does."""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque

import orjson
from aiohttp import web

from connectors.local_exchange.faults import FaultInjector

log = logging.getLogger(__name__)
MAX_QUEUED = 20_000
REORDER_WAIT_S = 0.5  # a held-back message goes out anyway if nothing follows it


class Outbox:
    def __init__(self, ws: web.WebSocketResponse, faults: FaultInjector) -> None:
        self.ws = ws
        self.faults = faults
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._queue: deque[tuple[float, str]] = deque()
        self._ready = asyncio.Event()
        self._task = asyncio.create_task(self._run())

    def send(self, message: object) -> None:
        if self.closed:
            return
        if len(self._queue) >= MAX_QUEUED:
            log.warning("websocket client too slow (%d messages queued): disconnected", len(self._queue))
            self.drop()
            return
        self._queue.append((self._loop.time() + self.faults.delay_s, orjson.dumps(message).decode()))
        self._ready.set()

    def drop(self) -> None:
        """Closes the socket now (what a lost connection looks like to the client)."""
        if not self.closed:
            self.closed = True
            self._queue.clear()
            self._loop.create_task(self.ws.close())

    async def close(self) -> None:
        self.closed = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task
        with contextlib.suppress(Exception):
            await self.ws.close()

    async def _run(self) -> None:
        held: str | None = None
        queue, faults = self._queue, self.faults
        try:
            while not self.closed:
                if not queue:
                    self._ready.clear()
                    if held is not None:
                        with contextlib.suppress(asyncio.TimeoutError):
                            await asyncio.wait_for(self._ready.wait(), REORDER_WAIT_S)
                        if not queue:
                            await self.ws.send_str(held)
                            held = None
                            continue
                    else:
                        await self._ready.wait()
                    continue
                due, text = queue.popleft()
                wait = due - self._loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if faults.active:
                    if faults.roll("drop_ws"):
                        self.drop()
                        return
                    if held is None and faults.roll("reorder"):
                        held = text
                        continue
                await self.ws.send_str(text)
                if held is not None:
                    await self.ws.send_str(held)
                    held = None
        except (ConnectionResetError, RuntimeError):  # the client went away
            self.closed = True
