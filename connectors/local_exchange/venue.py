"""The demo exchange as Binance spot sees it: ids, order records, own and public trades,
depth update ids, balances; the one place REST and the websocket API trade through.

The DemoExchange matches and settles; this class adds what Binance's protocol needs on
top: numeric order ids and the client's ids, Binance statuses (NEW, PARTIALLY_FILLED,
FILLED, CANCELED, EXPIRED), FULL answers with their fills, execution reports, own-trade
ids, public trade ids and a depth update-id chain (U/u) derived from the published book.
Order entry checks Binance's filters first, so a bad order gets Binance's code, not the
demo exchange's wording.
"""
from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections import deque
from decimal import Decimal, InvalidOperation
from typing import Callable

import numpy as np

from app.book import ASK, BID
from app.domain import (
    BalancesUpdated, BookUpdated, Order, OrderFilled, OrderStatus, OrderType, OrderUpdated, Side, TradesEvent,
)
from connectors.demo.exchange import DemoExchange
from connectors.local_exchange import errors
from app.data.trade_tape import TradeTape
from connectors.local_exchange.payloads import Numbers, OrderRecord, OrderViews, dec
from connectors.local_exchange.state import StateStore

CLIENT_ID = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
NUMBER = re.compile(r"^[0-9]{1,20}(\.[0-9]{1,20})?$")
PUBLIC_TRADES_KEPT = 1000
OWN_TRADES_KEPT = 100_000
ORDERS_KEPT = 100_000
ANSWER_TIMEOUT_S = 5.0

