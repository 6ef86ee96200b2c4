"""The embedded demo exchange: a synthetic but realistic market with a trading account.

The crowd's orders (connectors/demo/flow.pyx) and the account's orders meet in one
matching engine (connectors/demo/matching.pyx), so an own order takes and provides real
liquidity: a resting bid fills only when sellers reach it through the queue ahead of it.
Everything runs on a Clock, so the same exchange serves the GUI in real time and backtests
or tests in simulated time.

Per step (every `step_ns`) the crowd is advanced to the clock, the account's fills of
that step are published (OrderFilled, OrderUpdated, BalancesUpdated), then the touched L2
levels are applied to the feed's book in one `apply_deltas` call and one BookUpdated and
one TradesEvent follow: the UI and strategies see batches, never one event per order, and
like on a real exchange a strategy learns of its own fills before the book update that
follows them.

Market orders carry a price protection collar (`market_collar`, default 5% beyond the
worst price needed on the book when placed): the engine runs them as IOC at that bound, so
the funds locked at placement always cover the fill and a thin book cannot fill an order
at an absurd price. The remainder beyond the collar or an exhausted book is cancelled.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from typing import Mapping

import numpy as np

from app.book import ASK, BID, OrderBook
from app.data import candles
from app.data.trade_tape import TradeTape
from app.domain import (
    BTC_USDT,
    BookResynced,
    BookUpdated,
    ConnectionState,
    Instrument,
    Order,
    OrderEvent,
    OrderStatus,
    OrderType,
    OrderUpdated,
    Side,
    TradesEvent,
)
from app.domain.ledger import InsufficientBalance
from app.domain.validation import check_order
from app.interfaces.clock import Clock, TimerHandle
from app.interfaces.venue import MarketFeed
from connectors.demo import matching
from connectors.demo.flow import CrowdFlow
from connectors.simulated import SimulatedAccount

log = logging.getLogger(__name__)

ACCOUNT_OWNER = 1
DEMO_TAPE_KEPT = 200_000
"""Trades each demo market keeps for its candle history (5 MB): about two hours of them."""
"""Owner id of the account's orders in the engine (0 is the synthetic crowd)."""

_KIND = {
    OrderType.LIMIT: matching.LIMIT,
    OrderType.LIMIT_MAKER: matching.POST_ONLY,
    OrderType.IOC: matching.IOC,
    OrderType.MARKET: matching.IOC,  # with a protection collar price, see module docstring
}


CALIBRATED_TICK = Decimal("0.01")
CALIBRATED_LOT_BASE = Decimal("0.00001")
"""The crowd flow is calibrated in ticks and lots of Binance spot BTCUSDT (flow.pyx)."""


def scaled_flow_params(instrument: Instrument, start_price: Decimal) -> dict[str, float]:
    """The calibrated crowd re-expressed in another instrument's ticks and lots, so the demo
    perpetuals (tick 0.1, lots of 0.001 BTC or of 100 USD contracts) move and trade like
    the spot market instead of ten times faster with a hundred times the volume."""
    price = float(CALIBRATED_TICK / instrument.tick_size)
    lot_base = instrument.base_amount(1, instrument.price_to_ticks(start_price))
    size = float(CALIBRATED_LOT_BASE / lot_base)
    if price == 1.0 and size == 1.0:
        return {}
    return {
        "jump_median": 200.0 * price, "jump_cap": 3000.0 * price, "tail_scale": 400.0 * price,
        "window_ticks": max(50, int(5_000 * price)),
        "touch_size_median": 1_500.0 * size, "size_median": 2_500.0 * size, "size_cap": 1_000_000.0 * size,
        "market_size_median": 67.0 * size, "market_size_cap": 300_000.0 * size,
    }


class DemoFeed(MarketFeed):
    """The L2 book and public trades of the demo market; driven by its DemoExchange."""

    def __init__(self, exchange: "DemoExchange", instrument: Instrument) -> None:
        super().__init__()
        self._exchange = exchange
        self.name = exchange.name
        self.instrument = instrument
        self.clock = exchange.clock
        self._book = OrderBook(instrument.symbol)
        self.tape = TradeTape(DEMO_TAPE_KEPT)  # its trades, for its candle history

    @property
    def book(self) -> OrderBook:
        return self._book

    async def fetch_candles(self, interval_s: int, since_ns: int | None = None, limit: int = 1000) -> "np.ndarray":
        """The demo market's candles from the trades it made since it started (the newest
        DEMO_TAPE_KEPT), so a market window or a market shown again later has its past."""
        return candles.of_trades(self.tape.trades(), interval_s, since_ns, limit)

    def start(self) -> None:
        self._exchange.start()

    def stop(self) -> None:
        self._exchange.stop()

    def _publish(self, ts_ns: int, sides, prices, qtys, trades) -> None:
        if len(sides):
            self._book.apply_deltas(sides, prices, qtys)
            self._emit(BookUpdated(self.name, self.instrument.symbol, ts_ns, len(sides)))
        if len(trades):
            self.tape.append(trades)
            self._emit(TradesEvent(self.name, self.instrument.symbol, trades))


