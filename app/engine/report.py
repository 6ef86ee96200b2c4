"""The run summary: printed at the end and written as JSON (atomically: never half a file)."""
from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.domain.numbers import fmt_money, fmt_plain
from app.engine.analytics import RunAnalytics, format_analytics
from app.engine.bot import Bot


def _dec(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    return text


_DERIVED = Decimal("1e-10")
_MONEY_KEYS = frozenset({"volume_quote", "fees_quote", "pnl", "pnl_quote", "realized_pnl_quote", "unrealized_pnl_quote",
                         "realized_pnl", "unrealized_pnl", "funding"})


def _derived(value: Decimal | None) -> str | None:
    """Average-cost figures divide, so they get a fixed precision; fill sums stay exact."""
    return None if value is None else _dec(value.quantize(_DERIVED))


def _balances(balances) -> dict[str, dict[str, str]]:
    return {
        asset: {"total": _dec(b.total), "available": _dec(b.available), "locked": _dec(b.locked)}
        for asset, b in sorted(balances.items())
    }


def build_report(bot: Bot, *, venue: str, mode: str, analytics: RunAnalytics | None = None) -> dict[str, Any]:
    """The run's figures. Every PnL names its asset: `pnl` in `pnl_asset` (spot: the quote,
    also kept as `pnl_quote`; perpetuals: the settlement asset, with `position`). With
    `analytics` (app/engine/analytics.py) also markouts, attribution, drawdown and the rest.

    `markets` has one entry per role with that market's figures. With several markets the
    top-level figures are the bot's over all of them: counts summed, money (volume, fees,
    PnL) in the valuation asset (`valuation`: the first role's PnL asset and the rate used
    for every other asset), balances summed over the accounts, the first role's market
    for `symbol`, `instrument` and `mark_price`."""
    first = bot.markets[next(iter(bot.markets))]
    duration_s = max(0, (bot.stop_ns or bot.clock.now_ns()) - bot.start_ns) / 1e9
    report: dict[str, Any] = {
        "bot": bot.name,
        "strategy": bot.strategy.name,
        "params": {k: str(v) for k, v in bot.strategy.params.items()},
        "venue": venue,
        "mode": mode,
        "symbol": bot.symbol,
        "market_kind": bot.instrument.kind,
        "instrument": _instrument(bot.instrument),
        "duration_seconds": round(duration_s, 3),
    }
    figures = {role: _market_figures(market) for role, market in bot.markets.items()}
    if bot.multi_market:
        report.update(_totals(bot, figures))
    else:
        report.update(figures[first.role])
    report.update({
        "rejected_orders": bot.rejects,
        "open_orders_at_exit": len(bot.open_orders()),
        "start_balances": _balances(bot.start_balances) if not bot.multi_market else _summed(bot, start=True),
        "end_balances": _balances(first.balances()) if not bot.multi_market else _summed(bot, start=False),
        "audit": bot.audit,
        "risk": bot.risk.report(),  # limits in force, refused orders, stopped_by, flatten
        "bot_error": bot.error,  # why the strategy failed and the bot stopped (None: it did not)
    })
    if analytics is not None:  # its attribution adds up to the report's PnL as printed
        shown = report.get("pnl")
        report.update(analytics.report(bot.mark_price(), Decimal(shown) if shown is not None else None))
    report["markets"] = {
        role: {"account": market.account, "symbol": market.symbol, "market_kind": market.instrument.kind,
               "instrument": _instrument(market.instrument), **figures[role],
               "open_orders_at_exit": len(market.open_orders()),
               "start_balances": _balances(market.start_balances), "end_balances": _balances(market.balances())}
        for role, market in bot.markets.items()
    }
    return report


def _instrument(inst) -> dict[str, Any]:  # noqa: ANN001 - an Instrument
    return {
        "tick": _dec(inst.tick_size), "lot": _dec(inst.lot_size), "min_notional": _dec(inst.min_notional),
        "contract_size": _dec(inst.contract_size), "maker_fee": _dec(inst.maker_fee),
        "taker_fee": _dec(inst.taker_fee), "settle": inst.settle_asset, "source": inst.source,
    }


def _market_figures(market) -> dict[str, Any]:  # noqa: ANN001 - a BotMarket
    """One market's fills, volume, fees and PnL (in its own PnL asset)."""
    mark = market.mark_price()
    pnl = market.pnl
    inst = market.instrument
    total = _dec(pnl.pnl(mark)) if mark is not None else None
    figures: dict[str, Any] = {
        "fills": pnl.fills,
        "maker_fills": pnl.maker_fills,
        "buys": pnl.buys,
        "sells": pnl.sells,
        "volume_base": _dec(pnl.volume_base),
        "volume_quote": _dec(pnl.volume_quote),
        "fees_quote": _dec(pnl.fees_quote),
        "mark_price": _dec(mark),
        "pnl": total,
        "pnl_asset": pnl.quote_asset,
    }
    if inst.is_derivative:
        figures.update({
            "position": _dec(pnl.base_delta),
            "entry_price": _derived(pnl.entry) if pnl.position_lots else None,
            "funding": _dec(pnl.funding),
            "realized_pnl": _derived(pnl.realized),
            "unrealized_pnl": _derived(pnl.unrealized(mark)) if mark is not None else None,
        })
    else:
        figures.update({
            "pnl_quote": total,
            "realized_pnl_quote": _derived(pnl.realized),
            "unrealized_pnl_quote": _derived(pnl.unrealized(mark)) if mark is not None else None,
            "inventory_change_base": _dec(pnl.base_delta),
        })
    return figures


def _totals(bot: Bot, figures: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The bot's figures over several markets (see build_report)."""
    valuation = bot.valuation
    markets = bot.markets.values()

    def valued(*keys: str) -> str | None:
        """A figure summed over the markets in the valuation asset (the first of `keys`
        a market has: spot and derivatives name their realised PnL differently)."""
        total = Decimal(0)
        for market in markets:
            found = figures[market.role]
            text = next((found[k] for k in keys if k in found), None)
            value = valuation.value(Decimal(text), market.pnl.quote_asset) if text is not None else None
            if value is None:
                return None
            total += value
        return _derived(total)

    for market in markets:
        pnl = figures[market.role]["pnl"]
        value = valuation.value(Decimal(pnl), market.pnl.quote_asset) if pnl is not None else None
        figures[market.role]["pnl_in_valuation_asset"] = _derived(value)
    total = bot.pnl_value()
    same_base = len({m.instrument.base for m in markets}) == 1
    return {
        "fills": sum(f["fills"] for f in figures.values()),
        "maker_fills": sum(f["maker_fills"] for f in figures.values()),
        "buys": sum(f["buys"] for f in figures.values()),
        "sells": sum(f["sells"] for f in figures.values()),
        "volume_base": _dec(sum((m.pnl.volume_base for m in markets), Decimal(0))) if same_base else None,
        "volume_quote": valued("volume_quote"),
        "fees_quote": valued("fees_quote"),
        "mark_price": _dec(bot.mark_price()),
        "pnl": _derived(total),
        "pnl_asset": valuation.asset,
        "valuation": valuation.describe(),
        "pnl_quote": _derived(total),
        "realized_pnl_quote": valued("realized_pnl_quote", "realized_pnl"),
        "unrealized_pnl_quote": valued("unrealized_pnl_quote", "unrealized_pnl"),
        "inventory_change_base": _dec(bot.net_inventory()),  # net, over the markets of the first one's base
    }


def _summed(bot: Bot, *, start: bool) -> dict[str, dict[str, str]]:
    """Balances over the bot's accounts (each account once), asset by asset."""
    from app.domain import Balance

    sums: dict[str, list[Decimal]] = {}
    seen: set[int] = set()
    for market in bot.markets.values():
        if id(market.venue) in seen:
            continue
        seen.add(id(market.venue))
        for asset, b in (market.start_balances if start else market.balances()).items():
            total = sums.setdefault(asset, [Decimal(0), Decimal(0)])
            total[0] += b.total
            total[1] += b.locked
    return _balances({a: Balance(a, t, locked) for a, (t, locked) in sums.items()})


def write_json_atomic(path: str | Path, data: dict[str, Any]) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, default=str) + "\n")


