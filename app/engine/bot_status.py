"""A bot's state and the one-line status views show (bots table, `run`'s status line)."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING

from app.domain import Side

if TYPE_CHECKING:
    from app.engine.bot import Bot


class BotState(str, Enum):
    READY = "ready"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class BotStatus:
    name: str
    state: BotState
    ts_ns: int
    mid: Decimal | None
    own_bid: Decimal | None
    own_ask: Decimal | None
    open_orders: int
    inventory_base: Decimal
    pnl_quote: Decimal
    fills: int
    stale: bool
    error: str | None = None  # why the bot failed: "ValueError in on_book: ..."
    stopped_by: str | None = None  # why it stopped itself: "risk: daily loss 123.4 USDT > max_daily_loss 100 USDT"
    rejected: str = ""  # its orders refused since the last accepted one: "3 orders in a row rejected: ..."


def bot_status(bot: "Bot") -> BotStatus:
    """Mid and own bid/ask of the first role's market; open orders, fills and staleness
    over every market; PnL in the valuation asset and, with several markets, the net
    inventory of the first role's base asset."""
    mid = bot.mark_price()
    primary = bot.orders.open_orders(bot.symbol)
    bids = [o.price_ticks for o in primary if o.side is Side.BUY]
    asks = [o.price_ticks for o in primary if o.side is Side.SELL]
    inst = bot.instrument
    pnl = bot.pnl_value()
    markets = bot.markets.values()
    return BotStatus(
        name=bot.name,
        state=bot.state,
        ts_ns=bot.clock.now_ns(),
        mid=mid,
        own_bid=inst.ticks_to_price(max(bids)) if bids else None,
        own_ask=inst.ticks_to_price(min(asks)) if asks else None,
        open_orders=len(bot.open_orders()),
        inventory_base=bot.net_inventory() if bot.multi_market else bot.pnl.base_delta,
        pnl_quote=pnl if pnl is not None else Decimal(0),
        fills=sum(m.pnl.fills for m in markets),
        stale=any(m.feed.book.is_stale for m in markets),
        error=bot.error,
        stopped_by=bot.stopped_by,
        rejected=bot.reject_streak.describe(),
    )
