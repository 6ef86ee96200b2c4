"""A run's analytics: what a trader reads after a backtest besides the PnL.

`RunAnalytics` listens to one bot's connector (its own orders and fills only) and samples
the book's mid on the bot's clock at a fixed cadence (1 s of simulated or real time), so
it adds no work per market event: per order event a few dict operations, per fill one
record, one timer per markout horizon and one PnL for the drawdown, per sample one PnL. From that it gives
the report its hold-vs-trade values, return, drawdown, time quoted, fill rate, markouts,
PnL attribution, the fills and a price path for the plots (app/engine/run_metrics.py has
the formulas). Attach it before the bot starts: its listener then runs before the bot's,
while the bot still owns a just-finished order.
"""
from __future__ import annotations

from array import array
from decimal import Decimal
from typing import Any

from app.domain import OrderFilled, OrderStatus, OrderUpdated, Side
from app.domain.order import Order
from app.engine.bot import Bot, BotState
from app.engine.run_metrics import (
    Drawdown,
    FillPoint,
    QuotedTime,
    attribution,
    markouts,
    pct,
    portfolio_value,
)

_NS = 1_000_000_000
HORIZONS_S = (1, 10, 60)
MAX_FILLS_LISTED = 20_000
"""Fills listed in the report (for the plots); the figures always use every fill."""
MAX_PATH_POINTS = 2_000
_ACCEPTED = frozenset({OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED, OrderStatus.FILLED,
                       OrderStatus.PENDING_CANCEL})


