"""A bot's risk guard: refuses orders that would breach a per-order limit before they
leave, and stops the bot when a PnL limit is breached.

The guard is part of its Bot (app/engine/bot.py calls it at a few points: OwnOrders'
pre-send check, start, after each fill, before the stop finishes) and reads the bot's own
figures: its inventory or position from its own fills and its PnL (app/engine/pnl.py),
so bots sharing an account never trip each other's limits, and a breach stops only the
bot that breached.

Per-order refusals are REJECTED orders with the reason ("risk: order size 0.5 BTC >
max_order_size 0.2"), counted per limit, journaled and logged like a venue's refusal.
PnL limits are checked after each of the bot's fills and once a second on the bot's clock
at the mark (the book's mid): a breach logs one line naming the limit and the values,
journals a `risk_breach` record, sets `bot.stopped_by` and stops the bot the normal way
(every order cancelled, finished only when none is open).
"""
from __future__ import annotations

from collections import Counter, deque
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from app.config.schema import ConfigError
from app.domain import Order, OrderStatus
from app.engine.flatten import Flattener, own_position_lots
from app.engine.risk import RiskLimits, with_changes
from app.interfaces.clock import TimerHandle

if TYPE_CHECKING:
    from app.engine.bot import Bot

CHECK_INTERVAL_NS = 1_000_000_000
"""PnL limits are checked this often on the bot's clock (and after every fill)."""
DAY_NS = 86_400 * 1_000_000_000


def amount_text(value: Decimal, places: int = 8) -> str:
    """An exact amount shown for reading: at most `places` decimals, no exponent."""
    try:
        value = value.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        pass
    return format(value.normalize(), "f") if value else "0"


