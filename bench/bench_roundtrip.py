"""Order round trip on loopback: place -> acknowledgement, ours through the CcxtConnector
against a bare ccxt `create_order` on the same server. `python -m bench roundtrip [N]`.

The server is the local Binance-protocol exchange (connectors/local_exchange) in its own
process, so its work lands on the other core. In this process, alternately:
- ours: `CcxtConnector.place_order` until the OrderUpdated event saying OPEN reaches a
  listener (ccxt's REST create underneath, our client id, the state machine, the event
  dispatch; the user stream and depth stream run as in a live session);
- ccxt: `await exchange.create_order(...)` with a client id, on its own ccxt.pro.binance.
Both with ccxt's rate limiter OFF (`enableRateLimit: False`; on, it would space requests and
measure its pacing, not the round trip) and our own order budget opened wide. N limit buys
at half the market price (never filled), each cancelled and confirmed before the next
order; the cancel is not timed. Ratio = ccxt / ours: above 1 means ours acknowledges sooner.
"""
from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

ORDERS = 200
WARMUP = 10
SERVER = ("import asyncio; from connectors.local_exchange.server import LocalExchangeServer, serve; "
          "asyncio.run(serve(LocalExchangeServer(weight_limit=10**7)))")


def start_server() -> tuple[subprocess.Popen, dict[str, str]]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[1])
    info = {}
    for _ in range(3):  # url, key, secret
        key, _, value = (proc.stdout.readline() if proc.stdout else "").strip().partition(": ")
        info[key] = value
    if not info.get("url", "").startswith("http"):
        proc.kill()
        raise RuntimeError(f"the local exchange did not start: {info}")
    return proc, info


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def measure(server: dict[str, str], n: int) -> tuple[list[float], list[float]]:
    import ccxt.pro as ccxtpro

    from app.domain import OrderStatus, OrderType, OrderUpdated, Side, new_client_order_id
    from app.interfaces.clock import RealClock
    from connectors.ccxt.connector import CcxtConnector
    from connectors.ccxt.rate_budget import RateBudget
    from connectors.local_exchange.ccxt_client import point_ccxt_at

    def client():
        return point_ccxt_at(ccxtpro.binance({"apiKey": server["key"], "secret": server["secret"],
                                              "enableRateLimit": False}), server["url"])

    symbol = "BTC/USDT"
    conn = CcxtConnector("bench", client(), RealClock(asyncio.get_running_loop()), symbols=[symbol],
                         budget=RateBudget(per_second=1e6, burst=1_000_000))
    peer = client()
    waiting: dict[str, tuple[OrderStatus, asyncio.Future]] = {}

    def on_event(event) -> None:
        if type(event) is OrderUpdated:
            wanted = waiting.get(event.order.client_order_id)
            if wanted is not None and not wanted[1].done() and event.order.status in (wanted[0], OrderStatus.REJECTED,
                                                                                     OrderStatus.FAILED):
                wanted[1].set_result(event.order.status)

    conn.add_listener(on_event)
    ours, theirs = [], []
    try:
        await conn.connect()
        await peer.load_markets()
        feed = conn.feed(symbol)
        for _ in range(500):
            if not feed.is_stale and feed.book.best_bid_ticks:
                break
            await asyncio.sleep(0.02)
        inst = conn.instruments[symbol]
        price = inst.ticks_to_price(feed.book.best_bid_ticks) / 2
        price_ticks = inst.price_to_ticks(str(price.quantize(Decimal("0.01"))))
        amount = Decimal("0.001")
        lots = inst.amount_to_lots("0.001")
        loop = asyncio.get_running_loop()

        async def until(cid: str, status: OrderStatus) -> None:
            future = loop.create_future()
            waiting[cid] = (status, future)
            got = await asyncio.wait_for(future, 10)
            waiting.pop(cid, None)
            assert got is status, f"{cid}: {got.value}, expected {status.value}"

        for i in range(WARMUP + n):
            cid = new_client_order_id()
            future = loop.create_future()
            waiting[cid] = (OrderStatus.OPEN, future)
            start = time.perf_counter()
            conn.place_order(symbol, Side.BUY, OrderType.LIMIT, lots, price_ticks, client_order_id=cid)
            got = await asyncio.wait_for(future, 10)
            elapsed = time.perf_counter() - start
            assert got is OrderStatus.OPEN, f"{cid}: {got.value}"
            cancelled = until(cid, OrderStatus.CANCELLED)
            conn.cancel_order(cid)
            await cancelled

            start = time.perf_counter()
            answer = await peer.create_order(symbol, "limit", "buy", amount, price, {"clientOrderId": new_client_order_id()})
            peer_elapsed = time.perf_counter() - start
            assert answer["status"] == "open", answer["status"]
            await peer.cancel_order(answer["id"], symbol)
            if i >= WARMUP:
                ours.append(elapsed * 1e3)
                theirs.append(peer_elapsed * 1e3)
    finally:
        await conn.disconnect()
        await peer.close()
    return ours, theirs


def main(n: int = ORDERS) -> dict:
    proc, server = start_server()
    try:
        ours, theirs = asyncio.run(measure(server, n))
    finally:
        proc.terminate()
        proc.wait(10)
    rows = {"ours": ours, "ccxt": theirs}
    print(f"{n} limit orders each (+{WARMUP} warm-up), place -> acknowledged, local exchange in another process, "
          "ccxt rate limiter off")
    print(f"  {'client':<48}{'median ms':>10}{'p90 ms':>9}{'min ms':>9}")
    labels = {"ours": "Colibri CcxtConnector.place_order -> OPEN event", "ccxt": "ccxt.pro.binance create_order"}
    for key, values in rows.items():
        print(f"  {labels[key]:<48}{statistics.median(values):>10.2f}{percentile(values, 0.9):>9.2f}"
              f"{min(values):>9.2f}")
    med_ours, med_ccxt = statistics.median(ours), statistics.median(theirs)
    ratio = med_ccxt / med_ours
    print(f"roundtrip: ours {med_ours:.2f} ms, ccxt {med_ccxt:.2f} ms, ratio {ratio:.2f} (ccxt / ours, medians)")
    return {"orders": n, "ours_median_ms": med_ours, "ours_p90_ms": percentile(ours, 0.9), "ccxt_median_ms": med_ccxt,
            "ccxt_p90_ms": percentile(theirs, 0.9), "ratio_ccxt_over_ours": ratio}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else ORDERS)