class RunAnalytics:
    def __init__(self, bot: Bot, *, sample_s: float = 1.0, horizons_s: tuple[int, ...] = HORIZONS_S) -> None:
        self.bot = bot
        self.clock = bot.clock
        self.instrument = bot.instrument
        self.sample_ns = max(1, int(sample_s * _NS))
        self.horizons_s = horizons_s
        self.fills: list[FillPoint] = []
        self.orders_placed = 0
        self.placed_lots = 0
        self.drawdown = Drawdown()
        self.start_ns: int | None = None
        self.end_ns: int | None = None
        self.start_mid: Decimal | None = None
        self.start_value: Decimal | None = None
        self._seen_trades: set[tuple[str, str]] = set()
        self._accepted: set[str] = set()
        self._live: dict[str, Side] = {}
        self._sides = {Side.BUY: 0, Side.SELL: 0}
        self._quoted: QuotedTime | None = None
        self._path_s = array("d")
        self._path_mid = array("d")
        self._timer: Any = None
        self._attached = False
        bot.add_state_listener(self._on_state)
        if bot.state is BotState.RUNNING:
            self._attach()

    # -- life cycle ------------------------------------------------------------------------
    def _on_state(self, bot: Bot) -> None:
        if bot.state is BotState.RUNNING and self.start_ns is None:
            self._attach()
        elif bot.state is BotState.STOPPED and self._attached:
            self._detach()

    def _attach(self) -> None:
        self._attached = True
        self.start_ns = self.bot.start_ns if self.bot.state is BotState.RUNNING else self.clock.now_ns()
        self._quoted = QuotedTime(self.start_ns)
        self.bot.connector.add_listener(self._on_event)
        self._sample()

    def _detach(self) -> None:
        """The bot finished: the last sample, then no more order events or samples (the
        markouts already scheduled still take their mids)."""
        self._attached = False
        self.bot.connector.remove_listener(self._on_event)
        if self._timer is not None:
            self._timer.cancel()
        self._sample()
        self.end_ns = self.clock.now_ns()

    # -- the book --------------------------------------------------------------------------
    def _mid(self) -> Decimal | None:
        book = self.bot.feed.book
        bid, ask = book.best_bid_ticks, book.best_ask_ticks
        if bid <= 0 or ask <= 0 or book.is_stale:
            return None
        return Decimal(bid + ask) * self.instrument.tick_size / 2

    def _sample(self) -> None:
        now = self.clock.now_ns()
        mid = self._mid()
        if mid is not None:
            if self.start_mid is None:
                self.start_mid = mid
                self.start_value = portfolio_value({a: b.total for a, b in self.bot.start_balances.items()},
                                                   self.instrument, mid)
            # The curve of the whole bot: over every market when it trades several.
            value = self.bot.pnl_value() if self.bot.multi_market else self.bot.pnl.pnl(mid)
            if value is not None:
                self.drawdown.add(value, self.start_value)
            self._path_s.append((now - (now if self.start_ns is None else self.start_ns)) / _NS)
            self._path_mid.append(float(mid))
        if self._attached:
            self._timer = self.clock.call_later(self.sample_ns, self._sample)

    # -- own orders and fills --------------------------------------------------------------
    def _ours(self, client_order_id: str) -> bool:
        return self.bot.orders.owns(client_order_id) or client_order_id in self._accepted

    def _on_event(self, event: object) -> None:
        kind = type(event)
        if kind is OrderFilled:
            self._on_fill(event)  # type: ignore[arg-type]
        elif kind is OrderUpdated:
            self._track(event.order)  # type: ignore[attr-defined]

    def _on_fill(self, event: OrderFilled) -> None:
        fill = event.fill
        if fill.symbol != self.bot.symbol or not self._ours(fill.client_order_id):
            return
        key = (fill.symbol, fill.trade_id)
        if key not in self._seen_trades:  # a fill reported again is counted once, as the bot does
            self._seen_trades.add(key)
            now = self.clock.now_ns()
            point = FillPoint(now, fill.side.sign, fill.price, fill.amount, self._mid(), [None] * len(self.horizons_s))
            self.fills.append(point)
            for i, horizon in enumerate(self.horizons_s):
                self.clock.call_at(now + horizon * _NS, lambda p=point, i=i: self._markout(p, i))
            self.clock.call_soon(self._after_fill)  # once the bot has counted it
        self._track(event.order)

    def _after_fill(self) -> None:
        """The PnL right after a fill, for the drawdown: the fee and the spread land at once,
        between two samples."""
        mid = self._mid()
        if mid is not None:
            # The curve of the whole bot: over every market when it trades several.
            value = self.bot.pnl_value() if self.bot.multi_market else self.bot.pnl.pnl(mid)
            if value is not None:
                self.drawdown.add(value, self.start_value)

    def _markout(self, point: FillPoint, index: int) -> None:
        point.later[index] = self._mid()

    def _track(self, order: Order) -> None:
        """Orders placed (accepted by the venue) and which sides have own orders resting."""
        cid = order.client_order_id
        if order.symbol != self.bot.symbol or not self._ours(cid):
            return
        if cid not in self._accepted and (order.status in _ACCEPTED or order.filled_lots > 0):
            self._accepted.add(cid)
            self.orders_placed += 1
            self.placed_lots += order.amount_lots
        resting = order.status.is_live
        side = self._live.get(cid)
        if resting and side is None:
            self._live[cid] = order.side
            self._sides[order.side] += 1
        elif not resting and side is not None:
            del self._live[cid]
            self._sides[side] -= 1
        else:
            return
        if self._quoted is not None:
            self._quoted.update(self.clock.now_ns(), self._sides[Side.BUY], self._sides[Side.SELL])

    # -- the report ------------------------------------------------------------------------
    def report(self, mark: Decimal | None, pnl: Decimal | None) -> dict[str, Any]:
        """The analytics' keys of the run report (app/engine/report.py adds them)."""
        bot, inst = self.bot, self.instrument
        end_ns = self.end_ns if self.end_ns is not None else self.clock.now_ns()
        if pnl is not None:
            self.drawdown.add(pnl, self.start_value)  # the curve's last point
        out: dict[str, Any] = {"analytics": {"sample_seconds": self.sample_ns / _NS, "fills_seen": len(self.fills),
                                             "markout_horizons_s": list(self.horizons_s)}}
        first = next(iter(bot.markets))
        if bot.multi_market:  # fills, quoting, markouts and values are the first market's; PnL is the total
            out["analytics"]["market"] = first
        out.update(self._values(mark))
        out["max_drawdown"] = _money(self.drawdown.worst)
        out["max_drawdown_pct"] = round(self.drawdown.worst_pct, 6) if self.start_value else None
        shares = self._quoted.shares_pct(end_ns) if self._quoted is not None else None
        out["quoted_both_sides_pct"] = shares["both"] if shares else None
        out["quoting_pct"] = shares
        filled = sum((f.amount for f in self.fills), Decimal(0))
        placed = inst.lots_to_amount(self.placed_lots)
        out.update({
            "orders_placed": self.orders_placed,
            "placed_amount": _money(placed),
            "filled_amount": _money(filled),
            "fill_rate": round(float(filled / placed), 6) if placed else None,
            "order_to_trade_ratio": round(self.orders_placed / len(self.fills), 4) if self.fills else None,
        })
        out["markouts_bps"] = markouts(self.fills, [f"{h}s" for h in self.horizons_s])
        own = bot.markets[first].pnl_value() if bot.multi_market else pnl
        if mark is not None and pnl is not None and own is not None:
            parts = attribution(self.fills, inst, mark, fees=bot.pnl.fees_quote,
                                funding=getattr(bot.pnl, "funding", None) if inst.is_derivative else None, pnl=own)
            if bot.multi_market:  # the other markets' PnL in the valuation asset (a hedge's, the other leg's)
                parts["other_markets"] = pnl - own
            out["attribution"] = {name: _money(value) for name, value in parts.items()}
        else:
            out["attribution"] = None
        out["own_fills"] = self._fill_list()
        out["price_path"] = self._price_path()
        return out

    def _values(self, mark: Decimal | None) -> dict[str, Any]:
        """Holding the starting balances against what trading left, both at the final mark."""
        if mark is None:
            return {"start_value": None, "hold_value": None, "trade_value": None, "vs_hold": None,
                    "return_pct": None, "hold_return_pct": None, "vs_hold_pct": None}
        inst, bot = self.instrument, self.bot
        start = {a: b.total for a, b in bot.start_balances.items()}
        end = {a: b.total for a, b in bot.connector.balances().items()}
        hold = portfolio_value(start, inst, mark)
        trade = portfolio_value(end, inst, mark, bot.pnl.unrealized(mark) if inst.is_derivative else Decimal(0))
        base = self.start_value
        return {
            "start_value": _money(base), "hold_value": _money(hold), "trade_value": _money(trade),
            "vs_hold": _money(trade - hold),
            "return_pct": pct(trade - base, base) if base is not None else None,
            "hold_return_pct": pct(hold - base, base) if base is not None else None,
            "vs_hold_pct": pct(trade - hold, hold),
        }

    def _fill_list(self) -> dict[str, Any]:
        start = self.start_ns if self.start_ns is not None else 0
        shown = self.fills[-MAX_FILLS_LISTED:]
        return {
            "columns": ["seconds", "side", "price", "amount", "mid"],
            "total": len(self.fills),
            "points": [[round((f.ns - start) / _NS, 3), "buy" if f.sign > 0 else "sell", _money(f.price),
                        _money(f.amount), _money(f.mid)] for f in shown],
        }

    def _price_path(self) -> dict[str, Any]:
        n = len(self._path_s)
        step = max(1, -(-n // MAX_PATH_POINTS))
        keep = list(range(0, n, step))
        if n and keep[-1] != n - 1:
            keep.append(n - 1)
        return {"columns": ["seconds", "mid"],
                "points": [[round(self._path_s[i], 3), self._path_mid[i]] for i in keep]}


def _money(value: Decimal | None) -> str | None:
    """Exact, without an exponent: 0.000001 rather than 1E-6, 100 rather than 1E+2."""
    if value is None:
        return None
    if value == value.to_integral_value():
        return format(value.quantize(Decimal(1)), "f")
    return format(value.normalize(), "f")


def _amount(text: str | None, places: int, signed: bool = True) -> str:
    """Rounded for reading (the JSON keeps every digit)."""
    if text is None:
        return "-"
    value = Decimal(text)
    rounded = value.quantize(Decimal(1).scaleb(-places))
    shown = format(rounded.normalize(), "f") if rounded else "0"
    return ("+" if signed and rounded > 0 else "") + shown


def format_analytics(report: dict[str, Any]) -> list[str]:
    """Summary lines for the analytics' keys (empty for a report without them)."""
    if "analytics" not in report:
        return []
    asset = report.get("pnl_asset", "quote")
    places = 8 if report.get("market_kind") == "inverse" else 4  # coin-settled: satoshis matter
    lines = []
    if report.get("hold_value") is not None:
        lines.append(f"  value: holding {_amount(report['hold_value'], places, False)}, trading "
                     f"{_amount(report['trade_value'], places, False)} {asset} (vs hold "
                     f"{_amount(report['vs_hold'], places)}); return {_pct(report['return_pct'])} "
                     f"(holding {_pct(report['hold_return_pct'])})")
    drawdown_pct = report.get("max_drawdown_pct")
    lines.append(f"  max drawdown {_amount(report['max_drawdown'], places, False)} {asset}"
                 + (f" ({drawdown_pct:.3f}% of the capital at the peak)" if drawdown_pct is not None else ""))
    quoting = report.get("quoting_pct")
    if quoting:
        lines.append(f"  quoted both sides {quoting['both']:g}% of the run (bid only {quoting['bid_only']:g}%, "
                     f"ask only {quoting['ask_only']:g}%, none {quoting['none']:g}%)")
    rate = report.get("fill_rate")
    otr = report.get("order_to_trade_ratio")
    lines.append(f"  orders placed {report['orders_placed']}; fill rate "
                 f"{'-' if rate is None else f'{100 * rate:.2f}%'} of the amount placed; "
                 f"{'-' if otr is None else f'{otr:g}'} orders per fill")
    for label, mark in (report.get("markouts_bps") or {}).items():
        if not mark["count"]:
            lines.append(f"  markout {label}: none (no fill of {mark['of']} had {label} left before the end)")
            continue
        lines.append(f"  markout {label}: {_bp(mark['all'])} bp (buys {_bp(mark['buy'])}, sells {_bp(mark['sell'])}; "
                     f"vs fill price {_bp(mark['all_vs_fill'])}) over {mark['count']} of {mark['of']} fills")
    parts = report.get("attribution")
    if parts:
        shown = ", ".join(f"{name.replace('_', ' ')} {_amount(value, places)}" for name, value in parts.items())
        lines.append(f"  attribution ({asset}): {shown}")
    return lines


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}%"


def _bp(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"