class RiskGuard:
    def __init__(self, bot: "Bot", limits: RiskLimits | None) -> None:
        """Raises ConfigError (naming the config's field) for a limit that does not suit
        the bot's market."""
        self.bot = bot
        self.limits = limits if limits is not None else RiskLimits()  # (the setter below)
        self.limits.check_market(bot.connector.instruments[bot.symbol])
        self.refused: Counter[str] = Counter()  # per-order refusals by limit
        self.breach: dict[str, str] | None = None  # the PnL limit that stopped the bot, with its values
        self.flattener = Flattener(bot)
        self._sent: deque[int] = deque()  # when the orders of the rate window left (clock ns)
        self._exempt: set[str] = set()  # client ids that only reduce exposure (flatten)
        self._timer: TimerHandle | None = None
        self._start_value: Decimal | None = None
        self._day = -1
        self._day_start_pnl = Decimal(0)

    @property
    def limits(self) -> RiskLimits:
        return self._limits

    @limits.setter
    def limits(self, limits: RiskLimits) -> None:
        self._limits = limits
        self._per_order = limits.any_per_order  # read on every order: worked out once per change

    @property
    def checks_orders(self) -> bool:
        """Whether a per-order limit is set (else `check_order` lets every order through)."""
        return self._per_order

    # -- per order, before it leaves -----------------------------------------------------------
    def exempt(self, client_order_id: str) -> None:
        """An order that only closes exposure (flatten) passes the per-order limits."""
        self._exempt.add(client_order_id)

    def check_order(self, order: Order) -> str | None:
        """Why `order` may not leave ("risk: ..."), or None (it then counts in the rate
        window: it is sent right after)."""
        if not self._per_order or order.client_order_id in self._exempt:
            return None
        refusal = self._refusal(order)
        if refusal is None:
            if self.limits.rate_count:
                self._sent.append(self.bot.clock.now_ns())
            return None
        limit, reason = refusal
        self.refused[limit] += 1
        return reason

    def _refusal(self, order: Order) -> tuple[str, str] | None:
        limits, bot = self.limits, self.bot
        inst = bot.instrument
        unit = "contracts" if inst.is_derivative else inst.base
        size = limits.get("max_order_size")
        if size is not None and inst.lots_to_amount(order.amount_lots) > size:
            return "max_order_size", (f"risk: order size {inst.lots_to_amount(order.amount_lots)} {unit} > "
                                      f"max_order_size {size} {unit}")
        most = limits.get("max_open_orders")
        name = "max_position" if inst.is_derivative else "max_inventory"
        cap = limits.get(name)
        resting = bot.orders.open_orders(order.symbol) if most is not None or cap is not None else []
        if most is not None:
            live = sum(1 for o in resting if o.status is not OrderStatus.PENDING_CANCEL)
            if live >= most:
                return "max_open_orders", f"risk: {live} open orders, max_open_orders {most} reached"
        count = limits.rate_count
        if count:
            window = limits.get("order_rate_window_seconds")
            oldest = bot.clock.now_ns() - int(window * 1e9)
            while self._sent and self._sent[0] <= oldest:
                self._sent.popleft()
            if len(self._sent) >= count:
                return "max_order_rate", (f"risk: {len(self._sent)} orders in the last {window:g} s, "
                                          f"max_order_rate {limits.get('max_order_rate'):g}/s allows {count}")
        if cap is not None:
            # Every order on this side may fill, those whose cancel is on its way included.
            now = own_position_lots(bot)
            same = sum(o.remaining_lots for o in resting if o.side is order.side)
            worst = now + order.side.sign * (same + order.amount_lots)
            if abs(worst) > abs(now) and inst.lots_to_amount(abs(worst)) > cap:
                what = "position" if inst.is_derivative else "inventory"
                return name, (f"risk: {what} could reach {inst.lots_to_amount(worst):+f} {unit} if this "
                              f"{order.side.value} and the bot's other {order.side.value}s fill, beyond "
                              f"{name} {cap} {unit}")
        return None

    # -- PnL limits ------------------------------------------------------------------------------
    def start(self) -> None:
        """At the bot's start: the starting value and the day's baseline, the timer if a
        PnL limit is set, and a warning for orders the strategy can never place."""
        bot = self.bot
        self._day = bot.clock.now_ns() // DAY_NS
        self._day_start_pnl = Decimal(0)
        self._start_value = self._starting_value()
        self._arm()
        size = self.limits.get("max_order_size")
        if size is not None:
            try:
                too_big = [a for a in bot.strategy.order_amounts_base() if a > size]
            except Exception:  # a strategy that cannot tell before it runs: its orders are checked anyway
                too_big = []
            if too_big:
                bot._log.warning("risk: the strategy's orders of %s exceed max_order_size %s: they will be refused",
                                 max(too_big), size)

    def _arm(self) -> None:
        if self._timer is None and self.limits.any_on_pnl:
            self._timer = self.bot.clock.call_later(CHECK_INTERVAL_NS, self._tick)

    def _tick(self) -> None:
        self._timer = None
        if not _running(self.bot):
            return
        try:
            self.check_pnl()
        except Exception as exc:  # the guard's own fault stops this bot, never the clock
            self.bot._fail("the risk check", exc)
            return
        self._arm()

    def _starting_value(self) -> Decimal | None:
        """What the kill switch's percentages are of, in the PnL asset: spot, the account's
        quote plus its base at the mark when the bot started; derivatives, the settlement
        asset's wallet. None until a mark is known (spot)."""
        bot = self.bot
        inst = bot.instrument
        balances = bot.start_balances
        if inst.is_derivative:
            held = balances.get(inst.settle_asset)
            return held.total if held is not None else Decimal(0)
        mark = bot.mark_price()
        if mark is None:
            return None
        quote = balances.get(inst.quote)
        base = balances.get(inst.base)
        return (quote.total if quote else Decimal(0)) + (base.total if base else Decimal(0)) * mark

    def check_pnl(self) -> None:
        """Compares the bot's PnL at the mark with its PnL limits; a breach stops the bot."""
        bot, limits = self.bot, self.limits
        if not limits.any_on_pnl or not _running(bot):
            return
        if any(market.feed.book.is_stale for market in bot.markets.values()):
            return  # a frozen book's mid could set off (or hide) a breach: checked again once resynced
        mark = bot.mark_price()
        if mark is None:
            return
        pnl = bot.pnl_value()  # over every market of the bot, in its valuation asset
        if pnl is None:
            return
        asset = bot.valuation.asset
        day = bot.clock.now_ns() // DAY_NS
        if day != self._day:  # a new UTC day: its losses count from here
            self._day, self._day_start_pnl = day, pnl
        most = limits.get("max_daily_loss")
        if most is not None and self._day_start_pnl - pnl > most:
            loss = self._day_start_pnl - pnl
            self._breach("max_daily_loss", f"risk: daily loss {amount_text(loss)} {asset} > max_daily_loss "
                                           f"{most} {asset}", value=loss, threshold=most, mark=mark)
            return
        if self._start_value is None:
            self._start_value = self._starting_value()
        start = self._start_value
        if start is None or start <= 0:
            return
        share = pnl / start * 100
        for name, sign, word in (("kill_switch_loss_pct", -1, "loss"), ("kill_switch_profit_pct", 1, "profit")):
            pct = limits.get(name)
            if pct is not None and share * sign > pct:
                self._breach(name, f"risk: kill switch: {word} {amount_text(abs(pnl))} {asset} is "
                                   f"{amount_text(abs(share), 2)}% of the starting value {amount_text(start)} "
                                   f"{asset} > {name} {pct}%", value=pnl, threshold=pct, start_value=start, mark=mark)
                return

    def _breach(self, limit: str, line: str, **values: Any) -> None:
        """One line in the log, a `risk_breach` record, `stopped_by`, then the normal stop."""
        bot = self.bot
        if self.breach is not None:
            return
        self.breach = {"limit": limit, "reason": line, **{k: str(v) for k, v in values.items()}}
        bot.stopped_by = line
        bot._log.warning("%s: cancelling every order and stopping the bot", line)
        bot._journal("risk_breach", **self.breach)
        bot.audit.append({"ts_ns": bot.clock.now_ns(), "action": "risk_breach", "limit": limit, "reason": line})
        bot.stop()

    # -- live edits ------------------------------------------------------------------------------
    def validate(self, changes: dict[str, Any]) -> RiskLimits:
        """The limits a live edit would give (None or empty turns a limit off), checked by
        the same schema and for this market; ConfigError otherwise. Changes nothing."""
        new = with_changes(self.limits, changes)
        try:
            new.check_market(self.bot.instrument, prefix="")
        except ConfigError as exc:
            raise ConfigError("live edit", exc.field_path, exc.reason) from None
        return new

    def update(self, changes: dict[str, Any], who: str = "user") -> dict[str, tuple[Any, Any]]:
        """Validates and applies a live edit; an invalid one raises ConfigError and changes
        nothing. Returns {limit: (old, new)} for what changed."""
        new = self.validate(changes)
        old = self.limits.values
        applied = {k: (old.get(k), new.values.get(k)) for k in set(old) | set(new.values)
                   if old.get(k) != new.values.get(k)}
        self.limits = new
        if _running(self.bot):
            self._arm()
        return applied

    # -- stop and report ------------------------------------------------------------------------
    def before_finish(self) -> bool:
        """Called when the stopping bot has no open order left: flattens once if asked
        (the Flatten action or flatten_on_stop). True while the flatten order is out."""
        if not (self.flattener.requested or self.limits.get("flatten_on_stop")):
            return False
        return self.flattener.run_once(self.limits.get("flatten_slippage_bps"), self.exempt)

    def report(self) -> dict[str, Any]:
        """The report's `risk` entry: limits in force, refusals, why the bot stopped, flatten."""
        entry: dict[str, Any] = {
            "limits": self.limits.given(),
            "refused_orders": dict(sorted(self.refused.items())),
            "stopped_by": self.bot.stopped_by,
        }
        if self.breach is not None:
            entry["breach"] = dict(self.breach)
        if self.flattener.result is not None:
            entry["flatten"] = self.flattener.summary()
        return entry


def _running(bot: "Bot") -> bool:
    from app.engine.bot import BotState  # the bot module imports this one

    return bot.state is BotState.RUNNING
