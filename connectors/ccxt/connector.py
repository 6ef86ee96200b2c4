"""A live account on any ccxt exchange, behind the same connector contract as the demo
exchange and paper trading (app/interfaces/venue.py).

The connector keeps its orders as the domain model says (Order moved only by immutable
OrderEvents) and hears about them three ways, all idempotent: the answers to its own
requests, the exchange's user streams (order updates, own trades, balances), and REST
reconciliation at start and after every reconnect. Fills are counted once per (symbol,
trade id) whichever way they arrive. A request whose answer is lost leaves the order
UNKNOWN, and a query by client order id resolves it (open, filled, cancelled, or never
arrived); nothing is guessed.

Requests run as tasks on the event loop; `place_order` and `cancel_order` return at once,
as on every venue. ccxt's rate limiter paces requests; our own order budget (RateBudget)
refuses orders beyond what the user allowed.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from functools import partial
from typing import Any

from app.domain import (
    Balance,
    BalancesUpdated,
    ConnectionState,
    Fill,
    Instrument,
    Order,
    OrderEvent,
    OrderFilled,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
    new_client_order_id,
)
from app.domain.validation import check_order
from app.interfaces.clock import Clock
from app.interfaces.venue import Connector
from connectors.ccxt import convert
from connectors.ccxt.candles import fetch_candles
from connectors.ccxt.feed import CcxtFeed
from connectors.ccxt.rate_budget import RateBudget
from connectors.ccxt.requests import catch_up_trades

log = logging.getLogger(__name__)

DONE_ORDERS_KEPT = 10_000
SEEN_TRADES_KEPT = 100_000


class CcxtConnector(Connector):
    is_live = True

    def __init__(self, name: str, exchange: Any, clock: Clock, *, symbols: list[str],
                 budget: RateBudget | None = None, resolve_delays_s: tuple[float, ...] = (0.2, 0.5, 1, 2, 5, 10),
                 use_websocket_orders: bool = False, read_only: bool = False, market_data: str = "raw") -> None:
        super().__init__()
        self.name = name
        self.exchange = exchange
        self.clock = clock
        self.symbols = list(symbols)
        self.budget = budget or RateBudget()
        self.resolve_delays_s = resolve_delays_s
        self.use_websocket_orders = use_websocket_orders
        self.read_only = read_only  # a key for balances and checks only: every order is refused
        # "raw": Binance's diff stream into our book where the exchange is Binance-family,
        # ccxt's watch_order_book elsewhere; "ccxt": watch_order_book always; "poll": REST.
        if market_data not in ("raw", "ccxt", "poll"):
            raise ValueError(f"market_data must be raw, ccxt or poll, got {market_data!r}")
        self.market_data = market_data
        self._instruments: dict[str, Instrument] = {}
        self._feeds: dict[str, CcxtFeed] = {}
        self._balances: dict[str, Balance] = {}
        self._orders: dict[str, Order] = {}
        self._open: dict[str, Order] = {}
        self._done: deque[str] = deque()
        self._by_exchange_id: dict[str, str] = {}
        self._seen_trades: set[tuple[str, str]] = set()
        self._seen_order: deque[tuple[str, str]] = deque()
        self._reported_filled: dict[str, int] = {}  # lots the exchange says are filled, per order
        self._pending_final: dict[str, OrderEvent] = {}  # a final state waiting for its fills
        self._adopted_filled: dict[str, int] = {}  # lots an adopted order had filled by trades never seen here
        self._catching_up: set[str] = set()  # orders whose reported trades are awaited (requests.catch_up_trades)
        self._tasks: set[asyncio.Task] = set()
        self._resolving: set[str] = set()
        self.latency_ms: float | None = None
        self.cooldown_until_ns = 0  # the exchange said "too many requests": no orders until then
        self.reconnects = 0
        self.unclaimed: list[dict] = []  # open orders on the venue we do not know (reconciliation)
        self._streams = None  # connectors.ccxt.streams.StreamSet, made at connect

    # -- reads -------------------------------------------------------------------------------
    @property
    def instruments(self) -> dict[str, Instrument]:
        return self._instruments

    def feed(self, symbol: str) -> CcxtFeed:
        try:
            return self._feeds[symbol]
        except KeyError:
            raise KeyError(f"{self.name}: {symbol!r} is not loaded (loaded: {', '.join(self._feeds)})") from None

    def balances(self) -> dict[str, Balance]:
        return {asset: bal.copy() for asset, bal in self._balances.items()}

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        return [o for o in self._open.values() if symbol is None or o.symbol == symbol]

    def get_order(self, client_order_id: str) -> Order | None:
        return self._orders.get(client_order_id)

    def health(self) -> dict[str, object]:
        streams = self._streams
        return {
            "state": self.connection_state.value,
            "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),  # REST order round trip
            "ws_latency_ms": self._ws_latency(),
            "reconnects": self.reconnects + (streams.reconnects if streams else 0),
            "rate_budget_used": round(self.budget.used_fraction(self.clock.now_ns()), 3),
            "rate_limit": f"{self.budget.used_fraction(self.clock.now_ns()):.0%} of {self.budget.per_second:g}/s",
            "orders_refused_by_budget": self.budget.refused,
            "open_orders": len(self._open),
            "exchange": self.exchange.id,
        }

    def _ws_latency(self) -> float | None:
        values = [s.latency_ms for s in (self._streams.market if self._streams else ()) if s.latency_ms is not None]
        return round(max(values), 1) if values else None

    # -- life cycle ---------------------------------------------------------------------------
    async def load_instruments(self) -> dict[str, Instrument]:
        from connectors.ccxt.markets import load_instruments

        self._instruments = await load_instruments(self.exchange, self.symbols)
        for symbol, inst in self._instruments.items():
            if symbol not in self._feeds:
                market = self.exchange.markets[symbol]
                futures = bool(market.get("contract"))
                self._feeds[symbol] = CcxtFeed(self.name, inst, self.clock, "futures" if futures else "spot",
                                               candles=partial(fetch_candles, self, symbol))
        return self._instruments

    async def connect(self) -> None:
        from connectors.ccxt.streams import StreamSet

        self._set_connection(ConnectionState.CONNECTING)
        try:
            await self.load_instruments()
            self._streams = StreamSet(self)
            self._streams.start()
            await self.reconcile()
        except BaseException:
            if self._streams is not None:  # a failed attempt leaves nothing running behind it
                await self._streams.stop()
                self._streams = None
            self._set_connection(ConnectionState.DOWN, "connect failed")
            raise
        self._set_connection(ConnectionState.LIVE)

    async def disconnect(self) -> None:
        if self.connection_state is ConnectionState.DOWN and self._streams is None:
            await self.exchange.close()
            return
        if self._streams is not None:
            await self._streams.stop()
            self._streams = None
        for task in list(self._tasks):
            task.cancel()
        for feed in self._feeds.values():
            feed.mark_stale("disconnected")
        await self.exchange.close()
        self._set_connection(ConnectionState.DOWN, "disconnected")

    def start(self) -> None:
        """Sessions call start(): connect in the background (state events tell the outcome)."""
        if self.connection_state is ConnectionState.DOWN:
            self._spawn(self._connect_logged())

    def stop(self) -> None:
        if self._streams is not None:
            self._spawn(self.disconnect())

    async def _connect_logged(self) -> None:
        try:
            await self.connect()
        except Exception as exc:  # noqa: BLE001 - reported as a state, never lost
            log.error("%s: cannot connect: %s", self.name, exc)
            self._set_connection(ConnectionState.DOWN, f"cannot connect: {exc}")

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- orders ---------------------------------------------------------------------------------
    def place_order(self, symbol: str, side: Side, order_type: OrderType, amount_lots: int, price_ticks: int = 0,
                    *, client_order_id: str | None = None) -> Order:
        now = self.clock.now_ns()
        order_type = OrderType(order_type)
        order = Order(client_order_id or new_client_order_id(), symbol, Side(side), order_type,
                      0 if order_type is OrderType.MARKET else int(price_ticks), int(amount_lots), now, updated_ns=now)
        reason = self._refusal(order, now)
        if reason is not None:
            order.apply(OrderEvent(order.client_order_id, OrderStatus.REJECTED, now, reason=reason))
            self._emit(OrderUpdated(self.name, order, now))
            return order
        self._track(order)
        self._emit(OrderUpdated(self.name, order, now))
        from connectors.ccxt.requests import send_create

        self._spawn(send_create(self, order))
        return order

    def _refusal(self, order: Order, now: int) -> str | None:
        """Why an order is refused before it leaves (None: send it)."""
        inst = self._instruments.get(order.symbol)
        if inst is None:
            return f"unknown symbol {order.symbol!r} on {self.name} (loaded: {', '.join(self._instruments)})"
        if self.read_only:
            return f"{self.name} is a read-only account: Colibri does not trade with it"
        if self.connection_state is not ConnectionState.LIVE:
            return f"{self.name} is {self.connection_state.value}"
        if order.client_order_id in self._open:
            return f"client order id {order.client_order_id} is in use by a live order"
        if order.type is not OrderType.MARKET and self._feeds[order.symbol].is_stale:
            return "market data is stale"
        reason = check_order(inst, order.type, order.amount_lots, order.price_ticks)
        if reason is not None:
            return reason
        if now < self.cooldown_until_ns:
            return (f"rate limited by the exchange: no orders for another "
                    f"{(self.cooldown_until_ns - now) / 1e9:.1f} s")
        if not self.budget.try_spend(now):
            return f"order rate budget exceeded ({self.budget.per_second:g} orders/s, burst {self.budget.burst})"
        return None

    def note_rate_limit(self, exc: BaseException) -> None:
        """A 429 or 418 from the exchange: hold new orders back as long as it asks (a ban
        names its end; a 429 gets a second) instead of hammering it into a longer ban."""
        import re

        now = self.clock.now_ns()
        until = re.search(r"banned until (\d{13})", str(exc))
        pause_ns = int(until.group(1)) * 1_000_000 - time.time_ns() if until else 1_000_000_000
        self.cooldown_until_ns = max(self.cooldown_until_ns, now + max(pause_ns, 1_000_000_000))
        log.warning("%s: rate limited by the exchange; no new orders for %.1f s", self.name,
                    (self.cooldown_until_ns - now) / 1e9)

    def cancel_order(self, client_order_id: str) -> None:
        order = self._orders.get(client_order_id)
        if order is None:
            self._reject_cancel(client_order_id, f"unknown order {client_order_id} on {self.name}")
            return
        if order.status.is_done:
            self._reject_cancel(client_order_id, f"order {client_order_id} is already {order.status.value}")
            return
        if order.status is OrderStatus.PENDING_CANCEL:
            return
        from connectors.ccxt.requests import send_cancel

        self._move(order, OrderStatus.PENDING_CANCEL)
        self._spawn(send_cancel(self, order))

    async def query_order(self, client_order_id: str, symbol: str | None = None) -> Order | None:
        from connectors.ccxt.requests import query

        order = self._orders.get(client_order_id)
        return await query(self, client_order_id, symbol or (order.symbol if order else self.symbols[0]))

    async def query_open_orders(self, symbol: str | None = None) -> list[Order]:
        from connectors.ccxt.reconcile import fetch_open

        return await fetch_open(self, symbol)

    async def query_fills(self, client_order_id: str, symbol: str, exchange_order_id: str | None = None) -> list[Fill]:
        """Own trades of one order, as the exchange lists them (read only: no order moves)."""
        inst = self._instruments[symbol]
        params = {"orderId": exchange_order_id} if exchange_order_id else {}
        out = []
        for data in await self.exchange.fetch_my_trades(symbol, None, None, params):
            if exchange_order_id and str(data.get("order")) != str(exchange_order_id):
                continue
            if not exchange_order_id and convert.client_id_of(data) != client_order_id:
                continue
            out.append(self._fill_of(inst, client_order_id, data))
        return out

    def _fill_of(self, inst: Instrument, client_order_id: str, data: dict) -> Fill:
        fee = data.get("fee") or {}
        return Fill(
            trade_id=str(data.get("id")), client_order_id=client_order_id, symbol=inst.symbol,
            side=Side(data.get("side")), price=inst.ticks_to_price(convert.ticks(inst, data.get("price"))),
            amount=inst.lots_to_amount(convert.lots(inst, data.get("amount"))),
            fee=convert.to_decimal(fee.get("cost")), fee_asset=str(fee.get("currency") or inst.fee_asset),
            is_maker=data.get("takerOrMaker") == "maker",
            ts_ns=int(data.get("timestamp") or 0) * 1_000_000 or self.clock.now_ns(),
        )

    def adopt_order(self, order: Order) -> None:
        """An order of ours found open on the exchange after a restart: tracked again."""
        if order.client_order_id not in self._orders:
            self._track(order)
            if order.exchange_order_id:
                self._by_exchange_id[order.exchange_order_id] = order.client_order_id
            if order.filled_lots:  # its trades so far were counted before the restart, not here
                self._adopted_filled[order.client_order_id] = order.filled_lots
                self._reported_filled[order.client_order_id] = max(
                    order.filled_lots, self._reported_filled.get(order.client_order_id, 0))

    async def reconcile(self) -> None:
        from connectors.ccxt.reconcile import reconcile

        await reconcile(self)

    # -- bookkeeping (used by requests, streams and reconciliation) --------------------------------
    def _track(self, order: Order) -> None:
        self._orders[order.client_order_id] = order
        if not order.status.is_done:
            self._open[order.client_order_id] = order

    def _retire(self, order: Order) -> None:
        cid = order.client_order_id
        self._open.pop(cid, None)
        self._pending_final.pop(cid, None)
        self._adopted_filled.pop(cid, None)
        self._done.append(cid)
        while len(self._done) > DONE_ORDERS_KEPT:
            old = self._orders.pop(self._done.popleft(), None)
            if old is not None and old.exchange_order_id:
                self._by_exchange_id.pop(old.exchange_order_id, None)

    def _move(self, order: Order, status: OrderStatus, reason: str = "", exchange_order_id: str | None = None) -> None:
        """Applies one state change (through the state machine) and publishes it."""
        now = self.clock.now_ns()
        change = OrderEvent(order.client_order_id, status, now, reason=reason, exchange_order_id=exchange_order_id)
        if exchange_order_id:
            self._by_exchange_id[exchange_order_id] = order.client_order_id
        if status is order.status and not exchange_order_id:
            return
        if status is not order.status:
            order.apply(change)
        elif exchange_order_id:
            order.exchange_order_id = exchange_order_id
        if order.status.is_done:
            self._retire(order)
        self._emit(OrderUpdated(self.name, order, now, change))

    def order_for(self, exchange_id: str | None, client_id: str | None) -> Order | None:
        cid = self._by_exchange_id.get(str(exchange_id)) if exchange_id else None
        return self._orders.get(cid or client_id or "")

    def apply_exchange_order(self, data: dict) -> None:
        """A ccxt order dict (stream, answer or query) applied to our order, idempotently."""
        order = self.order_for(data.get("id"), convert.client_id_of(data))
        if order is None:
            return
        if data.get("id"):
            self._by_exchange_id[str(data["id"])] = order.client_order_id
            order.exchange_order_id = str(data["id"])
        inst = self._instruments[order.symbol]
        filled = convert.lots(inst, data.get("filled"))
        self._reported_filled[order.client_order_id] = max(filled, self._reported_filled.get(order.client_order_id, 0))
        status = convert.STATUS.get(str(data.get("status") or ""), None)
        if status is None or order.status.is_done:
            return
        if order.filled_lots < filled and order.client_order_id not in self._catching_up:
            self._catching_up.add(order.client_order_id)  # its trades are due on the stream
            self._spawn(catch_up_trades(self, order))
        if status is OrderStatus.OPEN:
            if order.status in (OrderStatus.PENDING_CREATE, OrderStatus.UNKNOWN):
                self._move(order, OrderStatus.OPEN, exchange_order_id=order.exchange_order_id)
            return
        if status is OrderStatus.FILLED:
            return  # filled by its trades, which carry prices and fees (listed by REST if they never come)
        reason = "cancelled" if status is OrderStatus.CANCELLED else str((data.get("info") or {}).get("msg", "rejected"))
        final = OrderEvent(order.client_order_id, status, self.clock.now_ns(), reason=reason)
        if order.filled_lots < filled:
            self._pending_final[order.client_order_id] = final  # its last fills are still on the way
            return
        self._finish(order, final)

    def _finish(self, order: Order, final: OrderEvent) -> None:
        if order.status.is_done:
            return
        if order.status is OrderStatus.UNKNOWN and final.status is OrderStatus.REJECTED:
            final = OrderEvent(order.client_order_id, OrderStatus.FAILED, final.ts_ns, reason=final.reason)
        self._move(order, final.status, final.reason)

    def apply_trade(self, data: dict) -> bool:
        """A ccxt trade dict of ours: one Fill, counted once per (symbol, trade id)."""
        symbol = data.get("symbol")
        trade_id = str(data.get("id"))
        key = (str(symbol), trade_id)
        if key in self._seen_trades:
            return False
        order = self.order_for(data.get("order"), convert.client_id_of(data))
        if order is None or symbol not in self._instruments:
            return False
        inst = self._instruments[order.symbol]
        fill_lots = convert.lots(inst, data.get("amount"))
        if fill_lots <= 0 or fill_lots > order.remaining_lots:
            log.warning("%s: trade %s of %s does not fit the order (%s lots left)", self.name, trade_id,
                        order.client_order_id, order.remaining_lots)
            return False
        self._mark_seen(key)
        now = self.clock.now_ns()
        done = fill_lots == order.remaining_lots
        change = OrderEvent(order.client_order_id, OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED, now,
                            filled_lots=fill_lots)
        order.apply(change)
        fill = self._fill_of(inst, order.client_order_id, {**data, "side": order.side.value})
        if order.status.is_done:
            self._retire(order)
        self._emit(OrderFilled(self.name, order, fill))
        pending = self._pending_final.get(order.client_order_id)
        if pending is not None and order.filled_lots >= self._reported_filled.get(order.client_order_id, 0):
            self._pending_final.pop(order.client_order_id, None)
            self._finish(order, pending)
        return True

    def _mark_seen(self, key: tuple[str, str]) -> None:
        self._seen_trades.add(key)
        self._seen_order.append(key)
        while len(self._seen_order) > SEEN_TRADES_KEPT:
            self._seen_trades.discard(self._seen_order.popleft())

    def apply_order_trades(self, order: Order, trades: list[dict]) -> None:
        """Every trade of one order as the exchange lists them (REST), each counted once. For
        an order adopted after a restart, the oldest trades that make up what it had filled
        then were counted by the run before: they are taken as seen, not counted again."""
        before = self._adopted_filled.pop(order.client_order_id, 0)
        inst = self._instruments[order.symbol]
        for trade in sorted(trades, key=_oldest_first):
            if before > 0:
                before -= convert.lots(inst, trade.get("amount"))
                self._mark_seen((str(trade.get("symbol")), str(trade.get("id"))))
                continue
            self.apply_trade(trade)

    def apply_balances(self, data: dict) -> None:
        """ccxt's balance dict ({asset: {free, used, total}}) as our balances, published."""
        changed = False
        for asset, entry in data.items():
            if not isinstance(entry, dict) or asset in ("info", "free", "used", "total", "timestamp", "datetime"):
                continue
            total = convert.to_decimal(entry.get("total"))
            used = convert.to_decimal(entry.get("used"))
            bal = self._balances.get(asset)
            if bal is None or bal.total != total or bal.locked != used:
                self._balances[asset] = Balance(asset, total, used)
                changed = True
        if changed:
            self._emit(BalancesUpdated(self.name, self.balances(), self.clock.now_ns()))

    def stream_state(self, up: bool, reason: str) -> None:
        """The streams' connection: RECONNECTING while one is down, LIVE (after a
        reconciliation) when all are back."""
        if not up and self.connection_state is ConnectionState.LIVE:
            self.reconnects += 1
            self._set_connection(ConnectionState.RECONNECTING, reason)
            for feed in self._feeds.values():
                feed.hold(f"reconnecting: {reason}")  # no quoting until orders are reconciled
        elif up and self.connection_state is ConnectionState.RECONNECTING and self._streams and self._streams.all_up():
            self._spawn(self._reconciled_live())

    async def _reconciled_live(self) -> None:
        try:
            await self.reconcile()
        except Exception as exc:  # noqa: BLE001 - try again at the next reconnect
            log.warning("%s: reconciliation after reconnect failed: %s", self.name, exc)
            return
        if self._streams and self._streams.all_up():
            self._set_connection(ConnectionState.LIVE, "reconnected and reconciled")
            for feed in self._feeds.values():
                feed.release()


def _oldest_first(trade: dict) -> tuple[int, int]:
    trade_id = str(trade.get("id"))
    return int(trade.get("timestamp") or 0), int(trade_id) if trade_id.isdigit() else 0
