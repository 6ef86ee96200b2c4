"""Recovery at start: the journal's open orders reconciled with the venues, then resumed or stopped.

Two steps, so the user can choose in between (the desktop's dialog, the headless
`--on-restart` flag):

1. `await recover(store, connectors)` asks the venue about every order the journal does
   not know to be final (`connector.query_order`): an order open there is adopted by its
   connector (`connector.adopt_order`) so its events flow again; one that ended there gets
   its final state in the journal; one the venue does not have is FAILED (it never got it,
   or, for an in-process venue such as the demo exchange, it ended with the process). It
   also lists the orders open on the venue that carry one of the journal's bot tags but are
   not in the journal (`connector.query_open_orders`; placed and then the intent lost, or
   another copy of the app). Nothing is cancelled yet.
   From the moment an order is adopted until a bot takes it (`report.hand_over`), what
   it does on the venue (fills, cancels) is journaled by the report's keeper: no fill may
   slip through while the user chooses or the bots are rebuilt.
2. `await finish_recovery(report, store, connectors, RESUME | STOP)`: RESUME adopts those
   unknown orders too and leaves every adopted order to its bot (the wiring recreates the
   bots and calls `report.hand_over` then `bot.adopt` for each); STOP cancels every adopted
   and unknown order, waits for the venue to confirm, journals the outcome and marks the
   bots stopped. Either way the unclean sessions are marked recovered and a `recovery`
   record keeps the summary.
"""
from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Mapping

from app.domain import Event, Order, OrderFilled, OrderStatus, OrderUpdated
from app.domain.order import SESSION_ID, parse_client_order_id
from app.engine.journal.store import JournaledBot, JournaledOrder, JournalStore, SessionInfo, account_epoch

if TYPE_CHECKING:
    from app.interfaces.venue import Connector

RESUME = "resume"
STOP = "stop"
CHOICES = (RESUME, STOP)

_NEVER_SENT = (OrderStatus.PENDING_CREATE, OrderStatus.UNKNOWN)


@dataclass(frozen=True, slots=True)
class OrderFinding:
    """What became of one journaled order that was not final."""

    client_order_id: str
    bot: str
    account: str
    symbol: str
    journaled: str  # its status in the journal
    venue: str | None  # the venue's status now; None: the venue has no such order
    outcome: str  # adopted, filled, cancelled, rejected, failed, unresolved, left
    detail: str


@dataclass(slots=True)
class FoundOrder:
    """An order open on the venue with one of the journal's bot tags, unknown to the journal."""

    client_order_id: str
    account: str
    bot: str
    symbol: str
    side: str
    status: str
    action: str = "reported"  # then adopted or cancelled, as the user chose
    order: Order | None = field(default=None, repr=False, compare=False)


