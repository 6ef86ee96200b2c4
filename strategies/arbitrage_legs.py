"""One arbitrage attempt: its two legs, and whatever it takes to leave no open position.

An attempt buys on one market and sells on the other. Its legs go out together
(concurrent) or one after the other (sequential: the second only for what the first
filled). When every order has ended, the attempt compares what was bought with what was
sold (in market_1's base asset, through the conversion rate). An imbalance larger than a
lot is a failed leg, handled as the user chose:

* `retry`: the missing part is sent again on the short leg's market (up to `leg_retries`
  times), then whatever is still unbalanced is unwound;
* `unwind`: the excess is reversed on the market where it was acquired (up to
  `leg_retries` + 1 tries).

Corrections are immediate-or-cancel orders at the book's top plus that market's slippage
buffer. If the position is still unbalanced after every try, the attempt ends `halted` and
the strategy places no further attempt: an open position needs a person.
Every step is one log line starting `arbitrage #N:`, so a journal or log reads as a story.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Callable

from app.domain import Order, OrderFilled, OrderType, Side
from app.interfaces.clock import Clock, TimerHandle
from app.interfaces.strategy import MarketContext
from strategies.market_math import (
    Bridge,
    affordable_lots,
    fmt_amount,
    fmt_pct,
    fmt_price,
    limit_through,
)
from strategies.quoting import placeable

_NS = 1_000_000_000
M1, M2 = "market_1", "market_2"


@dataclass(slots=True)
class Leg:
    role: str
    side: Side
    lots: int
    limit: int
    purpose: str  # opening (concurrent), first, second, retry, unwind
    order: Order | None = None
    filled_lots: int = 0
    notional: Decimal = Decimal(0)  # quote of the leg's market, from its fills
    fees: Decimal = Decimal(0)
    done: bool = False
    timer: TimerHandle | None = None
    trade_ids: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Plan:
    """What the strategy decided: the prices it checked and each leg's order."""

    number: int
    buy_role: str
    sell_role: str
    buy_lots: int  # in the buy market's lots
    sell_lots: int
    buy_limit: int
    sell_limit: int
    profit: Fraction  # expected, after fees, at the prices checked
    sequential: bool
    first: Side  # sequential: the side sent first


@dataclass(slots=True)
class Settings:
    order_type: OrderType
    timeout_ns: int
    failed_leg_action: str  # retry | unwind
    leg_retries: int
    buffers: dict[str, Fraction]


