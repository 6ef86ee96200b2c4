"""Every bot the journal knows, with its figures over every run: what the desktop shows
after a restart.

`bot_summaries(store, instruments)` reads the journal in three queries (the bots, their
order counts, their fills once in order) and recomputes each bot's PnL from its fills as
the live bot does (app/engine/pnl.py), marked at its last fill price; a bot that stopped
also carries the PnL it showed when it stopped (its `stopped` record, marked at the mid
of that moment). `load_summaries(path, ...)` does the same on a read-only connection of
its own, so the desktop runs it in a worker thread: a journal of a year of fills is never
read on the GUI loop. Qt-free.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from app.domain import Instrument

if TYPE_CHECKING:
    from app.engine.journal.store import JournalStore
    from app.engine.pnl import DerivativesPnl, PnlTracker

InstrumentLookup = Callable[[str, str], "Instrument | None"]
"""(account, symbol) -> the market's rules if that account is open now, else None."""


@dataclass(frozen=True, slots=True)
class BotSummary:
    """One journaled bot over every run: counts, PnL from its fills, and how it last ended."""

    name: str
    strategy: str
    account: str
    symbol: str
    state: str  # the journal's: running (left so by a crash), stopping, stopped, recovered
    started_ns: int | None
    stopped_ns: int | None
    orders: int
    fills: int
    pnl: Decimal  # from every fill, each market marked at its last fill price (0 without fills)
    pnl_asset: str
    last_price: Decimal | None
    pnl_at_stop: Decimal | None  # what the bot showed when it last stopped (its stopped record)
    other_assets: tuple[str, ...] = ()  # PnL assets of its markets left out of `pnl` (another unit)


def bot_summaries(store: "JournalStore", instruments: InstrumentLookup | None = None) -> list[BotSummary]:
    """Each bot of the journal in the order first seen; see the module docstring. A bot on
    several markets gets one PnL per market (its own fills, marked at that market's last fill
    price), summed over the markets valued in its first market's asset; markets valued in
    another asset are named in `other_assets` instead of being added in the wrong unit."""
    db = store._conn
    bots = store.bots()
    trackers: dict[str, dict[tuple[str, str], PnlTracker | DerivativesPnl]] = {b.name: {} for b in bots}
    last: dict[tuple[str, str, str], Decimal] = {}
    for name, account, trade_id, cid, symbol, side, price, amount, fee, fee_asset, maker, ts_ns in db.execute(
            "SELECT bot, account, trade_id, client_order_id, symbol, side, price, amount, fee, fee_asset, maker, "
            "ts_ns FROM fills ORDER BY id"):
        markets = trackers.get(name)
        if markets is None:
            continue  # a fill of a bot whose row is gone (never written by Colibri itself)
        tracker = markets.get((account, symbol))
        if tracker is None:
            tracker = markets[(account, symbol)] = _tracker(instruments, account, symbol)
        tracker.on_fill(_fill(trade_id, cid, symbol, side, price, amount, fee, fee_asset, maker, ts_ns))
        last[(name, account, symbol)] = Decimal(price)
    order_counts = dict(db.execute("SELECT bot, count(*) FROM orders GROUP BY bot").fetchall())
    at_stop = _pnl_at_stop(store)
    out = []
    for bot in bots:
        markets = trackers[bot.name]
        primary = markets.get((bot.account, bot.symbol)) or _tracker(instruments, bot.account, bot.symbol)
        asset = _asset(primary)
        pnl, others = Decimal(0), set()
        for (account, symbol), tracker in markets.items():
            if _asset(tracker) != asset:
                others.add(_asset(tracker))
            else:
                pnl += tracker.pnl(last[(bot.name, account, symbol)])
        out.append(BotSummary(bot.name, bot.strategy or "", bot.account, bot.symbol, bot.state, bot.started_ns,
                              bot.stopped_ns, int(order_counts.get(bot.name, 0)),
                              sum(t.fills for t in markets.values()), pnl, asset,
                              last.get((bot.name, bot.account, bot.symbol)),
                              at_stop.get(bot.name) if bot.state == "stopped" else None, tuple(sorted(others))))
    return out


def _tracker(instruments: InstrumentLookup | None, account: str, symbol: str) -> "PnlTracker | DerivativesPnl":
    """The live bot's PnL rules for one market: its instrument's if the account is open, else spot by the symbol."""
    from app.engine.journal.store import _quote_of
    from app.engine.pnl import PnlTracker, pnl_tracker_for

    instrument = instruments(account, symbol) if instruments is not None else None
    return pnl_tracker_for(instrument) if instrument is not None else PnlTracker(_quote_of(symbol))


def _asset(tracker: "PnlTracker | DerivativesPnl") -> str:
    return getattr(tracker, "asset", None) or tracker.quote_asset


def load_summaries(path: str | Path, instruments: InstrumentLookup | None = None) -> list[BotSummary]:
    """`bot_summaries` on a read-only connection of its own (safe in a worker thread while
    the app writes the journal: WAL readers never block the writer)."""
    from app.engine.journal.store import JournalStore

    store = JournalStore(path, read_only=True)
    try:
        return bot_summaries(store, instruments)
    finally:
        store.close()


def _fill(trade_id, cid, symbol, side, price, amount, fee, fee_asset, maker, ts_ns):  # noqa: ANN001, ANN202
    from app.domain import Fill, Side

    return Fill(trade_id, cid, symbol, Side(side), Decimal(price), Decimal(amount), Decimal(fee), fee_asset,
                bool(maker), ts_ns)


def _pnl_at_stop(store: "JournalStore") -> dict[str, Decimal]:
    """Each bot's PnL from its last `stopped` record that has one (older journals: none)."""
    out: dict[str, Decimal] = {}
    for name, data in store._conn.execute("SELECT bot, data FROM records WHERE kind = 'stopped' ORDER BY id"):
        try:
            value = json.loads(data).get("pnl")
            if value is not None:
                out[name] = Decimal(str(value))
        except (ValueError, InvalidOperation, AttributeError):
            continue  # a record not written by this version: no figure rather than a wrong one
    return out