def write_text_atomic(path: str | Path, text: str) -> None:
    """Never half a file: written beside it, fsynced, then renamed over it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _readable(text: str | None, places: int | None = None) -> str:
    """Rounds an exact amount for reading as the window's tables do (fmt_money), or to
    `places` decimals (coin-settled markets: satoshis matter); the JSON report keeps every digit."""
    if text is None:
        return "-"
    value = Decimal(text)
    if places is None:
        return fmt_money(value)
    rounded = value.quantize(Decimal(1).scaleb(-places)) if value.adjusted() >= -places else value
    return fmt_plain(rounded)


def format_summary(report: dict[str, Any]) -> str:
    places = 8 if report.get("market_kind") == "inverse" else None  # coin-settled: satoshis matter
    r = {k: (_readable(v, places) if k in _MONEY_KEYS else v) for k, v in report.items()}
    asset = report.get("pnl_asset", "quote")
    inst = report.get("instrument") or {}
    several = len(report.get("markets") or {}) > 1  # then the venue names each market's symbol
    lines = [
        f"Summary of {report['bot']} ({report['strategy']} on {report['venue']}"
        f"{'' if several else ' ' + report['symbol']}, {report['mode']}, {report['duration_seconds']} s)",
    ]
    if report.get("bot_error"):
        lines.append(f"  the bot failed and stopped: {report['bot_error']}")
    if inst:
        lines.append(f"  rules: tick {inst['tick']}, lot {inst['lot']}, fees maker {_pct(inst['maker_fee'])} / "
                     f"taker {_pct(inst['taker_fee'])}" + (f" ({inst['source']})" if inst.get("source") else ""))
    lines += [
        f"  fills {r['fills']} ({r['buys']} buys, {r['sells']} sells, {r['maker_fills']} maker)",
        f"  volume {report['volume_base']} = {r['volume_quote']} {asset}; fees {r['fees_quote']} {asset}",
    ]
    if "position" in report:
        lines.append(
            f"  PnL {r['pnl']} {asset} (realized after fees and funding {r['realized_pnl']}, unrealized "
            f"{r['unrealized_pnl']}) at mark {report['mark_price']}; position {report['position']} "
            f"at entry {report['entry_price'] or '-'}; funding {r['funding']} {asset}"
        )
    else:
        lines.append(
            f"  PnL {r['pnl']} {asset} vs holding (realized {r['realized_pnl_quote']}, "
            f"unrealized {r['unrealized_pnl_quote']}) at mark {report['mark_price']}"
        )
        lines.append(f"  inventory change {report['inventory_change_base']}")
    lines.append(f"  rejected orders {r['rejected_orders']}; open orders at exit {r['open_orders_at_exit']}")
    lines.extend(_market_lines(report, places))
    lines += _risk_lines(report.get("risk"))
    lines += format_analytics(report)
    for asset_name, start in report["start_balances"].items():
        end = report["end_balances"].get(asset_name, {}).get("total")
        lines.append(f"  {asset_name}: {_readable(start['total'])} -> {_readable(end)}")
    for note in report.get("notes", ()):
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def _market_lines(report: dict[str, Any], places: int | None) -> list[str]:
    """With several markets: each one's figures and the rates used to value them."""
    markets = report.get("markets") or {}
    if len(markets) < 2:
        return []
    lines = []
    for role, m in markets.items():
        inventory = m.get("position", m.get("inventory_change_base"))
        lines.append(f"  {role}: {m['account']} {m['symbol']}: fills {m['fills']} ({m['buys']} buys, {m['sells']} sells, "
                     f"{m['maker_fills']} maker), PnL {_readable(m['pnl'], places)} {m['pnl_asset']} at mark "
                     f"{m['mark_price']}, {'position' if 'position' in m else 'inventory change'} {inventory}, "
                     f"open orders at exit {m['open_orders_at_exit']}")
    valuation = report.get("valuation") or {}
    for asset, rate in (valuation.get("rates") or {}).items():
        lines.append(f"  valued in {valuation['asset']}: 1 {asset} = {rate['rate'] or '?'} ({rate['source']})")
    return lines


def _risk_lines(risk: dict[str, Any] | None) -> list[str]:
    """The risk entry in words: why the bot stopped itself, refusals by limit, flatten."""
    if not risk:
        return []
    lines = []
    if risk.get("stopped_by"):
        lines.append(f"  stopped by {risk['stopped_by']}")
    refused = risk.get("refused_orders") or {}
    if refused:
        lines.append("  risk refused " + ", ".join(f"{n} orders by {limit}" for limit, n in refused.items()))
    flat = risk.get("flatten")
    if flat:
        lines.append(f"  flatten ({flat['by']}): {flat['status']}; {flat['before']} -> {flat['left']} {flat['unit']}")
    return lines


def _pct(rate: str | None) -> str:
    return "-" if rate is None else f"{format((Decimal(rate) * 100).normalize(), 'f')}%"
