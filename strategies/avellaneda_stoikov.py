"""Avellaneda-Stoikov market making: quotes around a reservation price that leans against
the inventory, with a spread set by risk aversion, volatility and order-book liquidity.

The model (Avellaneda & Stoikov 2008): with mid s, inventory q, risk aversion gamma,
volatility sigma, time left T - t and the book's trading intensity lambda(delta) =
A exp(-kappa delta) (how often a quote delta away from the mid is hit),

    reservation price  r     = s - q gamma sigma^2 (T - t)
    optimal spread     delta = gamma sigma^2 (T - t) + (2 / gamma) ln(1 + gamma / kappa)

and the quotes are r -+ delta / 2. Where this implementation departs from the paper, and
the units it uses:

- sigma is estimated, not given: realised volatility of the mid sampled once a second over
  the last `volatility_buffer_size` samples, in price units per sqrt(second)
  (strategies/estimators.py). T - t is in seconds, so sigma^2 (T - t) is a price squared.
- kappa (per price unit) and A (per second) are fitted from the last
  `trading_intensity_buffer_size` public trade prints: each print's distance to the mid
  before it is a point of lambda(delta), and ln lambda = ln A - kappa delta is fitted by
  weighted least squares. Only kappa enters the quotes, as in the paper.
- q is not a share count but the deviation of the base held from the target share of the
  whole inventory, divided by the whole inventory valued in base (base + quote / mid):
  q in [-1, 1], 0 at the target (`inventory_target_base_pct`), the same meaning whatever
  the account size. gamma is therefore per price unit (1/USDT on BTC/USDT): at full
  deviation the reservation price moves by gamma sigma^2 (T - t).
- Time: the paper's finite horizon. `execution_timeframe` infinite uses a constant
  horizon (`infinite_horizon_seconds`) instead of the paper's discounted infinite-horizon
  variant, so inventory risk never fades; the dated and daily windows count T - t down to
  their end and quote nothing outside them (strategies/execution_timeframe.py).
- Before both buffers are full there are no quotes (nothing is known of sigma and kappa;
  a guessed spread would be the worst quote of the run); the log says how far the warm-up
  is. A fit that cannot be made (one distance only, prints not thinning out) keeps the
  last good kappa, and without one no quotes.
- Practice, as in Hummingbot's avellaneda_market_making: the spread never goes below
  `min_spread` (bp of the mid), more levels sit `level_distances` % of the spread further
  out, sizes shrink on the side that increases |q| by exp(-eta |q|)
  (`order_amount_shape_factor`), post-only orders are kept one tick off the other side of
  the book, and after a fill the other side's orders may be left "hanging" (kept until
  they drift `hanging_orders_cancel_pct` % from the mid). Spot markets only: the inventory
  is the account's base and quote.

Speed: in a bot the quotes run on a compiled gate (strategies/as_gate.pyx, `market_hook`):
between two refreshes of the model (each volatility sample, each fill, a parameter edit)
its ladder is the mid plus constants, computed in C on every book update with the same
float operations as here (the Python path asks the gate for its ladder too), and Python
runs only when the plan would change an order. The trade prints the intensity fit needs
are recorded at C level as well. With hanging orders resting or a dated or daily window
(T - t moves with the clock) the gate calls Python on every book update.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.config.schema import ConfigError, Field, Schema
from app.domain import BookStale, BookUpdated, Instrument, OrderFilled, OrderStatus, Side, TradesEvent
from app.domain.order import DONE_STATUSES as _DONE
from app.interfaces.strategy import Quote, Strategy
from strategies import common_fields as cf
from strategies.as_gate import AsGate
from strategies.avellaneda_model import ModelQuote, evaluate, inventory_deviation, optimal_spread, shaped_lots
from strategies.estimators import IntensityEstimator, VolatilityEstimator
from strategies.execution_timeframe import INFINITE, MODES, ExecutionWindow, window_from_params
from strategies.quoting import NS as _NS
from strategies.quoting import ask_ticks, bid_ticks, bps_to_units, fmt, held, mid2, min_notional_ticks_lots
from strategies.quoting import mid_price, round_trip_fee_bps
from strategies.reconcile import cancel_while_stale, refresh_quotes

# Enum members as module constants: compiled (setup.py COMPILED_PY), reading an Enum class
# attribute goes through the Enum metaclass's __getattr__ hook every time (Python 3.11).
_BUY = Side.BUY
_PENDING_CANCEL = OrderStatus.PENDING_CANCEL
_SELL = Side.SELL

_SAMPLE_NS = _NS  # the volatility sample period: sigma is per sqrt(second)


class AvellanedaStoikov(Strategy):
    name = "avellaneda_stoikov"
    title = "Avellaneda-Stoikov market making"
    schema = Schema(
        (
            cf.order_amount("Size of each order at the inventory target, in the base asset."),
            Field("risk_factor", "float", 0.05, minimum=0, exclusive_minimum=True, maximum=1e6, unit="1/quote",
                  help="gamma, risk aversion per price unit: at full inventory deviation the reservation price "
                       "moves gamma x sigma^2 x (T-t) from the mid, and the spread widens by the same."),
            Field("order_amount_shape_factor", "float", 0.0, minimum=0, maximum=100,
                  help="eta: the side that would push the inventory further from the target is sized "
                       "order_amount x exp(-eta x |q|). 0: both sides the full amount."),
            cf.bps("min_spread", 0, "Floor of the total spread (ask - bid), in basis points of the mid."),
            Field("volatility_buffer_size", "int", 200, minimum=2, maximum=100_000, unit="samples",
                  help="Mid samples (one a second) the volatility is measured over; no quotes until full."),
            Field("trading_intensity_buffer_size", "int", 200, minimum=2, maximum=100_000, unit="trades",
                  help="Public trades the order-book intensity (kappa) is fitted on; no quotes until full."),
            cf.inventory_target_base_pct("Wanted share of the inventory value held in the base asset (q = 0 there)."),
            Field("execution_timeframe", "choice", "infinite", choices=MODES,
                  help="infinite: always, with a constant horizon; from_date_to_date: between two dates; "
                       "daily_between_times: every day between two times (UTC). No quotes outside."),
            Field("execution_start", "str",
                  help="Start of the window, UTC: '2026-01-31 08:00' (from_date_to_date) or '08:00' (daily)."),
            Field("execution_end", "str",
                  help="End of the window, UTC: a date and time, or a time of day (may be before the start: "
                       "a window across midnight)."),
            Field("infinite_horizon_seconds", "float", 60.0, minimum=0.001, maximum=86400 * 365, unit="s",
                  help="infinite timeframe: the constant T - t (how long an inventory is expected to be held)."),
            cf.order_levels(),
            Field("level_distances", "decimal", Decimal("0"), minimum=0, maximum=10000, unit="% of spread",
                  help="Distance between levels, in percent of the optimal spread."),
            cf.refresh_time(),
            cf.refresh_tolerance_bps(),
            cf.filled_order_delay(),
            cf.hanging_orders_enabled("After a fill, keep the other side's orders resting (hanging) instead of "
                                      "replacing them."),
            cf.hanging_orders_cancel_pct("A hanging order further than this from the mid is cancelled."),
            cf.post_only(),
        )
    )

    def __init__(self, params: dict[str, Any] | None = None, source: str = "") -> None:
        super().__init__(params, source)
        self._window = self._check(self.params, source)
        self._volatility = VolatilityEstimator(self.params["volatility_buffer_size"])
        self._intensity = IntensityEstimator(self.params["trading_intensity_buffer_size"])
        self._kappa: float | None = None
        self._gate = AsGate()  # the ladder and the trade prints' record, on both paths
        self._gate.callback = self._requote
        self._gate_ready = False
        self._hanging: set[str] = set()
        self._timer = None
        self._next_tick_ns = 0
        self._ticks_of: tuple[object, tuple[float, float]] | None = None
        self._paused_until_ns = 0
        self._q_cache: float | None = None
        self._not_quoting = ""
        self._derive()

    @staticmethod
    def _check(params: dict[str, Any], source: str) -> ExecutionWindow:
        """Rules between fields (each field alone is the schema's)."""
        if params["order_levels"] > 1 and params["level_distances"] <= 0:
            raise ConfigError(source, "level_distances", f"must be more than 0 with {params['order_levels']} "
                                                         "order_levels (else the levels are the same price)")
        return window_from_params(params, source)

    def apply_params(self, changes: dict[str, Any]) -> dict[str, Any]:
        merged = {**self.params, **self.schema.validate_changes(changes)}
        window = self._check(merged, "live edit")
        applied = super().apply_params(changes)
        self._window = window
        return applied

    # -- life cycle -----------------------------------------------------------------------
    def on_start(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        if ctx.instrument.is_derivative:
            raise ConfigError("", "symbol", f"{self.name} quotes spot markets (its inventory is base and quote); "
                                            f"{ctx.symbol} is a {ctx.instrument.kind} perpetual: use "
                                            "perpetual_market_making")
        ctx.log.info("execution window: %s", self._window.describe())
        self._configure_gate()
        self._tick()

    def market_hook(self) -> AsGate | None:
        """The compiled gate, unless a subclass reacts to book updates itself."""
        return self._gate if type(self).on_book is AvellanedaStoikov.on_book else None

    def _configure_gate(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        inst, p = ctx.instrument, self.params
        self._gate.configure_as(ctx.book, p["order_levels"], self._level_frac, self._min_spread_frac, self._tick_size,
                                p["post_only"], min_notional_ticks_lots(inst), self._tolerance_units,
                                int(p["order_refresh_time"] * _NS),
                                p["trading_intensity_buffer_size"])
        self._gate_ready = True
        self._gate_every_update()

    def _gate_every_update(self) -> None:
        """Python on every book update while hanging orders rest (their distance is checked
        each time) or while T - t moves with the clock."""
        self._gate.every_update = bool(self._hanging) or self._window.mode != INFINITE

    def _drain_prints(self) -> None:
        """The trade prints the gate recorded since the last read, into the estimator."""
        if self._gate.prints_pending:
            times, distances2 = self._gate.drain()
            self._intensity.add_many(times, distances2, self._half_tick)  # distances: half ticks x price

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _tick(self) -> None:
        """Once a second: a volatility sample, a fresh fit, inventory re-read, requote."""
        ctx = self.ctx
        if not self.running or ctx is None:
            return
        now = ctx.clock.now_ns()
        self._drain_prints()
        m2 = mid2(ctx.book)
        if m2 and not ctx.book.is_stale:
            self._volatility.add(now, m2 * self._half_tick)
        fit = self._intensity.fit()
        if fit is not None:
            self._kappa = fit[1]
        self._q_cache = None
        self._gate.ladder_ready = False  # new sigma, kappa and q: the requote hands them over
        self._next_tick_ns = now + _SAMPLE_NS  # when the timer scheduled below fires
        self._requote()
        self._timer = ctx.clock.call_later(_SAMPLE_NS, self._tick)

    def on_params_changed(self, applied: dict[str, tuple[Any, Any]]) -> None:
        if self.ctx is not None:
            self._drain_prints()
        if "volatility_buffer_size" in applied:
            self._volatility.resize(self.params["volatility_buffer_size"])
        if "trading_intensity_buffer_size" in applied:
            self._intensity.resize(self.params["trading_intensity_buffer_size"])
        self._derive()
        if self.ctx is not None:
            self._configure_gate()
        if self.running:
            self._requote()

    # -- events ----------------------------------------------------------------------------
    def on_book(self, event: BookUpdated) -> None:
        self._gate.note_mid(event.ts_ns)  # the mids the trade prints are measured from
        if self.running:
            self._requote()

    def on_trades(self, event: TradesEvent) -> None:
        """Each print's distance to the mid as it was before the print: the last mid set
        before the batch's time (a venue that publishes the book a step's trades moved
        before the trades themselves would otherwise shrink every distance). Recorded by
        the gate (strategies/as_gate.pyx), which also does it at C level in a backtest."""
        self._gate.note_trades(event.trades)

    def on_fill(self, event: OrderFilled) -> None:
        ctx = self.ctx
        assert ctx is not None
        self._orders_dirty = True
        self._q_cache = None
        self._gate.dirty = True
        self._gate.ladder_ready = False  # q changes: the next requote hands the model over
        if self.params["hanging_orders_enabled"]:
            other = _SELL if event.fill.side is _BUY else _BUY
            for order in ctx.connector.open_orders(ctx.symbol):
                if order.side is other and order.status is not _PENDING_CANCEL:
                    self._hanging.add(order.client_order_id)
            self._gate_every_update()
        delay = self.params["filled_order_delay"]
        if delay > 0:
            self._paused_until_ns = ctx.clock.now_ns() + int(delay * _NS)
            self._gate.paused_until_ns = self._paused_until_ns

    def on_order(self, event) -> None:  # noqa: ANN001 - OrderUpdated
        self._orders_dirty = True
        order = event.order
        if order.status in _DONE:
            self._hanging.discard(order.client_order_id)
            # What rests changed, unless this strategy cancelled it (never in the mirror).
            self._gate.forget(1 if order.side is _BUY else -1, order.price_ticks, order.amount_lots,
                              order.created_ns)

    def on_stale(self, event: BookStale) -> None:
        ctx = self.ctx
        assert ctx is not None
        cancel_while_stale(ctx, event.reason)
        self._hanging.clear()
        self._gate.dirty = True  # the mirror is out of date until the next requote

    # -- the model -------------------------------------------------------------------------
    def model(self) -> ModelQuote | None:
        """The model on the current book, or None: no book, outside the execution window, or
        the estimators not ready (buffers filling, no kappa yet)."""
        inputs = self._model_inputs()
        if inputs is None:
            return None
        m2, q, sigma, kappa, time_left = inputs
        mid = m2 * self._half_tick
        return evaluate(mid, q, self._gamma, sigma, kappa, time_left, mid * self._min_spread_frac)

    def _model_inputs(self) -> tuple[int, float, float, float, float] | None:
        """(twice the mid in ticks, q, sigma, kappa, T - t), or None as `model` says."""
        ctx = self.ctx
        if ctx is None:
            return None
        self._drain_prints()
        m2 = mid2(ctx.book)
        if not m2 or not self._volatility.is_full or not self._intensity.is_full or self._kappa is None:
            return None
        time_left = self._window.time_left_s(ctx.clock.now_ns())
        sigma = self._volatility.sigma()
        if time_left is None or sigma is None:
            return None
        return m2, self._inventory_q(m2), sigma, self._kappa, time_left

    def _inventory_q(self, m2: int) -> float:
        """Re-read from the balances after a fill and once a second, not on every book update."""
        if self._q_cache is None:
            inst = self.ctx.instrument  # type: ignore[union-attr]
            balances = self.ctx.connector.balances()  # type: ignore[union-attr]
            mid = Decimal(m2) / 2 * inst.tick_size
            self._q_cache = inventory_deviation(held(balances, inst.base), held(balances, inst.quote), mid,
                                                self.params["inventory_target_base_pct"])
        return self._q_cache

    def wanted_quotes(self) -> list[Quote]:
        """The model's ladder on the current book, computed by the gate from the model's
        constants (strategies/as_gate.pyx: reservation r = mid - q gamma sigma^2 (T - t),
        spread max(model spread, min_spread of the mid), levels `level_distances` of the
        spread apart, bids rounded down and asks up, post-only kept off the other side,
        every bid below every ask, the minimum notional kept)."""
        ctx = self.ctx
        assert ctx is not None
        if not self._gate_ready:
            self._configure_gate()
        inputs = self._model_inputs()
        if inputs is None:
            self._gate.ladder_ready = False
            return []
        _, q, sigma, kappa, time_left = inputs
        if self._lots < 0:
            self._lots = ctx.instrument.round_amount_to_lots(self.params["order_amount"])
        bid_lots, ask_lots = shaped_lots(self._lots, q, self.params["order_amount_shape_factor"])
        shift = q * self._gamma * sigma * sigma * time_left  # as reservation_price computes it
        self._gate.set_model(shift, optimal_spread(self._gamma, sigma, time_left, kappa), bid_lots, ask_lots)
        return [Quote(_BUY if side > 0 else _SELL, price, lots)
                for side, price, lots in self._gate.wanted(ctx.book.best_bid_ticks, ctx.book.best_ask_ticks)]

    # -- quoting ---------------------------------------------------------------------------
    def _requote(self) -> None:
        ctx = self.ctx
        assert ctx is not None
        book = ctx.book
        if book.is_stale:
            return
        now = ctx.clock.now_ns()
        self._gate.idle_until_ns = 0
        self._drain_prints()
        wanted = self.wanted_quotes() if now >= self._paused_until_ns else []
        self._say_why_not_quoting(now, bool(wanted))
        if self._hanging:
            self._cancel_far_hanging()
        if not wanted:
            self._idle_while_warming_up(now)
        key = tuple(wanted)
        if key == self._last_wanted and not self._orders_dirty and now < self._next_age_check_ns:
            return
        self._last_wanted = key
        self._orders_dirty = False
        resting = ctx.connector.open_orders(ctx.symbol)
        hanging = [o for o in resting if o.client_order_id in self._hanging]
        planned = [o for o in resting if o.client_order_id not in self._hanging]
        self._gate.dirty = False  # an order event while acting marks it dirty again
        self._next_age_check_ns = refresh_quotes(
            ctx, wanted, planned, tolerance_units=self._tolerance_units,
            max_age_ns=int(self.params["order_refresh_time"] * _NS), now_ns=now, post_only=self.params["post_only"],
            hanging=hanging)
        self._tell_gate(wanted)

    def _idle_while_warming_up(self, now: int) -> None:
        """Warming up (a buffer not full or no kappa yet) on a two-sided book with no order
        out: until the next sample, a requote could only drain prints and say the same
        reason, unless a book side empties or the prints fill the intensity buffer. The
        gate skips the calls until one of those (strategies/as_gate.pyx)."""
        ctx = self.ctx
        assert ctx is not None
        warming = not self._volatility.is_full or not self._intensity.is_full or self._kappa is None
        if (not warming or self._hanging or now < self._paused_until_ns or not mid2(ctx.book)
                or self._next_tick_ns <= now or ctx.connector.open_orders(ctx.symbol)):
            return
        missing = self._intensity.size - len(self._intensity)
        self._gate.idle_prints = missing if missing > 0 else 1 << 62
        self._gate.idle_until_ns = self._next_tick_ns

    def _tell_gate(self, wanted: list[Quote]) -> None:
        """What the plan matches now (resting, not hanging, no cancel in flight) and the
        ladder acted on: the gate's mirror for its C-level test."""
        ctx = self.ctx
        assert ctx is not None
        hanging = self._hanging
        resting = [(1 if o.side is _BUY else -1, o.price_ticks, o.amount_lots, o.created_ns)
                   for o in ctx.connector.open_orders(ctx.symbol)
                   if o.status is not _PENDING_CANCEL and o.client_order_id not in hanging]
        self._gate.age_deadline_ns = self._next_age_check_ns
        self._gate.acted(resting, [(1 if q.side is _BUY else -1, q.price_ticks, q.amount_lots) for q in wanted])
        self._gate_every_update()

    def _cancel_far_hanging(self) -> None:
        """Hanging orders are kept out of the plan; one that drifted too far from the mid goes."""
        ctx = self.ctx
        assert ctx is not None
        m2 = mid2(ctx.book)
        limit = self.params["hanging_orders_cancel_pct"]
        # In the venue's order of open orders (a set's order would differ from run to run);
        # an order no longer open stops hanging.
        hanging = [o for o in ctx.connector.open_orders(ctx.symbol) if o.client_order_id in self._hanging]
        self._hanging = {o.client_order_id for o in hanging}
        for order in hanging:
            client_order_id = order.client_order_id
            if m2 and abs(2 * order.price_ticks - m2) * 100 > m2 * limit:
                ctx.log.info("hanging %s order at %s is over %s%% from the mid: cancelled", order.side.value,
                             ctx.instrument.ticks_to_price(order.price_ticks), fmt(limit))
                ctx.connector.cancel_order(client_order_id)
                self._hanging.discard(client_order_id)

    def _say_why_not_quoting(self, now: int, quoting: bool) -> None:
        """One log line each time the reason for not quoting changes, never one per update."""
        ctx = self.ctx
        assert ctx is not None
        if quoting:
            reason = ""
        elif now < self._paused_until_ns:
            return  # the fill was logged; a pause after it is expected, not news
        elif not mid2(ctx.book):
            reason = "the book has no bid or no ask"
        elif self._window.time_left_s(now) is None:
            reason = f"outside the execution window ({self._window.describe()})"
        elif not self._volatility.is_full or not self._intensity.is_full:
            reason = (f"warming up (volatility {len(self._volatility)}/{self._volatility.size} samples, "
                      f"trades {len(self._intensity)}/{self._intensity.size})")
        elif self._kappa is None:
            reason = "no order-book intensity fit yet (the trade prints do not thin out with distance)"
        else:
            reason = "the orders would be below the lot or the minimum notional"
        kind = reason.split(" (")[0]
        if kind != self._not_quoting:
            if reason:
                ctx.log.info("not quoting: %s", reason)
            elif self._not_quoting:
                ctx.log.info("quoting (%s)", self._describe_model())
            self._not_quoting = kind

    def _describe_model(self) -> str:
        model = self.model()
        if model is None:
            return "no model"
        return (f"sigma {model.sigma:.6g}/sqrt(s), kappa {model.kappa:.6g}, q {model.q:+.4f}, "
                f"T-t {model.time_left_s:.6g} s, spread {model.spread:.6g}")

    def _derive(self) -> None:
        p = self.params
        self._gamma = float(p["risk_factor"])
        self._min_spread_frac = float(p["min_spread"]) / 10_000
        self._level_frac = float(p["level_distances"]) / 100
        self._tolerance_units = bps_to_units(p["order_refresh_tolerance_bps"])
        self._lots = -1
        self._last_wanted = None
        self._orders_dirty = True
        self._next_age_check_ns = 0

    @property
    def _tick_size(self) -> float:
        return self._ticks()[0]

    @property
    def _half_tick(self) -> float:
        return self._ticks()[1]

    def _ticks(self) -> tuple[float, float]:
        """(tick, half tick) of the instrument as floats, converted once per instrument."""
        inst = self.ctx.instrument  # type: ignore[union-attr]
        cached = self._ticks_of
        if cached is None or cached[0] is not inst:
            tick = float(inst.tick_size)
            cached = self._ticks_of = (inst, (tick, tick / 2))
        return cached[1]

    # -- for views and checks ----------------------------------------------------------------
    def preview(self) -> list[Quote]:
        """The quotes on the current book; empty until the estimators have filled (a bound
        preview that never ran has no volatility or intensity to quote from)."""
        return self.wanted_quotes() if self.ctx is not None else []

    def preview_note(self) -> str:
        """Its quotes need both estimators filled, which only a running bot does."""
        p = self.params
        return (f"Avellaneda-Stoikov is warming up: it quotes once it has seen {p['volatility_buffer_size']} mid "
                f"samples and {p['trading_intensity_buffer_size']} public trades (volatility_buffer_size, "
                "trading_intensity_buffer_size) after its start; until then it places nothing.")

    def reference_prices(self) -> dict[str, Decimal]:
        ctx = self.ctx
        if ctx is None:
            return {}
        mid = mid_price(ctx.book, ctx.instrument)
        if mid is None:
            return {}
        inst = ctx.instrument
        out = {"mid": mid}
        model = self.model()
        if model is not None:
            tick = self._tick_size
            out["reservation price"] = inst.ticks_to_price(round(model.reservation / tick))
            out["optimal bid"] = inst.ticks_to_price(bid_ticks(model.bid / tick))
            out["optimal ask"] = inst.ticks_to_price(ask_ticks(model.ask / tick))
        return out

    def fee_warnings(self, instrument: Instrument) -> list[str]:
        if instrument.is_derivative:
            return [f"{self.name} quotes spot markets only; {instrument.symbol} is a perpetual "
                    "(use perpetual_market_making)"]
        round_trip, kind = round_trip_fee_bps(instrument, self.params["post_only"])
        if self.params["min_spread"] >= round_trip:
            return []
        return [f"min_spread {fmt(self.params['min_spread'])} bp is below the round-trip {kind} fee "
                f"({fmt(round_trip)} bp on {instrument.symbol}): whenever the model's spread is narrower "
                "than that, a round trip loses money unless the price moves your way"]

    def order_amounts_base(self) -> list[Decimal]:
        return [self.params["order_amount"]]
