"""One notion of time for live trading and simulation.

Every component (demo exchange, replay feed, paper latency, strategy timers) schedules its
work through a Clock, so the same code runs in real time on asyncio and in simulated time
as fast as the CPU allows. Components schedule batches, never one callback per market
message, because each callback on the Qt event loop is expensive.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from abc import ABC, abstractmethod
from typing import Callable

Callback = Callable[[], None]


class TimerHandle:
    __slots__ = ("_cancelled", "_inner")

    def __init__(self) -> None:
        self._cancelled = False
        self._inner: asyncio.TimerHandle | None = None

    def cancel(self) -> None:
        self._cancelled = True
        if self._inner is not None:
            self._inner.cancel()

    @property
    def cancelled(self) -> bool:
        return self._cancelled


class Clock(ABC):
    @abstractmethod
    def now_ns(self) -> int: ...

    @abstractmethod
    def call_at(self, when_ns: int, callback: Callback) -> TimerHandle: ...

    def call_later(self, delay_ns: int, callback: Callback) -> TimerHandle:
        return self.call_at(self.now_ns() + max(0, int(delay_ns)), callback)

    def call_soon(self, callback: Callback) -> TimerHandle:
        return self.call_at(self.now_ns(), callback)

    @property
    def is_simulated(self) -> bool:
        return False


class SimClock(Clock):
    """Discrete-event time: `run` jumps from one scheduled callback to the next."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = int(start_ns)
        self._heap: list[tuple[int, int, Callback, TimerHandle]] = []
        self._seq = itertools.count()
        self._stopped = False

    def now_ns(self) -> int:
        return self._now

    @property
    def is_simulated(self) -> bool:
        return True

    def call_at(self, when_ns: int, callback: Callback) -> TimerHandle:
        handle = TimerHandle()
        heapq.heappush(self._heap, (max(int(when_ns), self._now), next(self._seq), callback, handle))
        return handle

    def stop(self) -> None:
        self._stopped = True

    def run(self, until_ns: int | None = None) -> int:
        """Runs callbacks in time order until `until_ns`, `stop()` or nothing is left.

        Returns the number of callbacks run.
        """
        heap = self._heap
        pop = heapq.heappop
        count = 0
        self._stopped = False
        while heap and not self._stopped:
            when = heap[0][0]
            if until_ns is not None and when > until_ns:
                break
            _, _, callback, handle = pop(heap)
            if handle._cancelled:
                continue
            self._now = when
            callback()
            count += 1
        if until_ns is not None and not self._stopped and self._now < until_ns:
            self._now = until_ns
        return count

    def pending(self) -> int:
        return sum(1 for item in self._heap if not item[3]._cancelled)


class RealClock(Clock):
    """Wall-clock time on the running asyncio loop (plain asyncio or qasync)."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self._loop = loop

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        return self._loop

    def now_ns(self) -> int:
        return time.time_ns()

    def call_at(self, when_ns: int, callback: Callback) -> TimerHandle:
        handle = TimerHandle()
        delay_s = max(0.0, (int(when_ns) - time.time_ns()) / 1e9)

        def fire() -> None:
            if not handle._cancelled:
                callback()

        handle._inner = self.loop.call_later(delay_s, fire)
        return handle
