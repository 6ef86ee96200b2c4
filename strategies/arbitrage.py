"""Two-market arbitrage: buy where it is cheap, sell where it is dear, at the same moment.

On every book update of either market (and when a cooldown ends) the strategy compares
each market's best bid with the other's best ask, both in market_1's units (through the
constant conversion rates) and after both taker fees. When selling on one beats buying on
the other by at least `min_profitability`, it takes both sides for the smallest of
`order_amount`, the depth at the two tops and what both accounts can pay, with limit
prices a slippage buffer through each book (strategies/arbitrage_legs.py runs the legs and
repairs a failed one). One attempt at a time; after each, a cooldown.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from app.config.schema import ConfigError, Field, Schema
from app.domain import BookStale, BookUpdated, Instrument, OrderFilled, OrderType, OrderUpdated, Side
from app.interfaces.clock import TimerHandle
from app.interfaces.strategy import MarketRole, Strategy, StrategyContext
from strategies import common_fields as cf
from strategies.arbitrage_legs import M1, M2, Attempt, Plan, Settings
from strategies.market_math import Bridge, Ratio, affordable_lots, fmt_pct, limit_through, percent
from strategies.quoting import placeable

_NS = 1_000_000_000

SCHEMA = Schema(
    (
        cf.order_amount("Most taken per attempt, in market_1's base asset; less when the tops of the two "
                        "books or the balances hold less."),
        Field("min_profitability", "decimal", Decimal("0.3"), minimum=0, maximum=50, unit="%",
              help="An attempt starts only when selling on one market earns at least this over buying "
                   "on the other, after both taker fees, at the two best prices."),
        Field("market_1_slippage_buffer", "decimal", Decimal("0.1"), minimum=0, maximum=50, unit="%",
              help="Orders on market_1 are limit orders this far through its book (up for a buy, down "
                   "for a sell), so a price that moves while the order travels still fills."),
        Field("market_2_slippage_buffer", "decimal", Decimal("0.1"), minimum=0, maximum=50, unit="%",
              help="The same for market_2."),
        Field("execution", "choice", "concurrent", choices=("concurrent", "sequential"),
              help="concurrent: both legs are sent at once (fast, a leg may miss); sequential: the "
                   "second leg is sent only for what the first filled (slower, never a naked leg "
                   "unless the second misses)."),
        Field("first_leg", "choice", "thinner", choices=("thinner", "buy", "sell"),
              help="Sequential only: which leg goes first. thinner: the side whose best level holds "
                   "less, the one likelier to miss."),
        Field("leg_order_type", "choice", "ioc", choices=("ioc", "limit"),
              help="ioc: immediate-or-cancel (what cannot fill at once is cancelled); limit: the order "
                   "may rest until leg_timeout_seconds, then it is cancelled."),
        Field("leg_timeout_seconds", "float", 10.0, minimum=0.1, maximum=3600, unit="s",
              help="A leg not finished by then is cancelled; also the wait before a correction is tried "
                   "again when its market has no price or the account cannot pay."),
        Field("failed_leg_action", "choice", "unwind", choices=("unwind", "retry"),
              help="When one leg filled more than the other: unwind reverses the excess where it was "
                   "bought or sold; retry sends the missing part again on the other market (up to "
                   "leg_retries times), then unwinds what is left."),
        Field("leg_retries", "int", 2, minimum=0, maximum=20, unit="tries",
              help="Retries of a missed leg (retry), and extra unwind tries after the first (both)."),
        Field("cooldown_seconds", "float", 5.0, minimum=0, maximum=86400, unit="s",
              help="Pause after each attempt before the next may start."),
        cf.conversion_rate("market_2_to_market_1_base_conversion_rate", "market_1 base per market_2 base",
                           "Value of one market_2 base asset in market_1 base assets (1 for the same coin)."),
        cf.conversion_rate("market_2_to_market_1_quote_conversion_rate", "market_1 quote per market_2 quote",
                           "Value of one market_2 quote asset in market_1 quote assets (e.g. 1 USDC = 1 USDT)."),
    )
)


@dataclass(frozen=True, slots=True)
class Opportunity:
    """Buying on `buy_role` at its best ask and selling on `sell_role` at its best bid."""

    buy_role: str
    sell_role: str
    buy_ticks: int
    sell_ticks: int
    profit: Fraction  # after both taker fees


class Arbitrage(Strategy):
    name = "arbitrage"
    title = "Two-market arbitrage"
    schema = SCHEMA
    roles = (MarketRole(M1, "Market 1", "One of the two markets (prices are compared in its units)."),
             MarketRole(M2, "Market 2", "The other market."))
    acts_while_stopping = True  # a leg that fills after the stop is still evened out

    def __init__(self, params: dict[str, Any] | None = None, source: str = "") -> None:
        super().__init__(params, source)
        self.attempt: Attempt | None = None
        self.history: deque[Attempt] = deque(maxlen=100)
        self.halted = ""
        self.last_skip = ""  # why the last opportunity was not taken (for views and tests)
        self._cooldown_until = 0
        self._cooldown_timer: TimerHandle | None = None
        self._numbers = 0
        self.bridge: Bridge | None = None
        self._gates: dict[tuple[str, str], Ratio] = {}

    # -- life cycle --------------------------------------------------------------------------
    def bind(self, ctx: StrategyContext) -> None:
        super().bind(ctx)
        missing = [r.name for r in self.roles if r.name not in ctx.markets]
        if missing:
            raise ConfigError("", "markets", f"{self.name} needs the markets {M1} and {M2}; "
                                             f"missing: {', '.join(missing)}")
        self._build()

    def start(self, ctx: StrategyContext) -> None:
        if self.ctx is not ctx or self.bridge is None:
            self.bind(ctx)
        super().start(ctx)

    def _build(self) -> None:
        m = self.ctx.markets  # type: ignore[union-attr]
        self.bridge = Bridge(m[M2].instrument, m[M1].instrument,
                             Fraction(self.params["market_2_to_market_1_base_conversion_rate"]),
                             Fraction(self.params["market_2_to_market_1_quote_conversion_rate"]))
        # Per direction, the exact gate "sell x (1 - fee) >= (1 + min) x buy x (1 + fee)", both
        # prices in market_1 units, folded into one ratio: sell_ticks x n >= buy_ticks x d.
        r = percent(self.params["min_profitability"])
        self._gates = {}
        for buy, sell in ((M1, M2), (M2, M1)):
            cs = self.bridge.ticks_factor if sell == M2 else Fraction(1)
            cb = self.bridge.ticks_factor if buy == M2 else Fraction(1)
            self._gates[buy, sell] = Ratio(cs * (1 - Fraction(m[sell].instrument.taker_fee)) / (
                cb * (1 + r) * (1 + Fraction(m[buy].instrument.taker_fee))))

    def on_params_changed(self, applied: dict[str, tuple[Any, Any]]) -> None:
        if self.ctx is not None:
            self._build()  # an attempt in flight keeps the settings it started with

    def on_start(self) -> None:
        self._consider()

    def on_stop(self) -> None:
        if self._cooldown_timer is not None:
            self._cooldown_timer.cancel()
            self._cooldown_timer = None
        if self.attempt is not None:
            self.attempt.stop()

    # -- events ------------------------------------------------------------------------------
    def on_book(self, event: BookUpdated) -> None:
        if self.running:
            self._consider()

    def on_order(self, event: OrderUpdated) -> None:
        role = self.ctx.role_of(event)  # type: ignore[union-attr]
        if self.attempt is not None and role is not None:
            self.attempt.on_order(role, event.order)

    def on_fill(self, event: OrderFilled) -> None:
        role = self.ctx.role_of(event)  # type: ignore[union-attr]
        if self.attempt is not None and role is not None:
            self.attempt.on_fill(role, event)

    def on_stale(self, event: BookStale) -> None:
        self.ctx.log.warning("%s book stale (%s): no new arbitrage until it resyncs",  # type: ignore[union-attr]
                             self.ctx.role_of(event), event.reason)  # type: ignore[union-attr]

    # -- deciding ------------------------------------------------------------------------------
    def opportunity(self) -> Opportunity | None:
        """The more profitable direction now if it meets min_profitability, else None."""
        ctx = self.ctx
        if ctx is None or self.bridge is None:
            return None
        m1, m2 = ctx.markets[M1], ctx.markets[M2]
        if m1.book.is_stale or m2.book.is_stale:
            return None
        best = None
        for buy, sell in ((m1, m2), (m2, m1)):
            ask, bid = buy.book.best_ask_ticks, sell.book.best_bid_ticks
            gate = self._gates[buy.role, sell.role]
            if ask <= 0 or bid <= 0 or bid * gate.n < ask * gate.d:
                continue  # the common case: integers only
            profit = (self._in_m1(sell.role, bid) * (1 - Fraction(sell.instrument.taker_fee))
                      / (self._in_m1(buy.role, ask) * (1 + Fraction(buy.instrument.taker_fee))) - 1)
            if best is None or profit > best.profit:
                best = Opportunity(buy.role, sell.role, ask, bid, profit)
        return best

    def _in_m1(self, role: str, ticks: int) -> Fraction:
        return Fraction(ticks) if role == M1 else self.bridge.price(ticks)  # type: ignore[union-attr]

    def _consider(self) -> None:
        """Starts an attempt when the books allow one and nothing holds it back."""
        if not self.running or self.attempt is not None or self.halted:
            return
        now = self.ctx.clock.now_ns()  # type: ignore[union-attr]
        if now < self._cooldown_until:
            return
        opp = self.opportunity()
        if opp is None:
            return
        plan = self.plan(opp)
        if plan is None:
            return
        self.attempt = Attempt(plan, self.ctx.markets, self.bridge, self._settings(), self.ctx.clock,  # type: ignore
                               self.ctx.log, self._attempt_done)  # type: ignore[union-attr]
        self.attempt.begin()

    def plan(self, opp: Opportunity) -> Plan | None:
        """Both legs' sizes and limits for an opportunity, or None (reason in `last_skip`)."""
        markets = self.ctx.markets  # type: ignore[union-attr]
        buy, sell = markets[opp.buy_role], markets[opp.sell_role]
        buy_limit = limit_through(opp.buy_ticks, Side.BUY, self._buffer(buy.role))
        sell_limit = limit_through(opp.sell_ticks, Side.SELL, self._buffer(sell.role))
        caps = {
            "order_amount": Fraction(markets[M1].instrument.round_amount_to_lots(self.params["order_amount"])),
            f"the best ask on {buy.role}": self._m1_lots(buy.role, buy.book.best_ask_lots),
            f"the best bid on {sell.role}": self._m1_lots(sell.role, sell.book.best_bid_lots),
            f"the balance on {buy.role}": self._m1_lots(buy.role, affordable_lots(buy, Side.BUY, buy_limit)),
            f"the balance on {sell.role}": self._m1_lots(sell.role, affordable_lots(sell, Side.SELL, sell_limit)),
        }
        binding = min(caps, key=lambda k: caps[k])
        m1_lots = caps[binding]
        # Whole lots on both markets, the market_1 leg never larger than the market_2 one.
        m2_lots = int(self.bridge.lots_back(m1_lots))  # type: ignore[union-attr]
        m1_lots = int(self.bridge.lots(m2_lots))  # type: ignore[union-attr]
        lots = {M1: m1_lots, M2: m2_lots}
        buy_lots, sell_lots = lots[buy.role], lots[sell.role]
        if not (placeable(buy.instrument, buy_lots, buy_limit) and placeable(sell.instrument, sell_lots, sell_limit)):
            self._skip(f"{fmt_pct(opp.profit)} to buy on {buy.role} and sell on {sell.role}, but the amount "
                       f"({binding} allows it) is below a lot or a minimum order")
            return None
        self._numbers += 1
        p = self.params
        sequential = p["execution"] == "sequential"
        first = Side.BUY
        if p["first_leg"] == "sell":
            first = Side.SELL
        elif p["first_leg"] == "thinner":
            thinner_sell = self._m1_lots(sell.role, sell.book.best_bid_lots) < self._m1_lots(
                buy.role, buy.book.best_ask_lots)
            first = Side.SELL if thinner_sell else Side.BUY
        self.last_skip = ""
        return Plan(self._numbers, buy.role, sell.role, buy_lots, sell_lots, buy_limit, sell_limit, opp.profit,
                    sequential, first)

    def _m1_lots(self, role: str, lots: int) -> Fraction:
        return Fraction(lots) if role == M1 else self.bridge.lots(lots)  # type: ignore[union-attr]

    def _buffer(self, role: str) -> Fraction:
        return percent(self.params[f"{role}_slippage_buffer"])

    def _settings(self) -> Settings:
        p = self.params
        return Settings(OrderType.IOC if p["leg_order_type"] == "ioc" else OrderType.LIMIT,
                        int(p["leg_timeout_seconds"] * _NS), p["failed_leg_action"], p["leg_retries"],
                        {M1: self._buffer(M1), M2: self._buffer(M2)})

    def _skip(self, why: str) -> None:
        if why != self.last_skip:  # said once, not at every book update
            self.ctx.log.info("arbitrage skipped: %s", why)  # type: ignore[union-attr]
            self.last_skip = why

    def _attempt_done(self, attempt: Attempt) -> None:
        self.history.append(attempt)
        self.attempt = None
        if attempt.halted:
            self.halted = attempt.outcome
            return
        now = self.ctx.clock.now_ns()  # type: ignore[union-attr]
        self._cooldown_until = now + int(self.params["cooldown_seconds"] * _NS)
        if self._cooldown_timer is not None:
            self._cooldown_timer.cancel()
        self._cooldown_timer = self.ctx.clock.call_at(self._cooldown_until, self._after_cooldown)  # type: ignore

    def _after_cooldown(self) -> None:
        self._cooldown_timer = None
        self._consider()

    # -- for views and checks --------------------------------------------------------------------
    def reference_prices(self) -> dict[str, Decimal]:
        """market_2's best prices in market_1's units, to draw on market_1's chart."""
        if self.ctx is None or self.bridge is None:
            return {}
        m2 = self.ctx.markets[M2]
        tick = self.ctx.markets[M1].instrument.tick_size
        out = {}
        for name, ticks in (("market_2_bid", m2.book.best_bid_ticks), ("market_2_ask", m2.book.best_ask_ticks)):
            if ticks > 0:
                value = self.bridge.price(ticks)
                out[name] = Decimal(value.numerator) / Decimal(value.denominator) * tick
        return out

    def fee_warnings(self, instrument: Instrument) -> list[str]:
        """Fees are in the profitability test; the slippage buffers are not (a leg fills past
        the checked price only when the book moves, but it may)."""
        p = self.params
        buffers = p["market_1_slippage_buffer"] + p["market_2_slippage_buffer"]
        if p["min_profitability"] >= buffers:
            return []
        return [f"min_profitability ({p['min_profitability']} %) is below the two slippage buffers together "
                f"({buffers} %): legs filled through their buffers after a move can lose after fees"]

    def order_amounts_base(self) -> list[Decimal]:
        return [self.params["order_amount"]]