class Attempt:
    def __init__(self, plan: Plan, markets: dict[str, MarketContext], bridge: Bridge, settings: Settings,
                 clock: Clock, log: logging.Logger, on_done: Callable[["Attempt"], None]) -> None:
        self.plan = plan
        self.markets = markets
        self.bridge = bridge
        self.settings = settings
        self.clock = clock
        self.log = log
        self._on_done = on_done
        self.legs: list[Leg] = []
        self.retries_left = settings.leg_retries if settings.failed_leg_action == "retry" else 0
        self.unwinds_left = settings.leg_retries + 1
        self.outcome = ""
        self.halted = False
        self.finished = False
        self._wait: TimerHandle | None = None
        self._sending = False  # while begin() sends: an instant refusal must not end the attempt early
        self._second_tried = False

    # -- start -----------------------------------------------------------------------------------
    def begin(self) -> None:
        p = self.plan
        buy = Leg(p.buy_role, Side.BUY, p.buy_lots, p.buy_limit, "opening")
        sell = Leg(p.sell_role, Side.SELL, p.sell_lots, p.sell_limit, "opening")
        self.say(f"buy {self._amount(buy)} on {p.buy_role} (limit {self._price(buy)}), sell {self._amount(sell)} on "
                 f"{p.sell_role} (limit {self._price(sell)}), {'sequential' if p.sequential else 'concurrent'}, "
                 f"expected {fmt_pct(p.profit)} after fees")
        self._sending = True
        if not p.sequential:
            self._send(buy)
            self._send(sell)
        else:
            first = buy if p.first is Side.BUY else sell
            first.purpose = "first"
            self._send(first)
        self._sending = False
        self._advance()

    # -- events ------------------------------------------------------------------------------------
    def on_order(self, role: str, order: Order) -> None:
        leg = self._leg_of(role, order.client_order_id)
        if leg is not None and order.status.is_done:
            self._leg_ended(leg, order)

    def on_fill(self, role: str, event: OrderFilled) -> None:
        leg = self._leg_of(role, event.fill.client_order_id)
        if leg is None or event.fill.trade_id in leg.trade_ids:
            return
        fill = event.fill
        leg.trade_ids.add(fill.trade_id)
        leg.filled_lots += self.markets[role].instrument.amount_to_lots(fill.amount)
        leg.notional += fill.price * fill.amount
        leg.fees += fill.fee
        if event.order.status.is_done:
            self._leg_ended(leg, event.order)

    def stop(self) -> None:
        """The bot stops: timers end; its orders are cancelled by the bot."""
        for leg in self.legs:
            if leg.timer is not None:
                leg.timer.cancel()
        if self._wait is not None:
            self._wait.cancel()
        if not self.finished and self.imbalance() != 0:
            self.say(f"stopped with {self._imbalance_text()} unbalanced", warning=True)

    # -- the position --------------------------------------------------------------------------------
    def _m1_lots(self, role: str, lots: int | Fraction) -> Fraction:
        return Fraction(lots) if role == M1 else self.bridge.lots(lots)

    def imbalance(self) -> Fraction:
        """market_1 lots bought minus sold so far, over every leg."""
        total = Fraction(0)
        for leg in self.legs:
            lots = self._m1_lots(leg.role, leg.filled_lots)
            total += lots if leg.side is Side.BUY else -lots
        return total

    def pnl_m1_quote(self) -> Decimal:
        """What the attempt earned so far in market_1's quote asset: sales less purchases less
        fees, market_2's amounts at the quote conversion rate."""
        rate = self.bridge.quote_rate
        total = Decimal(0)
        for leg in self.legs:
            value = (leg.notional if leg.side is Side.SELL else -leg.notional) - leg.fees
            if leg.role == M2:
                value = value * Decimal(rate.numerator) / Decimal(rate.denominator)
            total += value
        return total

    # -- progress ----------------------------------------------------------------------------------
    def _leg_ended(self, leg: Leg, order: Order) -> None:
        if leg.done:
            return
        leg.done = True
        leg.filled_lots = max(leg.filled_lots, order.filled_lots)
        if leg.timer is not None:
            leg.timer.cancel()
        inst = self.markets[leg.role].instrument
        avg = f" avg {format((leg.notional / inst.lots_to_amount(leg.filled_lots)).normalize(), 'f')}" \
            if leg.filled_lots and leg.notional else ""
        reason = f" ({order.reason})" if order.reason and leg.filled_lots < leg.lots else ""
        self.say(f"{leg.purpose} {leg.side.value} on {leg.role} {order.status.value}: filled "
                 f"{fmt_amount(inst, leg.filled_lots)} of {fmt_amount(inst, leg.lots)}{avg}{reason}")
        self._advance()

    def _advance(self) -> None:
        """Runs after every change: waits for live orders, then sends the next order or ends."""
        if self.finished or self._sending or self._wait is not None or any(not leg.done for leg in self.legs):
            return
        if self.plan.sequential and not self._second_tried:
            self._second_tried = True
            first = self.legs[0]
            if first.filled_lots == 0:
                self._finish("first leg did not fill: nothing bought or sold")
                return
            if self._send_second(first):
                return  # its end calls _advance again
        excess = self.imbalance()
        if excess == 0:
            self._finish("balanced" if any(leg.filled_lots for leg in self.legs) else "no leg filled")
            return
        self._correct(excess)

    def _send_second(self, first: Leg) -> bool:
        """The other side for what the first leg filled; False when it cannot go now (the
        failed-leg handling takes over)."""
        role = self.plan.sell_role if first.side is Side.BUY else self.plan.buy_role
        lots = self._venue_lots(role, self._m1_lots(first.role, first.filled_lots))
        leg = self._priced_leg(role, first.side.opposite, lots, "second") if lots > 0 else None
        if leg is None:
            return False
        self._send(leg)
        return True

    def _correct(self, excess: Fraction) -> None:
        """One corrective order for `excess` (market_1 lots; + = long), or the end."""
        p = self.plan
        long = excess > 0
        if self.retries_left > 0:
            self.retries_left -= 1
            role, purpose = (p.sell_role if long else p.buy_role), "retry"
        elif self.unwinds_left > 0:
            self.unwinds_left -= 1
            role, purpose = (p.buy_role if long else p.sell_role), "unwind"
        else:
            self._finish(f"halted: {self._imbalance_text()} still unbalanced after every retry and unwind; "
                         f"no further attempts", halted=True)
            return
        side = Side.SELL if long else Side.BUY
        lots = self._venue_lots(role, abs(excess))
        if lots <= 0:
            self._finish(f"balanced but for {self._imbalance_text()} (less than a lot on {role})")
            return
        leg = self._priced_leg(role, side, lots, purpose)
        if leg is None:  # counted as a try; the next one after leg_timeout_seconds
            self._wait = self.clock.call_later(self.settings.timeout_ns, self._after_wait)
            return
        self._send(leg, order_type=OrderType.IOC)

    def _after_wait(self) -> None:
        self._wait = None
        self._advance()

    def _priced_leg(self, role: str, side: Side, lots: int, purpose: str) -> Leg | None:
        """A leg at the top of `role`'s book plus its slippage buffer, cut to what the account
        can pay; None (with the reason logged) when it cannot be sent now."""
        market = self.markets[role]
        book = market.book
        top = book.best_ask_ticks if side is Side.BUY else book.best_bid_ticks
        inst = market.instrument
        if book.is_stale or top <= 0:
            self.say(f"{purpose} {side.value} of {fmt_amount(inst, lots)} {inst.base} on {role} not sent: "
                     f"{'book stale' if book.is_stale else 'no price on the book'}", warning=True)
            return None
        limit = limit_through(top, side, self.settings.buffers[role])
        lots = min(lots, affordable_lots(market, side, limit))
        if not placeable(inst, lots, limit):
            self.say(f"{purpose} {side.value} on {role} not sent: the account or the minimum order "
                     f"allows {fmt_amount(inst, max(lots, 0))} {inst.base}", warning=True)
            return None
        return Leg(role, side, lots, limit, purpose)

    def _send(self, leg: Leg, order_type: OrderType | None = None) -> None:
        market = self.markets[leg.role]
        self.legs.append(leg)
        kind = order_type or self.settings.order_type
        leg.order = market.connector.place_order(market.symbol, leg.side, kind, leg.lots, leg.limit)
        if leg.purpose in ("retry", "unwind", "second"):
            self.say(f"{leg.purpose}: {leg.side.value} {self._amount(leg)} on {leg.role} limit {self._price(leg)}")
        if leg.order.status.is_done:
            self._leg_ended(leg, leg.order)
            return
        leg.timer = self.clock.call_later(self.settings.timeout_ns, lambda: self._timed_out(leg))

    def _timed_out(self, leg: Leg) -> None:
        leg.timer = None
        if leg.done or leg.order is None:
            return
        self.say(f"{leg.purpose} {leg.side.value} on {leg.role} not done after "
                 f"{self.settings.timeout_ns / _NS:g}s: cancelling", warning=True)
        self.markets[leg.role].connector.cancel_order(leg.order.client_order_id)

    def _finish(self, outcome: str, halted: bool = False) -> None:
        self.finished = True
        self.halted = halted
        self.outcome = outcome
        m1 = self.markets[M1].instrument
        bought = sum((self._m1_lots(g.role, g.filled_lots) for g in self.legs if g.side is Side.BUY), Fraction(0))
        sold = sum((self._m1_lots(g.role, g.filled_lots) for g in self.legs if g.side is Side.SELL), Fraction(0))
        money = format(self.pnl_m1_quote().normalize(), "f")
        what = "pnl" if bought == sold else "quote flow (a position is open)"
        self.say(f"done: {outcome}; bought {self._m1_text(bought)}, sold {self._m1_text(sold)} {m1.base} "
                 f"(market_1 units), {what} {money} {m1.quote} after fees", warning=halted)
        self._on_done(self)

    # -- helpers -----------------------------------------------------------------------------------
    def _leg_of(self, role: str, client_order_id: str) -> Leg | None:
        for leg in self.legs:
            if leg.role == role and leg.order is not None and leg.order.client_order_id == client_order_id:
                return leg
        return None

    def _venue_lots(self, role: str, m1_lots: Fraction) -> int:
        """Whole lots of `role`'s market worth at most `m1_lots` of market_1."""
        return int(m1_lots) if role == M1 else int(self.bridge.lots_back(m1_lots))

    def _amount(self, leg: Leg) -> str:
        inst = self.markets[leg.role].instrument
        return f"{fmt_amount(inst, leg.lots)} {inst.base}"

    def _price(self, leg: Leg) -> str:
        return fmt_price(self.markets[leg.role].instrument, leg.limit)

    def _m1_text(self, lots: Fraction) -> str:
        inst = self.markets[M1].instrument
        value = Decimal(lots.numerator) / Decimal(lots.denominator) * inst.lot_size
        return format(value.normalize(), "f")

    def _imbalance_text(self) -> str:
        excess = self.imbalance()
        inst = self.markets[M1].instrument
        return f"{'long' if excess > 0 else 'short'} {self._m1_text(abs(excess))} {inst.base}"

    def say(self, text: str, warning: bool = False) -> None:
        (self.log.warning if warning else self.log.info)("arbitrage #%d: %s", self.plan.number, text)
