"""Binance spot's REST API (the part ccxt's binance client uses), over the BinanceVenue.

A middleware does what every request shares, in Binance's order: injected faults, request
weight (429/418), then the handler; a BinanceError becomes `{"code", "msg"}` with its HTTP
status. Signed endpoints check the API key, the signature of the raw query string + body
and the timestamp window before anything else.
"""
from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from connectors.local_exchange import auth, errors, klines
from connectors.local_exchange.faults import FaultInjector
from connectors.local_exchange.limits import WeightLimiter, weight
from connectors.local_exchange.payloads import dec
from connectors.local_exchange.venue import BinanceVenue, now_ms

log = logging.getLogger(__name__)
MAX_DEPTH = 5000


def json_response(data: object, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json", headers=headers)


def error_response(exc: errors.BinanceError) -> web.Response:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    return json_response(exc.body(), exc.status, headers)


class ConnectionLost(Exception):
    """The answer must not arrive: the handler asks the middleware to drop the connection."""


class RestApi:
    def __init__(self, venue: BinanceVenue, credentials: auth.Credentials, faults: FaultInjector,
                 limiter: WeightLimiter) -> None:
        self.venue = venue
        self.credentials = credentials
        self.faults = faults
        self.limiter = limiter

    def add_routes(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/api/v3/ping", self.ping)
        r.add_get("/api/v3/time", self.time)
        r.add_get("/api/v3/exchangeInfo", self.exchange_info)
        r.add_get("/api/v3/depth", self.depth)
        r.add_get("/api/v3/trades", self.trades)
        r.add_get("/api/v3/aggTrades", self.agg_trades)
        r.add_get("/api/v3/klines", self.klines)
        r.add_get("/fapi/v1/klines", self.klines)  # USD-M answers klines in the same shape
        r.add_get("/api/v3/ticker/bookTicker", self.book_ticker)
        r.add_get("/api/v3/account", self.account)
        r.add_post("/api/v3/order", self.new_order)
        r.add_delete("/api/v3/order", self.cancel_order)
        r.add_get("/api/v3/order", self.get_order)
        r.add_get("/api/v3/openOrders", self.open_orders)
        r.add_delete("/api/v3/openOrders", self.cancel_open_orders)
        r.add_get("/api/v3/myTrades", self.my_trades)
        r.add_get("/colibri/faults", self.faults_get)
        r.add_post("/colibri/faults", self.faults_force)

    @web.middleware
    async def middleware(self, request: web.Request, handler) -> web.StreamResponse:
        if not request.path.startswith(("/api/", "/fapi/")):
            return await handler(request)
        try:
            if request.path != "/api/v3/time":
                self._inject(request)
            if self.faults.active and self.faults.roll("timeout"):
                await asyncio.sleep(self.faults.hold_s)  # then answered: too late for the client
            self.limiter.charge(request.remote or "", weight(request.path, request.method, dict(request.query)))
            response = await handler(request)
        except errors.BinanceError as exc:
            return error_response(exc)
        except ConnectionLost:
            # HTTP 500 without a body, and the connection closed after it. (Cutting the
            # connection before any answer would make aiohttp clients silently resend an
            # idempotent DELETE on a fresh one, hiding the lost answer behind a -2011.)
            response = web.Response(status=500, body=b"", headers={"Connection": "close"})
            response.force_close()
            return response
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(self.limiter.used)
        return response

    def _inject(self, request: web.Request) -> None:
        f = self.faults
        if not f.active:
            return
        if f.roll("http418"):
            raise errors.banned(now_ms() + f.retry_after * 1000, f.retry_after)
        if f.roll("http429"):
            raise errors.too_many_requests(self.limiter.limit, f.retry_after)
        if f.roll("http5xx"):
            raise web.HTTPServiceUnavailable(text="Service Unavailable")

    # -- parameters ---------------------------------------------------------------------------
    async def _params(self, request: web.Request, signed: bool) -> dict:
        raw_query = request.rel_url.raw_query_string
        raw_body = (await request.text()) if request.can_read_body else ""
        params = dict(parse_qsl(raw_query, keep_blank_values=True))
        if raw_body:
            params.update(parse_qsl(raw_body, keep_blank_values=True))
        if signed:
            auth.check_key(request.headers.get("X-MBX-APIKEY"), self.credentials)
            query, q_sig = auth.split_signature(raw_query)
            body, b_sig = auth.split_signature(raw_body)
            auth.check_signature(query + body, q_sig or b_sig, self.credentials)
            auth.check_timestamp(params, now_ms())
        return params

    # -- public ---------------------------------------------------------------------------------
    async def ping(self, request: web.Request) -> web.Response:
        return json_response({})

    async def time(self, request: web.Request) -> web.Response:
        return json_response({"serverTime": now_ms()})

    async def exchange_info(self, request: web.Request) -> web.Response:
        params = dict(request.query)
        wanted = params.get("symbol") or params.get("symbols")
        if wanted and self.venue.symbol not in wanted:
            raise errors.bad_symbol()
        return json_response(exchange_info(self.venue, self.limiter.limit))

    async def depth(self, request: web.Request) -> web.Response:
        params = await self._params(request, False)
        self.venue.check_symbol(params)
        limit = min(max(int(params.get("limit") or 100), 1), MAX_DEPTH) if str(params.get("limit", "1")).isdigit() \
            else 100
        uid, (bp, bq), (ap, aq) = self.venue.depth(limit)
        n = self.venue.numbers
        return json_response({
            "lastUpdateId": uid,
            "bids": [[n.price(p), n.qty(q)] for p, q in zip(bp.tolist(), bq.tolist())],
            "asks": [[n.price(p), n.qty(q)] for p, q in zip(ap.tolist(), aq.tolist())],
        })

    async def trades(self, request: web.Request) -> web.Response:
        params = await self._params(request, False)
        self.venue.check_symbol(params)
        limit = _limit(params, 500, 1000)
        n = self.venue.numbers
        inst = self.venue.instrument
        out = [{"id": tid, "price": n.price(p), "qty": n.qty(q), "quoteQty": dec(inst.notional(p, q)), "time": ms,
                "isBuyerMaker": m, "isBestMatch": True}
               for tid, p, q, ms, m in list(self.venue.public_trades)[-limit:]]
        return json_response(out)

    async def agg_trades(self, request: web.Request) -> web.Response:
        params = await self._params(request, False)
        self.venue.check_symbol(params)
        limit = _limit(params, 500, 1000)
        trades = list(self.venue.public_trades)
        if params.get("fromId", "").isdigit():
            first = int(params["fromId"])
            trades = [t for t in trades if t[0] >= first][:limit]
        else:
            if params.get("startTime", "").isdigit():
                trades = [t for t in trades if t[3] >= int(params["startTime"])]
            if params.get("endTime", "").isdigit():
                trades = [t for t in trades if t[3] <= int(params["endTime"])]
            trades = trades[-limit:]
        n = self.venue.numbers
        return json_response([{"a": tid, "p": n.price(p), "q": n.qty(q), "f": tid, "l": tid, "T": ms, "m": m,
                               "M": True} for tid, p, q, ms, m in trades])

    async def klines(self, request: web.Request) -> web.Response:
        params = await self._params(request, False)
        self.venue.check_symbol(params)
        return json_response(klines.klines(self.venue.tape, self.venue.numbers, params))

    async def book_ticker(self, request: web.Request) -> web.Response:
        params = await self._params(request, False)
        self.venue.check_symbol(params, required=False)
        _, (bp, bq), (ap, aq) = self.venue.depth(1)
        n = self.venue.numbers
        out = {"symbol": self.venue.symbol,
               "bidPrice": n.price(bp[0]) if len(bp) else "0.00000000", "bidQty": n.qty(bq[0]) if len(bq) else "0.00000000",
               "askPrice": n.price(ap[0]) if len(ap) else "0.00000000", "askQty": n.qty(aq[0]) if len(aq) else "0.00000000"}
        return json_response(out if params.get("symbol") else [out])

    # -- private --------------------------------------------------------------------------------
    async def account(self, request: web.Request) -> web.Response:
        await self._params(request, True)
        return json_response(self.venue.account())

    async def new_order(self, request: web.Request) -> web.Response:
        params = await self._params(request, True)
        rec, resp_type = await self.venue.place(params)
        if self.faults.roll("lose_order_response"):
            raise ConnectionLost()
        return json_response(self.venue.views.new_order(rec, resp_type))

    async def cancel_order(self, request: web.Request) -> web.Response:
        params = await self._params(request, True)
        rec = await self.venue.cancel(params)
        if self.faults.roll("lose_cancel_response"):
            raise ConnectionLost()
        return json_response(self.venue.views.cancelled(rec, params.get("newClientOrderId") or rec.client_order_id))

    async def get_order(self, request: web.Request) -> web.Response:
        params = await self._params(request, True)
        return json_response(self.venue.views.order(self.venue.query(params)))

    async def open_orders(self, request: web.Request) -> web.Response:
        params = await self._params(request, True)
        return json_response([self.venue.views.order(r) for r in self.venue.open_orders(params)])

    async def cancel_open_orders(self, request: web.Request) -> web.Response:
        params = await self._params(request, True)
        self.venue.check_symbol(params)
        done = []
        for rec in self.venue.open_orders(params):
            try:
                done.append(await self.venue.cancel({"symbol": params["symbol"], "orderId": str(rec.order_id)}))
            except errors.BinanceError:
                continue  # filled meanwhile
        if not done:
            raise errors.unknown_order()
        return json_response([self.venue.views.cancelled(r, r.client_order_id) for r in done])

    async def my_trades(self, request: web.Request) -> web.Response:
        params = await self._params(request, True)
        return json_response(self.venue.my_trades(params))

    # -- outside Binance's API ------------------------------------------------------------------
    async def faults_get(self, request: web.Request) -> web.Response:
        return json_response(self.faults.snapshot())

    async def faults_force(self, request: web.Request) -> web.Response:
        kind = request.query.get("kind", "")
        try:
            self.faults.force(kind, int(request.query.get("count", "1")))
        except ValueError as exc:
            return json_response({"error": str(exc)}, 400)
        return json_response(self.faults.snapshot())


def _limit(params: dict, default: int, maximum: int) -> int:
    text = params.get("limit", "")
    return min(max(int(text), 1), maximum) if text.isdigit() else default


def exchange_info(venue: BinanceVenue, weight_limit: int) -> dict:
    inst = venue.instrument
    n = venue.numbers
    return {
        "timezone": "UTC", "serverTime": now_ms(),
        "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": weight_limit},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "ORDERS", "interval": "DAY", "intervalNum": 1, "limit": 200000},
        ],
        "exchangeFilters": [],
        "symbols": [{
            "symbol": venue.symbol, "status": "TRADING",
            "baseAsset": inst.base, "baseAssetPrecision": 8, "quoteAsset": inst.quote, "quotePrecision": 8,
            "quoteAssetPrecision": 8, "baseCommissionPrecision": 8, "quoteCommissionPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
            "icebergAllowed": False, "ocoAllowed": False, "otoAllowed": False, "quoteOrderQtyMarketAllowed": True,
            "allowTrailingStop": False, "cancelReplaceAllowed": False, "amendAllowed": False,
            "isSpotTradingAllowed": True, "isMarginTradingAllowed": False,
            "filters": [
                {"filterType": "PRICE_FILTER", "minPrice": n.price(1), "maxPrice": "1000000.00000000",
                 "tickSize": n.price(1)},
                {"filterType": "LOT_SIZE", "minQty": n.qty(1), "maxQty": "9000.00000000", "stepSize": n.qty(1)},
                {"filterType": "MARKET_LOT_SIZE", "minQty": "0.00000000", "maxQty": "100.00000000",
                 "stepSize": "0.00000000"},
                {"filterType": "NOTIONAL", "minNotional": dec(inst.min_notional), "applyMinToMarket": True,
                 "maxNotional": "9000000.00000000", "applyMaxToMarket": False, "avgPriceMins": 5},
            ],
            "permissions": [], "permissionSets": [["SPOT"]],
            "defaultSelfTradePreventionMode": "NONE", "allowedSelfTradePreventionModes": ["NONE"],
        }],
    }
