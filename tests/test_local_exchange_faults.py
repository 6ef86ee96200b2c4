"""Fault injection of the rehearsal exchange, each kind forced once, and its command line."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import ccxt
import pytest

pytest.importorskip("connectors.demo.matching")

from connectors.local_exchange import FaultInjector, parse_fault_spec  # noqa: E402
from tests.local_exchange_support import SYMBOL, client, run  # noqa: E402

pytestmark = pytest.mark.timeout(120)
ROOT = Path(__file__).resolve().parents[1]


def test_fault_spec_parsing_and_seeded_rolls():
    probs, settings = parse_fault_spec("drop_ws=0.01,delay_ms=50,reorder=0.02,skip_depth=0.001,http429=0.01,"
                                       "http418=0.001,http5xx=0.01,timeout=0.01,lose_order_response=0.01,"
                                       "lose_cancel_response=0.01,seed=3")
    assert probs["drop_ws"] == 0.01 and settings["delay_ms"] == 50 and settings["seed"] == 3
    for bad in ("drop_ws=2", "nope=0.1", "http429", "delay_ms=-1", "seed=1.5", "timeout=nan"):
        with pytest.raises(ValueError):
            parse_fault_spec(bad)
    a, b = FaultInjector("http5xx=0.3,seed=5"), FaultInjector("http5xx=0.3,seed=5")
    assert [a.roll("http5xx") for _ in range(200)] == [b.roll("http5xx") for _ in range(200)]
    assert 30 < a.injected["http5xx"] < 90
    a.force("drop_ws", 2)
    assert [a.roll("drop_ws") for _ in range(3)] == [True, True, False]


def test_lost_order_and_cancel_responses_and_timeouts():
    async def scenario(server):
        async with client(server, timeout=500) as ex:
            await ex.load_markets()
            bid = (await ex.fetch_order_book(SYMBOL, 5))["bids"][0][0]
            server.faults.force("lose_order_response")
            with pytest.raises(ccxt.NetworkError):  # ExchangeNotAvailable: no answer
                await ex.create_order(SYMBOL, "limit", "buy", 0.001, round(bid - 300, 2), {"clientOrderId": "lost-1"})
            placed = await ex.fetch_order(None, SYMBOL, {"origClientOrderId": "lost-1"})
            assert placed["status"] == "open"  # the order IS there
            server.faults.force("lose_cancel_response")
            with pytest.raises(ccxt.NetworkError):
                await ex.cancel_order(placed["id"], SYMBOL)
            assert (await ex.fetch_order(placed["id"], SYMBOL))["status"] == "canceled"
            server.faults.force("timeout")
            with pytest.raises(ccxt.RequestTimeout):
                await ex.fetch_order_book(SYMBOL)
            server.faults.force("lose_order_response")  # the websocket API loses it too
            with pytest.raises(ccxt.NetworkError):
                await ex.create_order_ws(SYMBOL, "limit", "buy", 0.001, round(bid - 300, 2), {"clientOrderId": "lost-2"})
            assert (await ex.fetch_order(None, SYMBOL, {"origClientOrderId": "lost-2"}))["status"] == "open"
        async with aiohttp.ClientSession() as http:
            async with http.get(server.url + "/colibri/faults") as r:
                counts = (await r.json())["injected"]
            async with http.post(server.url + "/colibri/faults?kind=http5xx&count=2") as r:
                assert (await r.json())["forced_pending"] == {"http5xx": 2}
        assert counts["lose_order_response"] == 2 and counts["lose_cancel_response"] == 1 and counts["timeout"] == 1
        return True

    assert run(scenario, faults="hold_ms=1500")


def test_websocket_faults_drop_skip_reorder_delay():
    async def scenario(server):
        sym = server.venue.symbol.lower()
        url = server.url.replace("http", "ws") + f"/stream?streams={sym}@depth@100ms"
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(url) as ws:
                last = (await ws.receive_json(timeout=5))["data"]["u"]
                server.faults.force("skip_depth")
                nxt = (await ws.receive_json(timeout=5))["data"]
                assert nxt["U"] > last + 1  # one diff skipped: a gap in U/u
                server.faults.force("reorder")
                a = (await ws.receive_json(timeout=5))["data"]
                b = (await ws.receive_json(timeout=5))["data"]
                assert a["U"] > b["u"]  # the held message came after the next one
                server.faults.force("drop_ws")
                msg = await ws.receive(timeout=5)
                assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
            server.faults.delay_s = 0.3
            async with http.ws_connect(url) as ws:
                first = (await ws.receive_json(timeout=5))["data"]
                assert server.venue.update_id > first["u"]  # it left the server a while ago
        async with client(server) as ex:  # ccxt reconnects after a dropped socket
            server.faults.delay_s = 0
            await ex.watch_order_book(SYMBOL)
            server.faults.force("drop_ws")
            with pytest.raises(ccxt.NetworkError):
                for _ in range(20):
                    await ex.watch_order_book(SYMBOL)
            book = await ex.watch_order_book(SYMBOL)
            assert book["bids"] and book["asks"]
        snap = server.faults.snapshot()["injected"]
        assert snap["skip_depth"] == snap["reorder"] == 1 and snap["drop_ws"] == 2
        return True

    assert run(scenario)


def test_cli_serves_until_sigterm(tmp_path):
    key, secret = "clikey1234567890", "clisecret1234567890"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "main.py"), "exchange", "serve", "--port", "0", "--key", key, "--secret", secret,
         "--state", str(tmp_path / "st")],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    try:
        lines = [proc.stdout.readline().strip() for _ in range(3)]
        assert lines[0].startswith("url: http://127.0.0.1:") and lines[1] == f"key: {key}" \
            and lines[2] == f"secret: {secret}"
        url = lines[0].split(" ", 1)[1]

        async def trade():
            import ccxt.pro as ccxtpro

            from connectors.local_exchange.ccxt_client import point_ccxt_at

            ex = point_ccxt_at(ccxtpro.binance({"apiKey": key, "secret": secret}), url)
            try:
                await ex.load_markets()
                order = await ex.create_order(SYMBOL, "market", "buy", 0.001)
                return order["status"]
            finally:
                await ex.close()

        assert asyncio.run(trade()) == "closed"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert (tmp_path / "st" / "exchange.sqlite3").is_file()


@pytest.mark.parametrize("argv, message", [
    (["--port", "70000"], "port number"),
    (["--key", "abcdefgh12"], "--key and --secret together"),
    (["--faults", "bogus=1"], "unknown fault"),
    (["--seed", "x"], "whole number"),
])
def test_cli_bad_input_is_one_line(argv, message):
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "exchange", "serve", *argv], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and message in result.stderr
