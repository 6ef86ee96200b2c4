"""Running a session to its end: in real time (asyncio) or simulated time (backtest).

Both end the same way: the bot stops, every open order is cancelled and confirmed, then
the report is built. A stop that cannot confirm within its time limit is reported as
such (open_orders_at_exit > 0) rather than hidden.
"""
from __future__ import annotations

import asyncio
import signal
import sys
from typing import Any, Callable, TextIO

from app.config.bot_config import BotConfig
from app.engine.clock import SimClock
from app.engine.report import build_report
from app.engine.session import Session, build_session

_NS = 1_000_000_000


def status_line(session: Session) -> str:
    s = session.bot.status()
    fmt = lambda v: "-" if v is None else f"{v:f}"  # noqa: E731
    pnl = f"{s.pnl_quote:.4f}"
    stale = "  STALE BOOK" if s.stale else ""
    return (
        f"mid {fmt(s.mid)}  bid {fmt(s.own_bid)}  ask {fmt(s.own_ask)}  "
        f"inv {s.inventory_base:+f}  pnl {pnl}  fills {s.fills}  orders {s.open_orders}{stale}"
    )


def run_simulated(config: BotConfig, duration_s: float, progress: Callable[[Session], None] | None = None,
                  on_ready: Callable[[Session], None] | None = None) -> dict[str, Any]:
    """A backtest: simulated time as fast as possible; same engine as live. `on_ready` sees
    the built session before it starts (the CLI prints its preflight notes)."""
    session = build_session(config, simulated=True)
    if on_ready is not None:
        on_ready(session)
    clock = session.clock
    assert isinstance(clock, SimClock)
    session.start()
    start = clock.now_ns()
    end = start + int(duration_s * _NS)
    step = max(_NS, int(duration_s * _NS) // 500)  # at most ~500 curve points
    curve: list[tuple[float, str, str]] = []
    while clock.now_ns() < end:
        clock.run(until_ns=min(end, clock.now_ns() + step))
        curve.append(_curve_point(session, start))
        if progress is not None:
            progress(session)
        if not clock.pending():
            break  # the recording ended
    done: list[bool] = []
    session.bot.stop(lambda: done.append(True))
    limit = clock.now_ns() + 60 * _NS
    while not done and clock.now_ns() < limit and clock.pending():
        clock.run(until_ns=clock.now_ns() + _NS // 10)
    report = build_report(session.bot, venue=session.venue_label, mode="simulated")
    report["curve"] = {"columns": ["seconds", "pnl_quote", "inventory_base"], "points": curve}
    session.shutdown()
    return report


def _curve_point(session: Session, start_ns: int) -> tuple[float, str, str]:
    bot = session.bot
    mark = bot.mark_price()
    pnl = bot.pnl.pnl(mark) if mark is not None else 0
    return (round((session.clock.now_ns() - start_ns) / _NS, 3), f"{pnl:.6f}", f"{bot.pnl.base_delta:f}")


async def run_realtime(
    config: BotConfig,
    duration_s: float | None,
    *,
    out: TextIO = sys.stdout,
    status_interval_s: float = 1.0,
    stop_timeout_s: float = 15.0,
    journal_path: str | None = None,
    on_ready: Callable[[Session], None] | None = None,
) -> dict[str, Any]:
    """Runs until the duration ends, Ctrl-C or SIGTERM; then cancels everything and reports.
    `on_ready` sees the built session before it starts."""
    loop = asyncio.get_running_loop()
    session = build_session(config, simulated=False)
    if on_ready is not None:
        on_ready(session)
    if journal_path:
        from app.engine.journal import Journal

        session.bot.journal = Journal(journal_path)
    stop_requested = asyncio.Event()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop_requested.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread or not supported (Windows): Ctrl-C raises instead
    tty = out.isatty()
    session.start()
    try:
        try:
            await asyncio.wait_for(_print_status(session, out, tty, status_interval_s, stop_requested), duration_s)
        except asyncio.TimeoutError:
            pass
        if tty:
            out.write("\n")
        out.write("stopping: cancelling all open orders...\n")
        out.flush()
        stopped = asyncio.Event()
        session.bot.stop(stopped.set)
        try:
            await asyncio.wait_for(stopped.wait(), stop_timeout_s)
        except asyncio.TimeoutError:
            out.write(f"warning: {len(session.bot.open_orders())} orders still open after {stop_timeout_s} s\n")
        return build_report(session.bot, venue=session.venue_label, mode="real time")
    finally:
        session.shutdown()
        for sig in installed:
            loop.remove_signal_handler(sig)


async def _print_status(session: Session, out: TextIO, tty: bool, interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        line = status_line(session)
        out.write(f"\r{line}\x1b[K" if tty else line + "\n")
        out.flush()
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except asyncio.TimeoutError:
            pass
