"""A run's analytics: what a trader reads after a backtest besides the PnL.

`RunAnalytics` listens to the bot's accounts (its own orders and fills only, counted per
market by app/engine/market_flow.py) and samples the first market's mid on the bot's
clock at a fixed cadence (1 s of simulated or real time), so it adds no work per market
event: per order event a few dict operations, per fill one record, one timer per markout
horizon and one PnL for the drawdown, per sample one PnL. From that it gives the report
its hold-vs-trade values, return, drawdown, time quoted, fill rate, markouts, PnL
attribution, the fills and a price path for the plots (app/engine/run_metrics.py has the
formulas); a bot over several markets also gets those fill figures per market
(`by_market`). Attach it before the bot starts: its listener then runs before the bot's,
while the bot still owns a just-finished order.
"""
from __future__ import annotations

from array import array
from decimal import Decimal
from typing import Any

from app.domain import OrderFilled, OrderUpdated
from app.engine.bot import Bot, BotState
from app.engine.market_flow import MarketFlow
from app.engine.market_flow import money as _money
from app.engine.run_metrics import Drawdown, FillPoint, attribution, pct, portfolio_value

_NS = 1_000_000_000
HORIZONS_S = (1, 10, 60)
MAX_FILLS_LISTED = 20_000
"""Fills listed in the report (for the plots); the figures always use every fill."""
MAX_PATH_POINTS = 2_000


class RunAnalytics:
    def __init__(self, bot: Bot, *, sample_s: float = 1.0, horizons_s: tuple[int, ...] = HORIZONS_S) -> None:
        self.bot = bot
        self.clock = bot.clock
        self.instrument = bot.instrument
        self.sample_ns = max(1, int(sample_s * _NS))
        self.horizons_s = horizons_s
        self.flows = {role: MarketFlow(market, bot.clock, horizons_s) for role, market in bot.markets.items()}
        self.first = next(iter(self.flows.values()))  # the top-level figures are its
        self.fills: list[FillPoint] = self.first.fills
        self.drawdown = Drawdown()
        self.start_ns: int | None = None
        self.end_ns: int | None = None
        self.start_mid: Decimal | None = None
        self.start_value: Decimal | None = None
        self._venues = list({id(m.venue): m.venue for m in bot.markets.values()}.values())  # each account once
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
        for flow in self.flows.values():
            flow.start(self.start_ns)
        for venue in self._venues:
            venue.add_listener(self._on_event)
        self._sample()

    def _detach(self) -> None:
        """The bot finished: the last sample, then no more order events or samples (the
        markouts already scheduled still take their mids)."""
        self._attached = False
        for venue in self._venues:
            venue.remove_listener(self._on_event)
        if self._timer is not None:
            self._timer.cancel()
        self._sample()
        self.end_ns = self.clock.now_ns()

    # -- the book --------------------------------------------------------------------------
    def _mid(self) -> Decimal | None:
        return self.first.mid()

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
    def _flow_of(self, order) -> MarketFlow | None:  # noqa: ANN001 - Order
        for flow in self.flows.values():
            if flow.ours(order):
                return flow
        return None

    def _on_event(self, event: object) -> None:
        kind = type(event)
        if kind is OrderFilled:
            flow = self._flow_of(event.order)  # type: ignore[attr-defined]
            if flow is not None and flow.on_fill(event) and flow is self.first:  # type: ignore[arg-type]
                self.clock.call_soon(self._after_fill)  # once the bot has counted it
        elif kind is OrderUpdated:
            flow = self._flow_of(event.order)  # type: ignore[attr-defined]
            if flow is not None:
                flow.track(event.order)  # type: ignore[attr-defined]

    def _after_fill(self) -> None:
        """The PnL right after a fill, for the drawdown: the fee and the spread land at once,
        between two samples."""
        mid = self._mid()
        if mid is not None:
            # The curve of the whole bot: over every market when it trades several.
            value = self.bot.pnl_value() if self.bot.multi_market else self.bot.pnl.pnl(mid)
            if value is not None:
                self.drawdown.add(value, self.start_value)

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
        if bot.multi_market:  # the top-level fill figures are the first market's; PnL is the total
            out["analytics"]["market"] = first
        out.update(self._values(mark))
        out["max_drawdown"] = _money(self.drawdown.worst)
        out["max_drawdown_pct"] = round(self.drawdown.worst_pct, 6) if self.start_value else None
        out.update(self.first.figures(end_ns))
        if bot.multi_market:
            out["by_market"] = {role: flow.figures(end_ns) for role, flow in self.flows.items()}
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
    for role, figures in (report.get("by_market") or {}).items():
        rate = figures["fill_rate"]
        marks = ", ".join(f"{label} {_bp(mark['all'])}" for label, mark in figures["markouts_bps"].items()
                          if mark["count"])
        lines.append(f"  market {role}: {figures['orders_placed']} orders, fill rate "
                     f"{'-' if rate is None else f'{100 * rate:.2f}%'}, "
                     f"{figures['markouts_bps'][next(iter(figures['markouts_bps']))]['of'] if figures['markouts_bps'] else 0}"
                     f" fills; markouts (bp) {marks or '-'}")
    parts = report.get("attribution")
    if parts:
        shown = ", ".join(f"{name.replace('_', ' ')} {_amount(value, places)}" for name, value in parts.items())
        lines.append(f"  attribution ({asset}): {shown}")
    return lines


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f}%"


def _bp(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"