class DemoExchange(SimulatedAccount):
    """A connector whose venue is simulated in-process (see the module docstring).

    The account side (ledger, orders, fill settlement, events) is SimulatedAccount's, shared
    with paper trading; this class adds the crowd, the matching engine and the latencies.
    """

    def __init__(
        self,
        clock: Clock,
        balances: Mapping[str, Decimal | str | int] | None = None,
        seed: int = 7,
        step_ns: int = 20_000_000,
        instrument: Instrument = BTC_USDT,
        name: str = "demo",
        leverage: Decimal | int = 10,
        start_price: Decimal | str = Decimal("60000"),
        latency_ns: int = 1_000_000,
        warmup_ns: int = 120_000_000_000,
        market_collar: Decimal | str = Decimal("0.05"),
        flow_params: Mapping[str, float] | None = None,
    ) -> None:
        if step_ns <= 0:
            raise ValueError(f"step_ns must be positive, got {step_ns}")
        start = balances if balances is not None else {instrument.quote: 100_000, instrument.base: 1}
        super().__init__(name, clock, instrument, start, leverage)
        self.seed = int(seed)
        self.step_ns = int(step_ns)
        self.latency_ns = max(0, int(latency_ns))
        self._step_lag_ns = 0
        self.warmup_ns = max(0, int(warmup_ns))
        self.market_collar = Decimal(str(market_collar))
        self._start_ticks = instrument.price_to_ticks(start_price)
        self._flow_params = {**scaled_flow_params(instrument, Decimal(str(start_price))), **(flow_params or {})}
        self._engine = matching.MatchingEngine()
        self._flow: CrowdFlow | None = None
        self._feed = DemoFeed(self, instrument)
        self._engine_ids: dict[str, int] = {}
        self._by_engine_id: dict[int, Order] = {}
        self._collars: dict[str, int] = {}  # protection prices of market orders in flight
        self._timer: TimerHandle | None = None
        self._next_step_ns = 0

    # -- Connector ---------------------------------------------------------------------
    def feed(self, symbol: str) -> DemoFeed:
        return super().feed(symbol)  # type: ignore[return-value]

    @property
    def engine(self) -> matching.MatchingEngine:
        """The matching engine (read-only use: counts, queue positions, diagnostics)."""
        return self._engine

    def queue_ahead_lots(self, client_order_id: str) -> int | None:
        eid = self._engine_ids.get(client_order_id)
        if eid is None:
            return None
        ahead = self._engine.queue_ahead(eid)
        return None if ahead < 0 else ahead

    def start(self) -> None:
        """Warms the market up, publishes a full snapshot and starts stepping on the clock."""
        if self._running:
            return
        self._running = True
        self._set_connection(ConnectionState.LIVE)
        now = self.clock.now_ns()
        if self._flow is None:
            self._flow = CrowdFlow(
                self._engine, self.seed, self._start_ticks, now - self.warmup_ns, **self._flow_params
            )
        self._flow.step(now)
        self._engine.drain_trades()
        self._engine.drain_levels()
        self._process_fills(now)  # fills of orders left from before a stop
        bp, bq, ap, aq = self._engine.snapshot()
        self._feed.book.apply_snapshot(bp, bq, ap, aq)
        self._feed._emit(BookResynced(self.name, self.instrument.symbol, now))
        self._feed._emit(BookUpdated(self.name, self.instrument.symbol, now, len(bp) + len(ap)))
        self._next_step_ns = now + self.step_ns
        self._timer = self.clock.call_at(self._next_step_ns, self._on_step)

    def stop(self) -> None:
        self._running = False
        self._set_connection(ConnectionState.DOWN, "stopped")
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    # -- orders ------------------------------------------------------------------------
    def place_order(
        self, symbol: str, side: Side, order_type: OrderType, amount_lots: int, price_ticks: int = 0,
        *, client_order_id: str | None = None,
    ) -> Order:
        """`client_order_id` keeps a caller's id (a bot's, or a venue server relaying its
        clients' ids); one still in use by a live order is refused like any other order."""
        now = self.clock.now_ns()
        order = self._new_order(symbol, side, order_type, amount_lots, price_ticks, client_order_id, now)
        if order.client_order_id in self._open:
            order.apply(OrderEvent(order.client_order_id, OrderStatus.REJECTED, now,
                                   reason=f"client order id {order.client_order_id} is in use by a live order"))
            self._emit(OrderUpdated(self.name, order, now))
            return order
        self._track(order)
        reason = self._admit(order)
        if reason is not None:
            self._finish(order, OrderStatus.REJECTED, now, reason)
            return order
        self._emit_balances(now)
        self.clock.call_later(self.latency_ns, lambda: self._submit(order))
        return order

    def restore_order(self, order: Order) -> Order:
        """Puts back a resting limit order of this account from an earlier run (a venue that
        outlives its process: the local exchange server's --state).

        Id, side, price, amount and filled lots are kept; funds for the remaining lots are
        locked again and the order joins the back of its price level (its old queue place is
        gone). Should the market have moved through its price meanwhile, it matches at once
        like a new limit order. The exchange must be running; an order that is not an open
        or partially filled LIMIT / LIMIT_MAKER order, or whose funds are not there, raises
        ValueError and nothing changes."""
        if not self._running:
            raise ValueError(f"{self.name}: restore_order needs a running exchange")
        if order.type not in (OrderType.LIMIT, OrderType.LIMIT_MAKER) or not order.status.is_live \
                or order.status is OrderStatus.PENDING_CANCEL or order.remaining_lots <= 0 or order.price_ticks <= 0:
            raise ValueError(f"{self.name}: order {order.client_order_id} is not a resting limit order")
        if order.symbol != self.instrument.symbol or order.client_order_id in self._open:
            raise ValueError(f"{self.name}: order {order.client_order_id} cannot be restored here")
        rest = replace(order, amount_lots=order.remaining_lots, filled_lots=0, history=[])
        self._ledger.lock_for_order(rest, self.instrument, order.price_ticks)  # InsufficientBalance: ValueError
        self._track(order)
        now = self.clock.now_ns()
        if self._flow is not None:
            self._flow.step(now)
            self._process_fills(now)
        self._engine.now_ns = now
        side = matching.BID if order.side is Side.BUY else matching.ASK
        eid, _status, _filled = self._engine.submit(side, matching.LIMIT, order.price_ticks, order.remaining_lots,
                                                    ACCOUNT_OWNER)
        order.exchange_order_id = str(eid)
        self._engine_ids[order.client_order_id] = eid
        self._by_engine_id[eid] = order
        self._process_fills(now)
        self._emit_balances(now)
        return order

    def _admit(self, order: Order) -> str | None:
        """Checks the rules and locks funds; returns why the order is rejected, or None."""
        inst = self.instrument
        if order.symbol != inst.symbol:
            return f"unknown symbol {order.symbol!r} on {self.name}"
        if not self._running:
            return f"{self.name} is not running"
        reason = check_order(inst, order.type, order.amount_lots, order.price_ticks)
        if reason is not None:
            return reason
        lock_ticks = order.price_ticks
        if order.type is OrderType.MARKET:
            bound = self._collar_price(order.side, order.amount_lots)
            if bound <= 0:
                return "no liquidity on the other side of the book"
            book = self._feed.book
            touch = book.best_ask_ticks if order.side is Side.BUY else book.best_bid_ticks
            notional = inst.notional(touch, order.amount_lots)
            if notional < inst.min_notional:
                return (
                    f"below min notional: {notional.normalize()} {inst.quote} "
                    f"< {inst.min_notional} {inst.quote} at the best price"
                )
            order.price_ticks = 0
            self._collars[order.client_order_id] = bound
            lock_ticks = bound
        try:
            self._ledger.lock_for_order(order, inst, lock_ticks)
        except InsufficientBalance as exc:
            self._collars.pop(order.client_order_id, None)
            return str(exc)
        return None

    def _collar_price(self, side: Side, lots: int) -> int:
        """Worst price a market order may reach: the book's sweep price pushed by the collar."""
        book = self._feed.book
        if side is Side.BUY:
            best = book.best_ask_ticks
            if best <= 0:
                return 0
            worst = max(int(book.price_for_volume(ASK, lots)), best)
            return int(worst * (1 + self.market_collar)) + 1
        best = book.best_bid_ticks
        if best <= 0:
            return 0
        worst = int(book.price_for_volume(BID, lots)) or best
        return max(1, int(min(worst, best) * (1 - self.market_collar)))

    def _submit(self, order: Order) -> None:
        """The order reaches the venue after the latency: match it, rest it or drop it."""
        now = self.clock.now_ns()
        collar = self._collars.pop(order.client_order_id, 0)
        if order.status is not OrderStatus.PENDING_CREATE:
            if order.status is OrderStatus.PENDING_CANCEL:
                self._finish(order, OrderStatus.CANCELLED, now, "cancelled before reaching the book")
            return
        if self._flow is not None and self._running:
            self._flow.step(now)  # the crowd's events up to now happen first
        self._engine.now_ns = now
        side = matching.BID if order.side is Side.BUY else matching.ASK
        price = collar if order.type is OrderType.MARKET else order.price_ticks
        eid, status, _filled = self._engine.submit(
            side, _KIND[order.type], price, order.amount_lots, ACCOUNT_OWNER
        )
        order.exchange_order_id = str(eid)
        self._engine_ids[order.client_order_id] = eid
        self._by_engine_id[eid] = order
        self._process_fills(now)
        if status == matching.RESTING:
            if order.status is OrderStatus.PENDING_CREATE:
                self._move(order, OrderStatus.OPEN, now)
        elif status == matching.REJECTED:
            self._finish(order, OrderStatus.REJECTED, now, "post-only order would cross")
        elif status == matching.EXPIRED:
            why = (
                "market order: remainder cancelled, book exhausted within the price collar"
                if order.type is OrderType.MARKET else "IOC remainder cancelled"
            )
            self._finish(order, OrderStatus.CANCELLED, now, why)

    def cancel_order(self, client_order_id: str) -> None:
        refusal = self._cancel_refusal(client_order_id)
        if refusal is not None:
            if refusal:  # "" means a cancel is already on its way: nothing to say
                self._reject_cancel(client_order_id, refusal)
            return
        order = self._orders[client_order_id]
        now = self.clock.now_ns()
        self._move(order, OrderStatus.PENDING_CANCEL, now)
        self.clock.call_later(self.latency_ns, lambda: self._cancel_at_venue(order))

    def _cancel_at_venue(self, order: Order) -> None:
        now = self.clock.now_ns()
        if order.status.is_done:
            return  # filled (or cancelled) while the request travelled
        eid = self._engine_ids.get(order.client_order_id)
        if eid is not None:
            if self._flow is not None and self._running:
                self._flow.step(now)
                self._process_fills(now)
                if order.status.is_done:
                    return
            self._engine.cancel(eid)
        self._finish(order, OrderStatus.CANCELLED, now, "cancelled")

    # -- internals ---------------------------------------------------------------------
    def _on_retire(self, order: Order) -> None:
        cid = order.client_order_id
        self._collars.pop(cid, None)
        eid = self._engine_ids.pop(cid, None)
        if eid is not None:
            self._by_engine_id.pop(eid, None)

    def _process_fills(self, now: int) -> None:
        fills = self._engine.drain_fills()
        if not fills:
            return
        for eid, _owner, price, qty, is_maker, _remaining in fills:
            order = self._by_engine_id.get(eid)
            if order is None:
                log.error("%s: fill for unknown engine order %d", self.name, eid)
                continue
            self._settle_fill(order, price, qty, is_maker=is_maker, now=now)
        self._emit_balances(now)

    def health(self) -> dict[str, object]:
        """For the health panel: a simulated venue has no network, but its steps can lag."""
        return {
            "state": self.connection_state.value,
            "rate_budget_used": 0.0,
            "latency_ms": self.latency_ns / 1e6,
            "reconnects": 0,
            "rate_limit": "unlimited",
            "step_lag_ms": round(self._step_lag_ns / 1e6, 2),
            "open_orders": len(self.open_orders()),
        }

    def _steer(self, now: int) -> None:
        """Before each step: where the crowd's fair price should be (a follower venue moves
        it after another market, connectors/demo/follower.py); the crowd's own jumps here."""

    def _on_step(self) -> None:
        if not self._running or self._flow is None:
            return
        now = self.clock.now_ns()
        self._step_lag_ns = max(0, now - self._next_step_ns)
        self._steer(now)
        self._flow.step(now)
        sides, prices, qtys = self._engine.drain_levels()
        trades = self._engine.drain_trades()
        # Like a real venue's private stream: the account hears of its own fills (and the
        # resulting order updates) before the market data that shows them, so a strategy
        # reacting to the book never cancels an order it has, unknowingly, already filled.
        self._process_fills(now)
        self._feed._publish(now, sides, prices, qtys, trades)
        self._next_step_ns += self.step_ns
        if self._next_step_ns <= now:  # a real clock fell behind: no burst of catch-up steps
            self._next_step_ns = now + self.step_ns
        if self._running:
            self._timer = self.clock.call_at(self._next_step_ns, self._on_step)
