"""`data record`: what it writes is what `data verify` and `data info` read, a stopped
recorder leaves a valid gzip file, and bad input is one line with exit status 2. Recorded
from the local Binance-protocol server (it serves depth, trades and bookTicker)."""
from __future__ import annotations

import asyncio
import gzip
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from app.data.info import describe_recording
from app.data.verify import verify_recordings
from connectors.ccxt.binance_stream import binance_endpoints
from app.record_cli import find_market, make_exchange
from connectors.ccxt.recorder import BinanceRecorder
from connectors.local_exchange import LocalExchangeServer

ROOT = Path(__file__).resolve().parents[1]


def colibri(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=120)


def read_lines(path: Path) -> list[tuple[int, dict]]:
    with gzip.open(path, "rb") as handle:  # reads to the end: CRC and length are checked
        rows = [line.split(b" ", 1) for line in handle.read().splitlines()]
    return [(int(ts), orjson.loads(body)) for ts, body in rows]


def test_a_recording_verifies_exactly_against_the_servers_book_tickers(tmp_path):
    out = tmp_path / "spot.gz"

    async def record():
        async with LocalExchangeServer() as server:
            exchange = make_exchange("binance", server.url)
            await exchange.load_markets()
            market = find_market(exchange, "BTCUSDT")
            endpoints = binance_endpoints(exchange, market)
            await exchange.close()
            return await BinanceRecorder(endpoints, market["id"], out).run(asyncio.Event(), 5.0)

    stats = asyncio.run(record())
    assert stats.kinds.get("snapshot") == 1 and stats.kinds.get("depth", 0) > 10
    assert stats.kinds.get("bookTicker", 0) > 0 and stats.kinds.get("trade", 0) > 0
    lines = read_lines(out)
    assert len(lines) == stats.lines
    first_diff = next(i for i, (_, m) in enumerate(lines) if m.get("stream", "").endswith("@depth@100ms"))
    snapshot = next(i for i, (_, m) in enumerate(lines) if "lastUpdateId" in m)
    assert first_diff < snapshot  # fetched after the first diff was in the file, as Binance says
    assert all(a <= b for (a, _), (b, _) in zip(lines, lines[1:]))
    report = verify_recordings([out], use_cache=False)
    assert report.ok, report.summary()
    assert report.checks > 0 and report.price_mismatches == 0 and report.snapshots == 1 and report.gaps == 0
    info = describe_recording([out], use_cache=False)
    assert "1 snapshot(s)" in info and "0 gap(s)" in info and "BTCUSDT" in info


@pytest.fixture(scope="module")
def server_url():
    proc = subprocess.Popen([sys.executable, "main.py", "exchange", "serve"], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("url: "), line
        yield line.split()[1]
    finally:
        proc.terminate()
        proc.wait(10)


def test_sigterm_ends_the_file_cleanly(tmp_path, server_url):
    out = tmp_path / "live.gz"
    proc = subprocess.Popen([sys.executable, "main.py", "data", "record", "--exchange", "binance", "--symbol",
                             "BTC/USDT", "--out", str(out), "--url", server_url], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().startswith("recording binance BTC/USDT")
        time.sleep(3.0)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr
    assert "recorded" in stdout
    lines = read_lines(out)
    assert any("lastUpdateId" in m for _, m in lines) and len(lines) > 10
    assert verify_recordings([out], use_cache=False).snapshots == 1


@pytest.mark.parametrize("args, says", [
    (["--exchange", "nosuchexchange", "--symbol", "BTC/USDT"], "ccxt does not know 'nosuchexchange'"),
    (["--exchange", "kraken", "--symbol", "BTC/USD"], "kraken is not of the Binance family"),
    (["--exchange", "binance", "--symbol", "BTC/USDT", "--duration", "-1"], "expected a number of seconds"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, says):
    result = colibri("data", "record", "--out", str(tmp_path / "x.gz"), *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: ") and says in result.stderr
    assert not (tmp_path / "x.gz").exists()


def test_unknown_symbol_says_what_is_listed(tmp_path, server_url):
    result = colibri("data", "record", "--exchange", "binance", "--symbol", "DOGE/USDT", "--out",
                     str(tmp_path / "x.gz"), "--url", server_url)
    assert result.returncode == 2, result.stderr
    assert result.stderr == "error: --symbol: binance does not list 'DOGE/USDT' (it lists: BTC/USDT)\n"
    assert not (tmp_path / "x.gz").exists()


def test_unwritable_out_is_refused_before_recording(tmp_path, server_url):
    result = colibri("data", "record", "--exchange", "binance", "--symbol", "BTC/USDT", "--out",
                     str(tmp_path / "missing" / "x.gz"), "--url", server_url, "--duration", "1")
    assert result.returncode == 2
    assert result.stderr.startswith("error: --out: cannot write") and result.stderr.count("\n") == 1
    assert "recording" not in result.stdout