@dataclass
class RecoveryReport:
    unclean_sessions: list[SessionInfo] = field(default_factory=list)
    bots: list[JournaledBot] = field(default_factory=list)  # running when their session ended uncleanly
    orders: list[OrderFinding] = field(default_factory=list)
    found: list[FoundOrder] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    adopted: dict[str, list[Order]] = field(default_factory=dict)  # bot -> orders open on the venue
    choice: str | None = None
    still_open: list[str] = field(default_factory=list)  # cancels not confirmed in time (STOP)
    keeper: "_Keeper | None" = field(default=None, repr=False, compare=False)

    def hand_over(self, client_order_id: str) -> None:
        """Call right before `bot.adopt(client_order_id)`, with no await in between: from
        here on the bot journals the order (journaling its fills twice would leave them out
        of the bot's PnL: a fill already journaled counts as reported again)."""
        if self.keeper is not None:
            self.keeper.release(client_order_id)

    @property
    def needed(self) -> bool:
        """Something to tell the user: an unclean exit, orders that were open, unknown orders."""
        return bool(self.unclean_sessions or self.orders or self.found or self.problems)

    def outcomes(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for finding in self.orders:
            counts[finding.outcome] = counts.get(finding.outcome, 0) + 1
        return counts

    def summary(self) -> str:
        """One paragraph saying what was found and done."""
        parts: list[str] = []
        if self.unclean_sessions:
            starts = ", ".join(f"{_utc(s.started_ns)} (pid {s.pid})" for s in self.unclean_sessions)
            parts.append(f"The previous run{'s' if len(self.unclean_sessions) > 1 else ''} started {starts} "
                         "ended without a clean stop.")
        else:
            parts.append("The previous run stopped cleanly.")
        if self.bots:
            parts.append("Bots running then: " + ", ".join(
                f"{b.name} ({b.strategy or '?'} on {b.account} {b.symbol})" for b in self.bots) + ".")
        if self.orders:
            counts = self.outcomes()
            words = {
                "adopted": "still open on the venue and adopted",
                "filled": "filled meanwhile", "cancelled": "cancelled meanwhile", "rejected": "rejected by the venue",
                "failed": "marked failed (the venue never got them or no longer has them)",
                "unresolved": "unresolved (the venue could not be asked; left as journaled)",
                "left": "left as journaled (their account is not open in this run)",
            }
            said = [f"{n} {words.get(k, k)}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1])]
            parts.append(f"{len(self.orders)} order{'s' if len(self.orders) != 1 else ''} the journal knew as "
                         f"open: {'; '.join(said)}.")
        else:
            parts.append("No order was left open in the journal.")
        if self.found:
            actions = sorted({f.action for f in self.found})
            parts.append(f"{len(self.found)} order{'s' if len(self.found) != 1 else ''} open on the venue carry one "
                         f"of our bot tags but were not in the journal ({', '.join(actions)}).")
        if self.choice == RESUME:
            n = sum(len(v) for v in self.adopted.values())
            parts.append(f"Chosen: resume the bots ({n} adopted order{'s' if n != 1 else ''} handed to them).")
        elif self.choice == STOP:
            parts.append("Chosen: stop the bots and cancel their orders"
                         + (f"; {len(self.still_open)} cancel(s) not confirmed in time." if self.still_open
                            else "; every cancel was confirmed." if self.orders or self.found else "."))
        if self.problems:
            parts.append("Problems: " + "; ".join(self.problems) + ".")
        return " ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "unclean_sessions": [asdict(s) for s in self.unclean_sessions],
            "bots": [b.name for b in self.bots],
            "orders": [asdict(f) for f in self.orders],
            "found": [{k: v for k, v in asdict(f).items() if k != "order"} for f in self.found],
            "problems": list(self.problems),
            "choice": self.choice,
            "still_open": list(self.still_open),
        }


def _utc(ns: int) -> str:
    return datetime.fromtimestamp(ns / 1e9, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _amount(connector: "Connector", symbol: str, lots: int) -> Decimal | None:
    inst = connector.instruments.get(symbol)
    return inst.lots_to_amount(lots) if inst is not None else None


async def recover(store: JournalStore, connectors: Mapping[str, "Connector"]) -> RecoveryReport:
    """Step 1 (module docstring): resolves every non-final journaled order with its venue
    and lists unknown orders carrying our bot tags. `connectors`: by account name, started."""
    report = RecoveryReport(unclean_sessions=store.unclean_sessions(), keeper=_Keeper(store))
    unclean = {s.id for s in report.unclean_sessions}
    report.bots = [b for b in store.bots() if b.session in unclean and b.state == "running"]
    listed: dict[str, dict[str, Order] | None] = {}  # account -> the venue's open orders, asked once
    for row in store.orders(open_only=True):
        if row.session == store.session:
            continue  # placed by this run
        await _resolve(store, connectors, row, report, listed)
    await _find_unknown(store, connectors, report)
    return report


RETRY_DELAYS_S = (0.5, 1.0, 2.0, 4.0, 8.0)
"""A venue that fails a query (a timeout, a 5xx, a rate limit) is asked again after these
pauses before recovery reports the order unresolved: one bad answer must not leave an
order unknown for the whole run."""


async def _asked(ask):  # noqa: ANN001, ANN202 - a zero-argument coroutine function
    import asyncio

    for delay in (*RETRY_DELAYS_S, None):
        try:
            return await ask()
        except Exception:
            if delay is None:
                raise
            await asyncio.sleep(delay)


async def _open_on_venue(connector: "Connector", account: str,
                         listed: dict[str, dict[str, Order] | None]) -> dict[str, Order]:
    """The venue's open orders by client id (asked once per account; {} if it cannot say)."""
    if account not in listed:
        try:
            listed[account] = {o.client_order_id: o for o in await _asked(connector.query_open_orders)}
        except Exception:  # reported by _find_unknown, which asks again
            listed[account] = None
    return listed[account] or {}


async def _resolve(store: JournalStore, connectors: Mapping[str, "Connector"], row: JournaledOrder,
                   report: RecoveryReport, listed: dict[str, dict[str, Order] | None]) -> None:
    def finding(venue: str | None, outcome: str, detail: str) -> None:
        report.orders.append(OrderFinding(row.client_order_id, row.bot, row.account, row.symbol, row.status.value,
                                          venue, outcome, detail))

    connector = connectors.get(row.account)
    if connector is None:
        finding(None, "left", f"account {row.account} is not open in this run")
        return
    try:
        venue = await _asked(lambda: connector.query_order(row.client_order_id, row.symbol))
    except Exception as exc:  # the venue could not answer after retries: say so, change nothing
        finding(None, "unresolved", f"{type(exc).__name__}: {exc}")
        report.problems.append(f"{row.account} could not be asked about {row.client_order_id} ({exc})")
        return
    if venue is None and connector.keeps_orders_across_restarts:
        # A connector may answer only for orders it tracks: the venue's open-order list decides.
        venue = (await _open_on_venue(connector, row.account, listed)).get(row.client_order_id)
    if venue is None:
        if row.epoch and row.epoch != account_epoch(connector):
            reason = f"the venue no longer has it: {row.account} ran inside the process that ended"
        elif row.status in _NEVER_SENT:
            reason = "the venue never got it (the process ended before or while it was sent)"
        else:
            reason = "the venue no longer has it (its end, a fill or a cancel, is unknown)"
        store.record_order(row, status=OrderStatus.FAILED, filled=None, reason=reason)
        finding(None, "failed", reason)
        return
    filled = _amount(connector, row.symbol, venue.filled_lots)
    missed_meanwhile = filled is not None and filled > row.filled
    if venue.status.is_done:
        try:
            missed = await _journal_missed_fills(store, connector, row, venue, filled) if missed_meanwhile else ""
        except Exception as exc:  # left open in the journal: the next start asks again, nothing is lost
            finding(venue.status.value, "unresolved",
                    f"{venue.status.value} on the venue; its trades could not be fetched ({exc})")
            report.problems.append(f"the trades of {row.client_order_id} on {row.account} could not be fetched "
                                   f"({exc}); asked again at the next start")
            return
        detail = f"{venue.status.value} on the venue while Colibri was not running" + missed
        store.record_order(row, status=venue.status, filled=filled, reason=detail)
        finding(venue.status.value, venue.status.value, detail)
        return
    try:
        connector.adopt_order(venue)
    except NotImplementedError as exc:
        if missed_meanwhile:
            await _missed_fills_or_problem(store, connector, row, venue, filled, report)
        finding(venue.status.value, "left", str(exc))
        report.problems.append(f"{row.client_order_id} is open on {row.account}, which cannot adopt it ({exc})")
        return
    # Tracked again from here on: its fills and changes are journaled until a bot takes it
    # (or a STOP's cancel ends it). The trades it had meanwhile are fetched after, so none
    # that arrives while they are fetched is missed (each trade is journaled once).
    if report.keeper is not None:
        report.keeper.keep(row.client_order_id, connector)
    store.record_order(row, status=venue.status, filled=filled, reason="open on the venue after a restart; adopted")
    if missed_meanwhile:
        await _missed_fills_or_problem(store, connector, row, venue, filled, report)
    report.adopted.setdefault(row.bot, []).append(venue)
    finding(venue.status.value, "adopted", "open on the venue; adopted")


async def _journal_missed_fills(store: JournalStore, connector: "Connector", row, venue, filled) -> str:  # noqa: ANN001
    """The venue's trades of an order that traded while Colibri was not running, journaled
    (each trade once: fills are unique per account, symbol and trade id); asked again
    after a failure (RETRY_DELAYS_S), raising if the venue never answers. Says what it did."""
    fills = await _asked(lambda: connector.query_fills(row.client_order_id, row.symbol, venue.exchange_order_id))
    added = sum(1 for fill in fills if store.record_fill(row.bot, row.account, row.epoch, fill))
    if not fills:
        return f"; {filled - row.filled} filled meanwhile (the venue lists no trades for it)"
    return f"; {filled - row.filled} filled meanwhile: {added} trade(s) journaled from the venue"


async def _missed_fills_or_problem(store: JournalStore, connector: "Connector", row, venue, filled,  # noqa: ANN001
                                   report: RecoveryReport) -> None:
    """For an order still open on the venue: its trades meanwhile, or the problem said."""
    try:
        await _journal_missed_fills(store, connector, row, venue, filled)
    except Exception as exc:
        report.problems.append(f"{row.client_order_id} on {row.account} filled {filled - row.filled} while Colibri "
                               f"was not running; those trades could not be fetched ({exc})")


async def _find_unknown(store: JournalStore, connectors: Mapping[str, "Connector"], report: RecoveryReport) -> None:
    bots = {b.tag: b for b in store.bots()}
    for account in sorted({b.account for b in bots.values()}):
        connector = connectors.get(account)
        if connector is None:
            continue
        try:
            open_now = await _asked(connector.query_open_orders)
        except Exception as exc:
            report.problems.append(f"{account} could not list its open orders ({exc})")
            continue
        for order in open_now:
            parsed = parse_client_order_id(order.client_order_id)
            if parsed is None or parsed.bot_tag not in bots or parsed.session == SESSION_ID:
                continue  # another program's order, or one placed by this run
            if store.order(order.client_order_id) is not None:
                continue  # journaled: resolved above
            report.found.append(FoundOrder(order.client_order_id, account, bots[parsed.bot_tag].name, order.symbol,
                                           order.side.value, order.status.value, order=order))


async def finish_recovery(report: RecoveryReport, store: JournalStore, connectors: Mapping[str, "Connector"],
                          choice: str, *, resumable: set[str] | None = None,
                          timeout_s: float = 15.0) -> RecoveryReport:
    """Step 2 (module docstring). STOP waits up to `timeout_s` for the cancels. With RESUME,
    the adopted orders of bots that will not be resumed (not running when the process
    ended, or not in `resumable`, default: every bot in `report.bots`) are cancelled."""
    if choice not in CHOICES:
        raise ValueError(f"the choice after a restart is {' or '.join(CHOICES)}, not {choice!r}")
    report.choice = choice
    for found in report.found:
        connector = connectors[found.account]
        bot = store.bot(found.bot)
        assert found.order is not None and bot is not None
        try:
            connector.adopt_order(found.order)
        except NotImplementedError as exc:
            found.action = "left"
            report.problems.append(f"{found.client_order_id} cannot be adopted by {found.account} ({exc})")
            continue
        verb = "adopted" if choice == RESUME else "cancelled"
        store.record_found_order(found.bot, found.account, bot.epoch, found.order,
                                 connector.instruments.get(found.symbol),
                                 f"open on the venue after a restart, unknown to the journal; {verb}")
        if report.keeper is not None:
            report.keeper.keep(found.client_order_id, connector)
        report.adopted.setdefault(found.bot, []).append(found.order)
        found.action = verb
    if choice == STOP:
        await _cancel_adopted(report, store, connectors, timeout_s, report.keeper)
        for bot in report.bots:
            store.set_bot_state(bot.name, "stopped")
    else:
        keep = {b.name for b in report.bots} if resumable is None else set(resumable) & {b.name for b in report.bots}
        orphans = RecoveryReport(adopted={k: v for k, v in report.adopted.items() if k not in keep})
        if orphans.adopted:
            await _cancel_adopted(orphans, store, connectors, timeout_s, report.keeper)
            report.still_open.extend(orphans.still_open)
            report.problems.append("orders of " + ", ".join(sorted(orphans.adopted)) + " were cancelled: "
                                   "their bot is not resumed")
        report.adopted = {k: v for k, v in report.adopted.items() if k in keep}
        for bot in report.bots:
            if bot.name not in keep:
                store.set_bot_state(bot.name, "stopped")
    for account in sorted({f.account for f in report.orders} | {f.account for f in report.found}):
        connector = connectors.get(account)
        if connector is not None:
            store.record_balances(account, connector.balances(), "recovery")
    store.mark_recovered(report.unclean_sessions, report.summary())
    return report


async def _cancel_adopted(report: RecoveryReport, store: JournalStore, connectors: Mapping[str, "Connector"],
                          timeout_s: float, keeper: "_Keeper | None") -> None:
    """Cancels every adopted order, journaling each change and fill (by the keeper) until
    all are final or the time is up; one still open stays kept (journaled as it ends)."""
    keeper = keeper or _Keeper(store)
    pending: dict[str, "Connector"] = {}
    for orders in report.adopted.values():
        for order in orders:
            row = store.order(order.client_order_id)
            if row is not None:
                pending[order.client_order_id] = connectors[row.account]
                keeper.keep(order.client_order_id, connectors[row.account])
    try:
        for cid, connector in pending.items():
            order = connector.get_order(cid)
            if order is not None and not order.status.is_done and order.status is not OrderStatus.PENDING_CANCEL:
                connector.cancel_order(cid)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            live = [cid for cid, c in pending.items() if (o := c.get_order(cid)) is not None
                    and not o.status.is_done]
            if not live:
                break
            await asyncio.sleep(0.05)
        for cid, connector in pending.items():
            order = connector.get_order(cid)
            row = store.order(cid)
            if order is not None and row is not None and row.status is not order.status:
                store.record_order(row, status=order.status, filled=_amount(connector, order.symbol,
                                                                           order.filled_lots),
                                   reason=order.reason or "cancelled after a restart")
            if order is not None and not order.status.is_done:
                report.still_open.append(cid)
    finally:
        for cid, connector in pending.items():
            if (order := connector.get_order(cid)) is None or order.status.is_done:
                keeper.release(cid)
    report.adopted = {}


class _Keeper:
    """Journals the changes and fills of adopted orders that no bot owns: from recovery's
    adoption until `RecoveryReport.hand_over` (RESUME) or the order's end (after a STOP's
    cancel, or a bot that could not be resumed). Listens to a connector only while it
    keeps one of its orders."""

    def __init__(self, store: JournalStore) -> None:
        self.store = store
        self.kept: dict[str, "Connector"] = {}

    def keep(self, client_order_id: str, connector: "Connector") -> None:
        if not any(c is connector for c in self.kept.values()):
            connector.add_listener(self, (OrderUpdated, OrderFilled))
        self.kept[client_order_id] = connector

    def release(self, client_order_id: str) -> None:
        connector = self.kept.pop(client_order_id, None)
        if connector is not None and not any(c is connector for c in self.kept.values()):
            connector.remove_listener(self)

    def __call__(self, event: Event) -> None:
        order = event.order
        connector = self.kept.get(order.client_order_id)
        row = self.store.order(order.client_order_id) if connector is not None else None
        if row is None:
            return
        filled = _amount(connector, order.symbol, order.filled_lots)
        if isinstance(event, OrderFilled):
            self.store.record_fill(row.bot, row.account, row.epoch, event.fill,
                                   order=(order.status.value, str(filled if filled is not None else row.filled)))
        elif row.status is not order.status:
            self.store.record_order(row, status=order.status, filled=filled,
                                    reason=order.reason or f"{order.status.value} after a restart")
        if order.status.is_done:
            self.release(order.client_order_id)
