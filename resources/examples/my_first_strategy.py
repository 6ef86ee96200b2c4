"""My first Colibri strategy: one bid and one ask a chosen distance from the mid price.

Copy this file into your strategies folder (see docs/user-strategies.md) or pass it with
`--strategy-file`, then name it in a config:

    strategy:
      name: my_first_strategy
      params: {spread_bps: 3, order_amount: 0.001}

Prices and amounts are whole numbers of ticks and lots (the market's price and amount
steps); parameters arrive as exact Decimals. Nothing here uses a binary float for money.
"""
from __future__ import annotations

from decimal import Decimal

from app.config.schema import Field, Schema
from app.domain import BookStale, BookUpdated, OrderType, Side
from app.interfaces.strategy import Quote, Strategy
from strategies.quoting import UNITS, available_budget, bps_text, bps_to_units, spend_if_affordable
from strategies.reconcile import plan_orders

SECOND_NS = 1_000_000_000


class MyFirstStrategy(Strategy):
    name = "my_first_strategy"  # what configs and --strategy-file runs call it (unique)
    title = "My first strategy (mid +- spread)"  # what the bot form's list shows
    schema = Schema((  # one schema drives the YAML config, the command line and the form
        Field("order_amount", "decimal", Decimal("0.001"), minimum=0, exclusive_minimum=True, unit="base",
              help="Size of the bid and of the ask, in the base asset (BTC in BTC/USDT)."),
        Field("spread_bps", "decimal", Decimal("3"), minimum=0, maximum=1000, unit="bp",
              help="Distance of each quote from the mid price (1 bp = 0.01%)."),
        Field("tolerance_bps", "decimal", Decimal("1"), minimum=0, maximum=100, unit="bp",
              help="A resting quote is kept while the wanted price is this close to it."),
        Field("max_age_seconds", "float", 30.0, minimum=1, maximum=3600, unit="s",
              help="A quote older than this is replaced even if its price is still right."),
    ))

    def on_start(self) -> None:
        self._derive()
        self._last_book: tuple[int, int] | None = None  # the best bid and ask last acted on
        self._next_check_ns = 0  # when the oldest quote reaches its maximum age
        self._requote()  # quote the book as it is now

    def on_params_changed(self, applied) -> None:  # a live edit from the form
        self._derive()
        self._last_book = None
        self._requote()

    def _derive(self) -> None:
        """Decimal parameters -> exact integers, once per change (not per book update)."""
        self._spread_units = bps_to_units(self.params["spread_bps"])  # 1 bp = 10,000 units of 1e-8
        self._tolerance_units = bps_to_units(self.params["tolerance_bps"])
        self._max_age_ns = int(self.params["max_age_seconds"] * SECOND_NS)

    # -- events: the bot calls these as they happen --------------------------------------
    def on_book(self, event: BookUpdated) -> None:
        self._requote()

    def on_order(self, event) -> None:
        self._last_book = None  # an order ended or changed: look again on the next update

    def on_fill(self, event) -> None:
        self._last_book = None

    def on_stale(self, event: BookStale) -> None:
        """The book cannot be trusted (a gap in the data): take the quotes down."""
        self.ctx.log.warning("book stale (%s): cancelling my quotes", event.reason)
        self.ctx.connector.cancel_all(self.ctx.symbol)
        self._last_book = None

    # -- the decision -------------------------------------------------------------------------
    def wanted_quotes(self) -> list[Quote]:
        book, inst = self.ctx.book, self.ctx.instrument
        bid, ask = book.best_bid_ticks, book.best_ask_ticks
        if bid <= 0 or ask <= 0:
            return []  # one side of the book is empty: no mid
        mid2 = bid + ask  # twice the mid, in ticks: stays an integer
        offset = max(1, -(-mid2 * self._spread_units // (2 * UNITS)))  # ceil(mid * spread), at least a tick
        my_bid, my_ask = (mid2 // 2) - offset, -(-mid2 // 2) + offset
        lots = inst.round_amount_to_lots(self.params["order_amount"])
        quotes = []
        if my_bid > 0 and lots >= inst.min_lots_at(my_bid):
            quotes.append(Quote(Side.BUY, my_bid, lots))
        if lots >= inst.min_lots_at(my_ask):
            quotes.append(Quote(Side.SELL, my_ask, lots))
        return quotes

    def _requote(self) -> None:
        ctx = self.ctx
        if not self.running or ctx.book.is_stale:
            return
        now = ctx.clock.now_ns()
        top = (ctx.book.best_bid_ticks, ctx.book.best_ask_ticks)
        if top == self._last_book and now < self._next_check_ns:
            return  # nothing moved: the cheap path, taken on most book updates
        self._last_book = top
        wanted = self.wanted_quotes()
        resting = ctx.connector.open_orders(ctx.symbol)  # only this bot's own orders
        tolerance = (top[0] + top[1]) * self._tolerance_units // (2 * UNITS)
        plan = plan_orders(wanted, resting, tolerance_ticks=tolerance, max_age_ns=self._max_age_ns, now_ns=now)
        oldest = min((o.created_ns for o in resting), default=now)
        self._next_check_ns = oldest + self._max_age_ns
        for client_order_id in plan.cancel:
            ctx.connector.cancel_order(client_order_id)
        budget = available_budget(ctx.connector.balances())
        for quote in plan.create:  # checked against the balance first: no order the account cannot pay
            if spend_if_affordable(ctx.instrument, quote.side, quote.price_ticks, quote.amount_lots, budget):
                ctx.connector.place_order(ctx.symbol, quote.side, OrderType.LIMIT_MAKER, quote.amount_lots,
                                          quote.price_ticks)

    # -- for the bot form and the checks before a start ----------------------------------------
    def preview(self) -> list[Quote]:
        if self.ctx is None:
            return []
        self._derive()
        return self.wanted_quotes()

    def reference_prices(self) -> dict[str, Decimal]:
        if self.ctx is None or self.ctx.book.best_bid_ticks <= 0 or self.ctx.book.best_ask_ticks <= 0:
            return {}
        book = self.ctx.book
        return {"mid": Decimal(book.best_bid_ticks + book.best_ask_ticks) / 2 * self.ctx.instrument.tick_size}

    def order_amounts_base(self) -> list[Decimal]:
        """Checked before the start: an amount below the market's minimum is refused then."""
        return [self.params["order_amount"]]

    def fee_warnings(self, instrument) -> list[str]:
        """Said by the form and before a run: a round trip earns twice the spread and pays
        two maker fees."""
        fees_bps = 2 * instrument.maker_fee * 10_000
        if 2 * self.params["spread_bps"] >= fees_bps:
            return []
        return [f"a round trip earns {bps_text(2 * self.params['spread_bps'])} bp but pays {bps_text(fees_bps)} bp "
                f"of maker fees "
                f"on {instrument.symbol}"]
