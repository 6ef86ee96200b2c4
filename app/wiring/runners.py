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
from app.interfaces.clock import SimClock
from app.engine.bot import BotState
from app.engine.analytics import RunAnalytics
from app.engine.report import build_report
from app.wiring.session import Session, build_session

_NS = 1_000_000_000
LIVE_STOP_TIMEOUT_S = 60.0


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
    tracker = _RunTracker(session)
    analytics = RunAnalytics(session.bot)  # before the bot starts: its listener goes first
    session.start()
    start = clock.now_ns()
    end = start + int(duration_s * _NS)
    tracker.started(start)
    step = max(_NS, int(duration_s * _NS) // 500)  # at most ~500 curve points
    curve: list[tuple[float, str, str]] = []
    while clock.now_ns() < end:
        clock.run(until_ns=min(end, clock.now_ns() + step))
        curve.append(_curve_point(session, start))
        if progress is not None:
            progress(session)
        if tracker.data_end_ns is not None or not clock.pending():
            break  # the recording ended: the market is frozen from here on, stop now
        if session.bot.state is not BotState.RUNNING:
            break  # it stopped itself (a risk limit, a failure): the run ends with it
    done: list[bool] = []
    session.bot.stop(lambda: done.append(True))
    limit = clock.now_ns() + 60 * _NS
    while not done and clock.now_ns() < limit and clock.pending():
        clock.run(until_ns=clock.now_ns() + _NS // 10)
    report = build_report(session.bot, venue=session.venue_label, mode="simulated", analytics=analytics)
    report["curve"] = {"columns": ["seconds", "pnl_quote", "inventory_base"], "points": curve}
    tracker.finish(report, min(clock.now_ns(), end) if tracker.data_end_ns is None else tracker.data_end_ns,
                   duration_s)
    session.shutdown()
    return report


class _RunTracker:
    """Watches a backtest's market feed: when a replay ends (the clock stops right there, so
    the bot stops at the last recorded instant instead of quoting a frozen market) and how
    long the book was not valid (before the first snapshot, and from each gap to its resync)."""

    def __init__(self, session: Session) -> None:
        from connectors.replay.feed import ReplayFeed

        self.clock = session.clock
        self.data_end_ns: int | None = None
        self.start_ns = 0
        self.gaps: list[dict[str, Any]] = []
        self.stale_ns = 0
        self._invalid_since: int | None = None
        self._open_gap: dict[str, Any] | None = None
        self._gap_ts: list[int] = []
        self.replay: ReplayFeed | None = next((p for p in session.startables if isinstance(p, ReplayFeed)), None)
        self.recordings = list(session.config.recordings) if self.replay is not None else []
        if self.replay is not None:
            previous = self.replay.on_finished

            def finished() -> None:
                self.data_end_ns = self.clock.now_ns()
                if isinstance(self.clock, SimClock):
                    self.clock.stop()
                if previous is not None:
                    previous()

            self.replay.on_finished = finished
            self.replay.add_listener(self._on_event)

    def started(self, start_ns: int) -> None:
        self.start_ns = start_ns
        if self.replay is not None and not self.replay.synchronizer.synced:
            self._invalid_since = start_ns  # no book until the first snapshot is applied

    def _on_event(self, event: object) -> None:
        from app.domain import BookResynced, BookStale

        now = self.clock.now_ns()
        if isinstance(event, BookStale):
            if self._invalid_since is None:
                self._invalid_since = now
            if self._open_gap is None:
                self._open_gap = {"at": _utc(event.ts_ns), "reason": event.reason, "resynced_after_s": None}
                self.gaps.append(self._open_gap)
                self._gap_ts.append(event.ts_ns)
        elif isinstance(event, BookResynced):
            if self._invalid_since is not None:
                self.stale_ns += max(0, now - self._invalid_since)
                if self._open_gap is not None:
                    self._open_gap["resynced_after_s"] = round((now - self._invalid_since) / _NS, 3)
                self._invalid_since = None
                self._open_gap = None

    def finish(self, report: dict[str, Any], end_ns: int, duration_s: float) -> None:
        if self._invalid_since is not None:
            self.stale_ns += max(0, end_ns - self._invalid_since)
        ran_s = max(0.0, (end_ns - self.start_ns) / _NS)
        if self.data_end_ns is not None and ran_s < duration_s:
            report["end_reason"] = (f"end of data at {_utc(self.data_end_ns)}, after {ran_s:.1f} s "
                                    f"of the requested {duration_s:g} s")
        else:
            report["end_reason"] = "duration reached"
        report["simulated_seconds"] = round(ran_s, 3)
        report["stale_seconds"] = round(self.stale_ns / _NS, 3)
        report["stale_pct"] = round(100.0 * self.stale_ns / _NS / ran_s, 2) if ran_s > 0 else 0.0
        self._locate_gaps()
        report["gaps"] = self.gaps
        notes = report.get("notes")
        if not isinstance(notes, list):
            notes = report["notes"] = []
        notes.extend(format_backtest_notes(report))

    def _locate_gaps(self, limit: int = 10) -> None:
        """File and line of the first few gaps (the line received at the gap's time)."""
        wanted = {ts: gap for ts, gap in zip(self._gap_ts[:limit], self.gaps[:limit])}
        if not wanted or not self.recordings or any(p.suffix == ".npy" for p in self.recordings):
            return
        from app.data.binance_recording import RecordingError, _lines

        try:
            for path, lineno, ts, _ in _lines(self.recordings):
                gap = wanted.pop(ts, None)
                if gap is not None:
                    gap["where"] = f"{path}:{lineno}"
                    if not wanted:
                        break
        except (RecordingError, OSError):
            pass  # the file changed since it was read: the time alone says where


def _utc(ts_ns: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts_ns / _NS, timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def format_backtest_notes(report: dict[str, Any]) -> list[str]:
    """Lines for a backtest summary: why it ended, and where the book was not valid."""
    lines: list[str] = []
    if "end_reason" in report:
        lines.append(f"ended: {report['end_reason']}")
    stale = report.get("stale_seconds")
    gaps = report.get("gaps") or []
    if stale:
        lines.append(f"no valid book for {stale:g} s ({report.get('stale_pct', 0):g}% of the run)"
                     + (f", {len(gaps)} gap(s) in the recording" if gaps else ""))
    for gap in gaps[:10]:
        resync = gap.get("resynced_after_s")
        after = f"resynced after {resync:g} s" if resync is not None else "never resynced"
        where = f" ({gap['where']})" if gap.get("where") else ""
        lines.append(f"gap at {gap['at']}{where}: {gap['reason']}; {after}")
    return lines


def _curve_point(session: Session, start_ns: int) -> tuple[float, str, str]:
    """PnL in the valuation asset; inventory: the first role's (net over the markets
    trading its base asset when there are several)."""
    bot = session.bot
    pnl = bot.pnl_value()
    inventory = bot.net_inventory() if bot.multi_market else bot.pnl.base_delta
    return (round((session.clock.now_ns() - start_ns) / _NS, 3), f"{pnl if pnl is not None else 0:.6f}",
            f"{inventory:f}")


async def run_realtime(
    config: BotConfig,
    duration_s: float | None,
    *,
    out: TextIO = sys.stdout,
    status_interval_s: float = 1.0,
    stop_timeout_s: float = 15.0,
    journal_path: str | None = None,
    on_restart: str = "stop",
    on_ready: Callable[[Session], None] | None = None,
) -> dict[str, Any]:
    """Runs until the duration ends, Ctrl-C or SIGTERM; then cancels everything and reports.
    `on_ready` sees the built session before it starts.

    With `journal_path` (app/engine/journal) the run is journaled and, first, recovers what
    an earlier run left: after an unclean exit or with orders the journal knows as open,
    `on_restart` "resume" adopts the orders still open on the venue and runs the bot with
    them; "stop" cancels them and returns without running the bot (the report then has
    `stopped_after_recovery`)."""
    from app.engine.journal import JournalStore

    store = JournalStore(journal_path) if journal_path else None
    try:
        report = await _run_realtime(config, duration_s, out, status_interval_s, stop_timeout_s, store, on_restart,
                                     on_ready)
    except BaseException:
        if store is not None:
            store.close(clean=False)
        raise
    if store is not None:
        store.close()
    return report


async def _recover(session: Session, store: Any, on_restart: str, timeout_s: float, out: TextIO) -> Any:
    """Recovery before the bot starts (app/engine/journal/recovery.py); None if nothing to do."""
    from app.engine.journal import finish_recovery, recover

    connectors = {connector.name: connector for connector in session.connectors}
    report = await recover(store, connectors)
    if not report.needed:
        return None
    await finish_recovery(report, store, connectors, on_restart, resumable={session.bot.name}, timeout_s=timeout_s)
    out.write(f"recovery: {report.summary()}\n")
    out.flush()
    return report


def _hand_over(session: Session, recovery: Any) -> None:
    """The adopted orders become the bot's, right before it starts listening: recovery's
    keeper journals them until here, the bot from here on (nothing awaits in between)."""
    from app.engine.journal import RESUME

    if recovery is None or recovery.choice != RESUME:
        return
    for order in recovery.adopted.get(session.bot.name, []):
        recovery.hand_over(order.client_order_id)
        session.bot.adopt(order.client_order_id)


async def _run_realtime(config: BotConfig, duration_s: float | None, out: TextIO, status_interval_s: float,
                        stop_timeout_s: float, store: Any, on_restart: str,
                        on_ready: Callable[[Session], None] | None) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    from app.wiring.market_venues import open_market_venues

    venues = await open_market_venues(config)  # a live venue connects (markets, streams, reconciliation) first
    live = any(v.needs_connect for v in venues.start_order)
    try:
        session = build_session(config, simulated=False, journal=store, venues=venues)
    except BaseException:
        for venue in venues.start_order:
            venue.connector.stop()
        raise
    if on_ready is not None:
        on_ready(session)
    stop_requested = asyncio.Event()
    installed = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop_requested.set)
            installed.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):
            pass  # not the main thread or not supported (Windows): Ctrl-C raises instead
    tty = out.isatty()
    session.start_venue()
    try:
        recovery = await _recover(session, store, on_restart, stop_timeout_s, out) if store is not None else None
        if recovery is not None and recovery.choice == "stop":
            return {"stopped_after_recovery": True, "recovery": recovery.as_dict(),
                    "open_orders_at_exit": len(recovery.still_open)}
        analytics = RunAnalytics(session.bot)
        _hand_over(session, recovery)
        session.bot.start()
        def stopped_itself(bot: Any) -> None:  # a risk limit, a failure: the run ends as with Ctrl-C
            if bot.state is not BotState.RUNNING:
                stop_requested.set()

        session.bot.add_state_listener(stopped_itself)
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
        # A live venue may need a lost cancel answer resolved (a timeout, then a query) and the
        # cancel sent again: it gets a minute, a simulated venue the given time.
        stop_wait = max(stop_timeout_s, LIVE_STOP_TIMEOUT_S) if live else stop_timeout_s
        try:
            await asyncio.wait_for(stopped.wait(), stop_wait)
        except asyncio.TimeoutError:
            out.write(f"warning: {len(session.bot.open_orders())} orders still open after {stop_wait:g} s\n")
        report = build_report(session.bot, venue=session.venue_label, mode="real time", analytics=analytics)
        if recovery is not None:
            report["recovery"] = recovery.as_dict()
        return report
    finally:
        for venue in venues.start_order:
            if venue.needs_connect:
                await venue.connector.disconnect()  # a live venue closes its sockets before the loop ends
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
