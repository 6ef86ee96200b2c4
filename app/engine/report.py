"""The run summary: printed at the end and written as JSON (atomically: never half a file)."""
from __future__ import annotations

import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

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
    `analytics` (app/engine/analytics.py) also markouts, attribution, drawdown and the rest."""
    mark = bot.mark_price()
    pnl = bot.pnl
    inst = bot.instrument
    duration_s = max(0, (bot.stop_ns or bot.clock.now_ns()) - bot.start_ns) / 1e9
    total = _dec(pnl.pnl(mark)) if mark is not None else None
    report: dict[str, Any] = {
        "bot": bot.name,
        "strategy": bot.strategy.name,
        "params": {k: str(v) for k, v in bot.strategy.params.items()},
        "venue": venue,
        "mode": mode,
        "symbol": bot.symbol,
        "market_kind": inst.kind,
        "instrument": {
            "tick": _dec(inst.tick_size), "lot": _dec(inst.lot_size), "min_notional": _dec(inst.min_notional),
            "contract_size": _dec(inst.contract_size), "maker_fee": _dec(inst.maker_fee),
            "taker_fee": _dec(inst.taker_fee), "settle": inst.settle_asset, "source": inst.source,
        },
        "duration_seconds": round(duration_s, 3),
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
        report.update({
            "position": _dec(pnl.base_delta),
            "entry_price": _derived(pnl.entry) if pnl.position_lots else None,
            "funding": _dec(pnl.funding),
            "realized_pnl": _derived(pnl.realized),
            "unrealized_pnl": _derived(pnl.unrealized(mark)) if mark is not None else None,
        })
    else:
        report.update({
            "pnl_quote": total,
            "realized_pnl_quote": _derived(pnl.realized),
            "unrealized_pnl_quote": _derived(pnl.unrealized(mark)) if mark is not None else None,
            "inventory_change_base": _dec(pnl.base_delta),
        })
    report.update({
        "rejected_orders": bot.rejects,
        "open_orders_at_exit": len(bot.open_orders()),
        "start_balances": _balances(bot.start_balances),
        "end_balances": _balances(bot.connector.balances()),
        "audit": bot.audit,
        "risk": bot.risk.report(),  # limits in force, refused orders, stopped_by, flatten
    })
    if analytics is not None:
        report.update(analytics.report(mark, pnl.pnl(mark) if mark is not None else None))
    return report


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


def _readable(text: str | None, places: int = 4) -> str:
    """Rounds an exact amount for reading; the JSON report keeps every digit."""
    if text is None:
        return "-"
    value = Decimal(text)
    rounded = value.quantize(Decimal(1).scaleb(-places)) if value.adjusted() >= -places else value
    return format(rounded.normalize(), "f")


def format_summary(report: dict[str, Any]) -> str:
    places = 8 if report.get("market_kind") == "inverse" else 4  # coin-settled: satoshis matter
    r = {k: (_readable(v, places) if k in _MONEY_KEYS else v) for k, v in report.items()}
    asset = report.get("pnl_asset", "quote")
    inst = report.get("instrument") or {}
    lines = [
        f"Summary of {report['bot']} ({report['strategy']} on {report['venue']} {report['symbol']}, "
        f"{report['mode']}, {report['duration_seconds']} s)",
    ]
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
    lines += _risk_lines(report.get("risk"))
    lines += format_analytics(report)
    for asset_name, start in report["start_balances"].items():
        end = report["end_balances"].get(asset_name, {}).get("total")
        lines.append(f"  {asset_name}: {_readable(start['total'], 8)} -> {_readable(end, 8)}")
    for note in report.get("notes", ()):
        lines.append(f"  note: {note}")
    return "\n".join(lines)


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
