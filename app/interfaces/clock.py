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
_END_OF_TIME = 1 << 63  # later than any int64 nanosecond time


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

    def try_advance(self, when_ns: int) -> bool:
        """From inside a callback: moves time to `when_ns` if a callback scheduled now for
        `when_ns` would certainly be the next one to run, so the caller may do that work
        inline instead of scheduling it. Returns False when it cannot tell or that work
        must wait its turn (then nothing changed and the caller schedules as usual).
        Only a SimClock can ever say yes."""
        return False


class SimClock(Clock):
    """Discrete-event time: `run` jumps from one scheduled callback to the next."""

    def __init__(self, start_ns: int = 0) -> None:
        self._now = int(start_ns)
        self._heap: list[tuple[int, int, Callback, TimerHandle]] = []
        self._seq = itertools.count()
        self._stopped = False
        self._limit: int | None = None  # while run() runs: the latest time it may reach
        self._advanced = 0  # callbacks run inline through try_advance (counted by run)

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

    def try_advance(self, when_ns: int) -> bool:
        """Jumps to `when_ns` when `call_at(when_ns, cb)` made now would make `cb` the very
        next callback `run` calls: no pending callback is due at or before `when_ns` (an
        equal-time one was scheduled earlier, so it goes first), `when_ns` is within
        run's `until_ns`, and `stop()` was not requested. The caller then runs its work
        inline, in exactly the order the scheduled callback would have had; it counts as
        one callback in run's result. Outside `run` it always returns False."""
        limit = self._limit
        if limit is None or self._stopped:
            return False
        when = int(when_ns)
        if when < self._now:
            when = self._now
        if when > limit:
            return False
        heap = self._heap
        while heap and heap[0][0] <= when:
            if not heap[0][3]._cancelled:
                return False
            heapq.heappop(heap)  # cancelled: run() would skip it anyway
        self._now = when
        self._advanced += 1
        return True

    def advance_window(self) -> int:
        """The latest time `try_advance` would accept now (-1 when none): what a compiled
        loop may jump to without asking per message. Valid until a callback is scheduled,
        the clock is stopped or `run` returns; the loop re-reads it after running Python."""
        limit = self._limit
        if limit is None or self._stopped:
            return -1
        heap = self._heap
        while heap and heap[0][3]._cancelled:
            heapq.heappop(heap)
        if heap:
            limit = min(limit, heap[0][0] - 1)
        return min(limit, (1 << 63) - 1) if limit >= self._now else -1

    def advanced(self, now_ns: int, steps: int) -> None:
        """A compiled loop moved time to `now_ns` in `steps` accepted advances (within
        `advance_window`): the same as that many successful `try_advance` calls."""
        self._now = now_ns
        self._advanced += steps

    def run(self, until_ns: int | None = None) -> int:
        """Runs callbacks in time order until `until_ns`, `stop()` or nothing is left.

        Returns the number of callbacks run (work done inline through `try_advance`
        included).
        """
        heap = self._heap
        pop = heapq.heappop
        count = 0
        self._stopped = False
        outer_limit = self._limit
        self._limit = _END_OF_TIME if until_ns is None else int(until_ns)
        advanced = self._advanced
        try:
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
        finally:
            self._limit = outer_limit
        if until_ns is not None and not self._stopped and self._now < until_ns:
            self._now = until_ns
        return count + self._advanced - advanced

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


class GuardedClock(Clock):
    """A view of another clock whose callbacks each run through `wrap(callback)`.

    Same interface, same time: it only delegates. A bot hands its strategy one of these so
    that a timer callback that raises is caught by the bot (which stops and records the
    error) instead of escaping into the clock that runs every venue and feed.
    """

    def __init__(self, inner: Clock, wrap: Callable[[Callback], Callback]) -> None:
        self.inner = inner
        self._wrap = wrap

    def now_ns(self) -> int:
        return self.inner.now_ns()

    def call_at(self, when_ns: int, callback: Callback) -> TimerHandle:
        return self.inner.call_at(when_ns, self._wrap(callback))

    def call_later(self, delay_ns: int, callback: Callback) -> TimerHandle:
        return self.inner.call_later(delay_ns, self._wrap(callback))

    def call_soon(self, callback: Callback) -> TimerHandle:
        return self.inner.call_soon(self._wrap(callback))

    @property
    def is_simulated(self) -> bool:
        return self.inner.is_simulated

    def try_advance(self, when_ns: int) -> bool:
        return self.inner.try_advance(when_ns)