UserListener = Callable[[dict], None]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class BinanceVenue:
    def __init__(self, exchange: DemoExchange, store: StateStore | None = None) -> None:
        self.exchange = exchange
        inst = self.instrument = exchange.instrument
        self.symbol = inst.exchange_symbol or f"{inst.base}{inst.quote}"
        self.numbers = Numbers(inst)
        self.views = OrderViews(self.symbol, self.numbers)
        self.store = store
        self.records: dict[int, OrderRecord] = {}
        self._by_client: dict[str, int] = {}  # clientOrderId -> newest orderId with it
        self._live: dict[str, OrderRecord] = {}  # in the demo exchange, by client id
        self._waiters: dict[str, list[tuple[Callable[[OrderRecord], bool], asyncio.Future]]] = {}
        self.own_trades: deque[dict] = deque(maxlen=OWN_TRADES_KEPT)
        self.public_trades: deque[tuple] = deque(maxlen=PUBLIC_TRADES_KEPT)  # id, ticks, lots, ms, buyer_maker
        self.tape = TradeTape()  # the same trades, more of them, as numpy: for klines
        self.user_listeners: list[UserListener] = []
        self.depth_listeners: list[Callable] = []  # (U, u, ms, bid_p, bid_q, ask_p, ask_q)
        self.trade_listeners: list[Callable] = []  # (list of public trade tuples)
        self.ticker_listeners: list[Callable] = []  # (u, bid, bid_qty, ask, ask_qty) in ticks/lots
        meta = store.meta() if store else {}
        self.next_order_id = int(meta.get("next_order_id", 1))
        self.next_trade_id = int(meta.get("next_trade_id", 1))
        self.next_public_trade_id = int(meta.get("next_public_trade_id", 1))
        self.update_id = int(meta.get("update_id", 0)) + (1000 if meta else 0)
        self._bids = self._asks = (np.empty(0, np.int64), np.empty(0, np.int64))
        self._top: tuple = ()

    # -- life cycle -------------------------------------------------------------------------
    def attach(self) -> None:
        """After the exchange started: listen to it, load the book, put stored orders back."""
        ex = self.exchange
        book = ex.feed(self.instrument.symbol).book
        self._bids, self._asks = book.top_levels(BID, 1 << 40), book.top_levels(ASK, 1 << 40)
        ex.add_listener(self._on_account)
        ex.feed(self.instrument.symbol).add_listener(self._on_market)
        if self.store is not None:
            self._restore()

    def detach(self) -> None:
        self.exchange.remove_listener(self._on_account)
        self.exchange.feed(self.instrument.symbol).remove_listener(self._on_market)
        self.save_meta()

    def save_meta(self) -> None:
        if self.store is None:
            return
        book = self.exchange.feed(self.instrument.symbol).book
        mid = book.mid_ticks
        self.store.set_meta({
            "next_order_id": self.next_order_id, "next_trade_id": self.next_trade_id,
            "next_public_trade_id": self.next_public_trade_id, "update_id": self.update_id,
            **({"mid_price": str(self.instrument.ticks_to_price(int(mid)))} if mid and mid > 0 else {}),
        })

    def _restore(self) -> None:
        assert self.store is not None
        for data in self.store.orders():
            rec = OrderRecord.from_store(data)
            self.records[rec.order_id] = rec
            self._by_client[rec.client_order_id] = rec.order_id
        self.own_trades.extend(self.store.trades())
        inst = self.instrument
        for rec in [r for r in self.records.values() if r.is_open]:
            order = Order(
                client_order_id=rec.client_order_id, symbol=inst.symbol,
                side=Side.BUY if rec.side == "BUY" else Side.SELL,
                type=OrderType.LIMIT_MAKER if rec.type == "LIMIT_MAKER" else OrderType.LIMIT,
                price_ticks=rec.price_ticks, amount_lots=rec.orig_lots, created_ns=rec.time_ms * 1_000_000,
                status=OrderStatus.PARTIALLY_FILLED if rec.executed_lots else OrderStatus.OPEN,
                filled_lots=rec.executed_lots,
            )
            self._live[rec.client_order_id] = rec
            try:
                self.exchange.restore_order(order)
            except ValueError:  # its funds are gone (the state was edited): it expires
                self._live.pop(rec.client_order_id, None)
                rec.status, rec.update_ms = "EXPIRED", now_ms()
                self._save(rec)

    # -- market data ------------------------------------------------------------------------
    def depth(self, limit: int) -> tuple[int, tuple, tuple]:
        """(lastUpdateId, (bid prices, qtys), (ask prices, qtys)), best first."""
        bp, bq = self._bids
        ap, aq = self._asks
        return self.update_id, (bp[:limit], bq[:limit]), (ap[:limit], aq[:limit])

    def _on_market(self, event: object) -> None:
        if isinstance(event, BookUpdated):
            self._diff_book(event.ts_ns)
        elif isinstance(event, TradesEvent):
            self._on_trades(event.trades)

    def _diff_book(self, ts_ns: int) -> None:
        book = self.exchange.feed(self.instrument.symbol).book
        bids, asks = book.top_levels(BID, 1 << 40), book.top_levels(ASK, 1 << 40)
        bp, bq = _side_diff(self._bids, bids)
        ap, aq = _side_diff(self._asks, asks)
        self._bids, self._asks = bids, asks
        changes = len(bp) + len(ap)
        if changes:
            first = self.update_id + 1
            self.update_id += changes
            ms = ts_ns // 1_000_000
            for listener in tuple(self.depth_listeners):
                listener(first, self.update_id, ms, bp, bq, ap, aq)
        top = (int(bids[0][0]) if len(bids[0]) else 0, int(bids[1][0]) if len(bids[0]) else 0,
               int(asks[0][0]) if len(asks[0]) else 0, int(asks[1][0]) if len(asks[0]) else 0)
        if top != self._top:
            self._top = top
            for listener in tuple(self.ticker_listeners):
                listener(self.update_id, *top)

    def _on_trades(self, trades: np.ndarray) -> None:
        self.tape.append(trades)
        batch = []
        for ts, price, qty, taker in trades.tolist():
            batch.append((self.next_public_trade_id, price, qty, ts // 1_000_000, taker < 0))
            self.next_public_trade_id += 1
        self.public_trades.extend(batch)
        for listener in tuple(self.trade_listeners):
            listener(batch)

    # -- orders -----------------------------------------------------------------------------
    def check_symbol(self, params: dict, required: bool = True) -> None:
        symbol = params.get("symbol")
        if symbol in (None, ""):
            if required:
                raise errors.mandatory("symbol")
            return
        if symbol != self.symbol:
            raise errors.bad_symbol()

    async def place(self, p: dict) -> tuple[OrderRecord, str]:
        """Checks and places an order, waits for the engine's answer: (record, resp type)."""
        self.check_symbol(p)
        side = _required(p, "side").upper()
        if side not in ("BUY", "SELL"):
            raise errors.bad_side()
        typ = _required(p, "type").upper()
        if typ not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
            raise errors.bad_order_type()
        inst = self.instrument
        tif = p.get("timeInForce") or ""
        ticks, lots, quote = 0, 0, Decimal(0)
        if typ == "LIMIT":
            tif = _required(p, "timeInForce").upper()
            if tif not in ("GTC", "IOC"):
                raise errors.bad_time_in_force()
        elif tif:
            raise errors.not_required("timeInForce")
        if typ == "MARKET":
            if p.get("price"):
                raise errors.not_required("price")
            has_qty, has_quote = bool(p.get("quantity")), bool(p.get("quoteOrderQty"))
            if has_qty == has_quote:
                raise errors.mandatory("quantity") if not has_qty else errors.not_required("quoteOrderQty")
            if has_qty:
                lots = self._lots(p)
            else:
                quote = _number(p, "quoteOrderQty")
                lots = self._lots_for_quote(Side.BUY if side == "BUY" else Side.SELL, quote)
                if lots <= 0:
                    raise errors.filter_failure("NOTIONAL")
        else:
            ticks = self._ticks(p)
            lots = self._lots(p)
            if inst.notional(ticks, lots) < inst.min_notional:
                raise errors.filter_failure("NOTIONAL")
        resp_type = (p.get("newOrderRespType") or "FULL").upper()
        if resp_type not in ("ACK", "RESULT", "FULL"):
            raise errors.BinanceError(-1100, "Illegal characters found in parameter 'newOrderRespType'.")
        cid = p.get("newClientOrderId") or f"web_{secrets.token_hex(10)}"
        if not CLIENT_ID.match(cid):
            raise errors.BinanceError(-1100, "Illegal characters found in parameter 'newClientOrderId'; "
                                      "legal range is '^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.")
        if cid in self._live:
            raise errors.duplicate_order()
        kind = {"LIMIT_MAKER": OrderType.LIMIT_MAKER, "MARKET": OrderType.MARKET}.get(
            typ, OrderType.IOC if tif == "IOC" else OrderType.LIMIT)
        order = self.exchange.place_order(inst.symbol, Side.BUY if side == "BUY" else Side.SELL, kind, lots, ticks,
                                          client_order_id=cid)
        if order.status is OrderStatus.REJECTED:
            raise _rejection(order.reason)
        ms = now_ms()
        rec = OrderRecord(self.next_order_id, cid, side, typ, tif or "GTC", ticks, lots, str(quote), ms, ms)
        self.next_order_id += 1
        self.records[rec.order_id] = rec
        self._by_client[cid] = rec.order_id
        self._live[cid] = rec
        self._trim()
        await self._wait(rec, lambda r: r.status != "PENDING_NEW")
        if rec.status == "REJECTED":
            raise errors.would_match()
        return rec, resp_type

    async def cancel(self, p: dict) -> OrderRecord:
        self.check_symbol(p)
        rec = self._find(p)
        if rec is None or not rec.is_open and rec.status != "PENDING_NEW" or rec.cancel_requested:
            raise errors.unknown_order()
        rec.cancel_requested = True
        self.exchange.cancel_order(rec.client_order_id)
        await self._wait(rec, lambda r: r.is_final)
        if rec.status != "CANCELED":
            raise errors.unknown_order()
        return rec

    def query(self, p: dict) -> OrderRecord:
        self.check_symbol(p)
        rec = self._find(p)
        if rec is None or rec.status == "REJECTED":
            raise errors.no_such_order()
        return rec

    def open_orders(self, p: dict) -> list[OrderRecord]:
        self.check_symbol(p, required=False)
        return sorted((r for r in self._live.values() if r.status != "PENDING_NEW"), key=lambda r: r.order_id)

    def my_trades(self, p: dict) -> list[dict]:
        self.check_symbol(p)
        limit = min(max(_int(p, "limit", 500), 1), 1000)
        trades = list(self.own_trades)
        if p.get("orderId"):
            oid = _int(p, "orderId", 0)
            trades = [t for t in trades if t["orderId"] == oid]
        if p.get("fromId"):
            first = _int(p, "fromId", 0)
            return [t for t in trades if t["id"] >= first][:limit]
        if p.get("startTime"):
            start = _int(p, "startTime", 0)
            trades = [t for t in trades if t["time"] >= start]
        if p.get("endTime"):
            end = _int(p, "endTime", 0)
            trades = [t for t in trades if t["time"] <= end]
        return trades[-limit:]

    def account(self) -> dict:
        ms = now_ms()
        balances = [{"asset": a, "free": dec(b.available), "locked": dec(b.locked)}
                    for a, b in sorted(self.exchange.balances().items())]
        inst = self.instrument
        return {
            "makerCommission": int(inst.maker_fee * 10000), "takerCommission": int(inst.taker_fee * 10000),
            "buyerCommission": 0, "sellerCommission": 0,
            "commissionRates": {"maker": dec(inst.maker_fee), "taker": dec(inst.taker_fee),
                                "buyer": "0.00000000", "seller": "0.00000000"},
            "canTrade": True, "canWithdraw": False, "canDeposit": False, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False, "updateTime": ms,
            "accountType": "SPOT", "balances": balances, "permissions": ["SPOT"], "uid": 1,
        }

    def account_position(self) -> dict:
        ms = now_ms()
        return {"e": "outboundAccountPosition", "E": ms, "u": ms,
                "B": [{"a": a, "f": dec(b.available), "l": dec(b.locked)}
                      for a, b in sorted(self.exchange.balances().items())]}

    # -- internals --------------------------------------------------------------------------
    def _find(self, p: dict) -> OrderRecord | None:
        if p.get("orderId"):
            rec = self.records.get(_int(p, "orderId", 0))
            cid = p.get("origClientOrderId")
            if rec is not None and cid and rec.client_order_id != cid:
                return None
            return rec
        cid = p.get("origClientOrderId")
        if not cid:
            raise errors.either_id()
        oid = self._by_client.get(cid)
        return None if oid is None else self.records.get(oid)

    def _ticks(self, p: dict) -> int:
        price = _number(p, "price")
        ticks, rest = divmod(price, self.instrument.tick_size)
        if rest or ticks <= 0:
            raise errors.filter_failure("PRICE_FILTER")
        return int(ticks)

    def _lots(self, p: dict) -> int:
        qty = _number(p, "quantity")
        lots, rest = divmod(qty, self.instrument.lot_size)
        if rest or lots <= 0:
            raise errors.filter_failure("LOT_SIZE")
        return int(lots)

    def _lots_for_quote(self, side: Side, quote: Decimal) -> int:
        """How many lots `quote` buys (or sells for) sweeping the book from the touch."""
        prices, qtys = self._asks if side is Side.BUY else self._bids
        inst, lots, left = self.instrument, 0, quote
        for price, qty in zip(prices.tolist(), qtys.tolist()):
            one = inst.notional(price, 1)
            take = min(qty, int(left / one))
            lots += take
            left -= one * take
            if take < qty:
                break
        return lots

    async def _wait(self, rec: OrderRecord, done: Callable[[OrderRecord], bool]) -> None:
        if done(rec):
            return
        fut = asyncio.get_running_loop().create_future()
        self._waiters.setdefault(rec.client_order_id, []).append((done, fut))
        try:
            await asyncio.wait_for(fut, ANSWER_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise errors.internal("Timeout waiting for response from backend server. "
                                  "Send status unknown; execution status unknown.") from None

    def _wake(self, rec: OrderRecord) -> None:
        waiters = self._waiters.get(rec.client_order_id)
        if not waiters:
            return
        keep = []
        for done, fut in waiters:
            if fut.done():
                continue
            if done(rec):
                fut.set_result(None)
            else:
                keep.append((done, fut))
        if keep:
            self._waiters[rec.client_order_id] = keep
        else:
            del self._waiters[rec.client_order_id]

    def _trim(self) -> None:
        while len(self.records) > ORDERS_KEPT:
            oid = next(iter(self.records))
            rec = self.records[oid]
            if rec.is_open:
                break
            del self.records[oid]
            if self._by_client.get(rec.client_order_id) == oid:
                del self._by_client[rec.client_order_id]

    def _save(self, rec: OrderRecord) -> None:
        if self.store is not None:
            self.store.save_order(rec.to_store(), rec.is_open)

    def _on_account(self, event: object) -> None:
        if isinstance(event, OrderFilled):
            rec = self._live.get(event.order.client_order_id)
            if rec is not None:
                self._filled(rec, event)
        elif isinstance(event, OrderUpdated):
            rec = self._live.get(event.order.client_order_id)
            if rec is not None:
                self._updated(rec, event.order)
        elif isinstance(event, BalancesUpdated):
            if self.store is not None:
                self.store.save_balances({a: b.total for a, b in event.balances.items()})
            self._push(self.account_position())

    def _announce(self, rec: OrderRecord, ms: int) -> None:
        if not rec.announced:
            rec.announced = True
            if rec.status == "PENDING_NEW":
                rec.status = "NEW"
            self._push(self._report(rec, "NEW", ms, status="NEW"))

    def _filled(self, rec: OrderRecord, event: OrderFilled) -> None:
        fill, order, inst = event.fill, event.order, self.instrument
        ms = fill.ts_ns // 1_000_000
        self._announce(rec, ms)
        lots = inst.amount_to_lots(fill.amount)
        ticks = inst.price_to_ticks(fill.price)
        quote = fill.price * fill.amount
        rec.executed_lots = order.filled_lots
        rec.cum_quote = str(Decimal(rec.cum_quote) + quote)
        rec.status = "FILLED" if order.status is OrderStatus.FILLED else "PARTIALLY_FILLED"
        rec.update_ms = ms
        trade_id = self.next_trade_id
        self.next_trade_id += 1
        rec.fills.append({"price": self.numbers.price(ticks), "qty": self.numbers.qty(lots),
                          "commission": dec(fill.fee), "commissionAsset": fill.fee_asset, "tradeId": trade_id})
        trade = {
            "symbol": self.symbol, "id": trade_id, "orderId": rec.order_id, "orderListId": -1,
            "price": self.numbers.price(ticks), "qty": self.numbers.qty(lots), "quoteQty": dec(quote),
            "commission": dec(fill.fee), "commissionAsset": fill.fee_asset, "time": ms,
            "isBuyer": rec.side == "BUY", "isMaker": fill.is_maker, "isBestMatch": True,
        }
        self.own_trades.append(trade)
        if self.store is not None:
            self.store.save_trade(trade)
        self._push(self._report(rec, "TRADE", ms, last=(ticks, lots, fill), trade_id=trade_id))
        if rec.status == "FILLED":
            self._live.pop(rec.client_order_id, None)
        self._save(rec)
        self._wake(rec)

    def _updated(self, rec: OrderRecord, order: Order) -> None:
        ms = order.updated_ns // 1_000_000 or now_ms()
        status = order.status
        if status is OrderStatus.REJECTED:
            rec.status = "REJECTED"
            self._live.pop(rec.client_order_id, None)
            self.records.pop(rec.order_id, None)
            if self._by_client.get(rec.client_order_id) == rec.order_id:
                del self._by_client[rec.client_order_id]
            if self.store is not None:
                self.store.delete_order(rec.order_id)
        elif status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED):
            self._announce(rec, ms)
            self._save(rec)
        elif status.is_done:
            self._announce(rec, ms)
            final = "EXPIRED" if order.type in (OrderType.IOC, OrderType.MARKET) or status is OrderStatus.FAILED \
                else "CANCELED"
            rec.status, rec.update_ms = final, ms
            self._live.pop(rec.client_order_id, None)
            self._push(self._report(rec, final, ms))
            self._save(rec)
        self._wake(rec)

    def _report(self, rec: OrderRecord, execution: str, ms: int, *, status: str | None = None,
                last: tuple | None = None, trade_id: int = -1) -> dict:
        n = self.numbers
        ticks, lots, fill = last if last else (0, 0, None)
        return {
            "e": "executionReport", "E": ms, "s": self.symbol, "c": rec.client_order_id, "S": rec.side,
            "o": rec.type, "f": rec.time_in_force, "q": n.qty(rec.orig_lots), "p": n.price(rec.price_ticks),
            "P": "0.00000000", "F": "0.00000000", "g": -1,
            "C": rec.client_order_id if execution == "CANCELED" else "",
            "x": execution, "X": status or rec.status, "r": "NONE", "i": rec.order_id,
            "l": n.qty(lots), "z": n.qty(rec.executed_lots if execution != "NEW" else 0), "L": n.price(ticks),
            "n": dec(fill.fee) if fill else "0", "N": fill.fee_asset if fill else None, "T": ms, "t": trade_id,
            "I": 0, "w": rec.is_open, "m": bool(fill.is_maker) if fill else False, "M": False, "O": rec.time_ms,
            "Z": dec(Decimal(rec.cum_quote)) if execution != "NEW" else "0.00000000",
            "Y": dec(fill.price * fill.amount) if fill else "0.00000000",
            "Q": dec(Decimal(rec.orig_quote)), "W": rec.time_ms, "V": "NONE",
        }

    def _push(self, event: dict) -> None:
        for listener in tuple(self.user_listeners):
            listener(event)


def _side_diff(old: tuple, new: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Levels whose quantity changed between two (prices, qtys) sides; 0 = removed."""
    p0, q0 = old
    p1, q1 = new
    prices = np.union1d(p0, p1)
    v0 = np.zeros(len(prices), np.int64)
    v1 = np.zeros(len(prices), np.int64)
    v0[np.searchsorted(prices, p0)] = q0
    v1[np.searchsorted(prices, p1)] = q1
    changed = v0 != v1
    return prices[changed], v1[changed]


def _required(p: dict, name: str) -> str:
    value = p.get(name)
    if value in (None, ""):
        raise errors.mandatory(name)
    return str(value)


def _number(p: dict, name: str) -> Decimal:
    text = _required(p, name)
    if not NUMBER.match(text):
        raise errors.illegal_chars(name)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise errors.illegal_chars(name) from None


def _int(p: dict, name: str, default: int) -> int:
    value = p.get(name)
    if value in (None, ""):
        return default
    try:
        return int(str(value))
    except ValueError:
        raise errors.BinanceError(-1100, f"Illegal characters found in parameter '{name}'; "
                                  "legal range is '^[0-9]{1,20}$'.") from None


def _rejection(reason: str) -> errors.BinanceError:
    if "insufficient balance" in reason:
        return errors.insufficient_balance()
    if "min notional" in reason:
        return errors.filter_failure("NOTIONAL")
    return errors.new_order_rejected(reason[:1].upper() + reason[1:] + ".")
