"""The fault soak: a quoting bot trades through the ccxt connector against the local
exchange in another process while faults are injected and the bot is SIGKILLed and
restarted; then the exchange's own record is compared with the bot's journal.

Everything real: `exchange serve --state` in one process (its SQLite state is the
exchange's record), `run --journal --on-restart resume` in another (keys in an encrypted
key file chosen explicitly, never plaintext), faults forced through the server's
/colibri/faults endpoint at random moments, SIGKILLs at random moments, a restart that
recovers from the journal. At the end the bot is stopped normally (SIGTERM) and:

- lost: orders the exchange has that the journal never heard of, and own trades of ours
  on the exchange that the journal has no fill for;
- orphaned: orders of ours still open on the exchange after the final stop;
- double-counted: journal fills the exchange has no trade for, or orders the journal says
  filled more than the exchange executed;
- stale quotes: orders whose intent was recorded while the bot's book was stale.

The last line: `faults F, kills K, orders N, fills M, lost 0, orphaned 0, double-counted 0,
stale quotes 0`; any non-zero discrepancy makes the exit status 1.
"""
from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from app.own_commands import colibri_command
KINDS = ("drop_ws", "reorder", "skip_depth", "http429", "http418", "http5xx", "timeout",
         "lose_order_response", "lose_cancel_response")
REST_KINDS = frozenset({"http429", "http418", "http5xx", "timeout", "lose_order_response", "lose_cancel_response"})
KEY, SECRET = "soakkey0123456789abcdef", "soaksecret0123456789abcdef0123"
PASSPHRASE = "soak-keystore-passphrase"


@dataclass
class SoakResult:
    faults: int = 0
    kills: int = 0
    orders: int = 0
    fills: int = 0
    lost: int = 0
    orphaned: int = 0
    double_counted: int = 0
    stale_quotes: int = 0
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.lost or self.orphaned or self.double_counted or self.stale_quotes)

    def line(self) -> str:
        return (f"faults {self.faults}, kills {self.kills}, orders {self.orders}, fills {self.fills}, "
                f"lost {self.lost}, orphaned {self.orphaned}, double-counted {self.double_counted}, "
                f"stale quotes {self.stale_quotes}")


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(COLIBRI_HOME=str(home), COLIBRI_KEYSTORE="encrypted-file", COLIBRI_KEYSTORE_PASSPHRASE=PASSPHRASE,
               PYTHONUNBUFFERED="1")
    env.pop("DISPLAY", None)
    return env


def _main(*args: str) -> list[str]:
    return colibri_command(*args)


def _start_server(work: Path, env: dict[str, str], seed: int) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen(
        _main("exchange", "serve", "--port", "0", "--seed", str(seed), "--key", KEY, "--secret", SECRET,
              "--state", str(work / "exchange"), "--faults", "hold_ms=11000,retry_after=1"),
        env=env, stdout=subprocess.PIPE, stderr=open(work / "exchange.log", "w"), text=True)
    assert server.stdout is not None
    url = ""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not url:
        line = server.stdout.readline()
        if not line:
            break
        if line.startswith("url:"):
            url = line.split()[1]
    if not url:
        server.kill()
        raise RuntimeError(f"the local exchange did not start (see {work / 'exchange.log'})")
    return server, url


def _configure(work: Path, env: dict[str, str], url: str) -> Path:
    subprocess.run(_main("keys", "set", "soak", "--exchange", "binance", "--url", url, "--symbols", "BTC/USDT",
                         "--stdin"), input=f"{KEY}\n{SECRET}\n", env=env, check=True, capture_output=True, text=True)
    config = work / "soak.yaml"
    config.write_text(
        "name: soak-quoter\n"
        "venue: {kind: ccxt, exchange_account: soak, order_rate: 20}\n"
        "symbol: BTC/USDT\n"
        "strategy: {name: simple_quoter, params: {order_amount: 0.002, bid_spread_bps: 0, ask_spread_bps: 0,\n"
        "  order_levels: 2, level_step_bps: 0.5, refresh_seconds: 2, refresh_tolerance_bps: 0.2}}\n")
    return config


def _start_bot(work: Path, env: dict[str, str], config: Path, n: int) -> subprocess.Popen:
    """The bot runs until the soak stops it (SIGTERM: orders cancelled) or kills it."""
    return subprocess.Popen(
        _main("run", "--config", str(config), "--journal", str(work / "journal.sqlite"), "--on-restart", "resume"),
        env=env, stdout=open(work / f"bot-{n}.log", "w"), stderr=subprocess.STDOUT)


def _force(url: str, kind: str) -> None:
    request = urllib.request.Request(f"{url}/colibri/faults?kind={kind}&count=1", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=5):
        pass


def _rest_pending(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/colibri/faults", timeout=5) as response:
        pending = json.loads(response.read()).get("forced_pending", {})
    return any(kind in REST_KINDS and count for kind, count in pending.items())


def _injected(url: str) -> dict[str, int]:
    """Faults that fired so far, by kind (a forced fault waits for its chance: an order, a
    cancel, a request, a message)."""
    with urllib.request.urlopen(f"{url}/colibri/faults", timeout=5) as response:
        data = json.loads(response.read())
    counts = data.get("injected", data)
    return {k: int(v) for k, v in counts.items() if k in KINDS}


def run_soak(*, faults: int, kills: int, seed: int, minutes: float, work_dir: Path | None = None,
             out=None) -> SoakResult:  # noqa: ANN001 - a text stream; sys.stdout (as it is at call time) by default
    out = out or sys.stdout
    rng = random.Random(seed)
    work = Path(work_dir or tempfile.mkdtemp(prefix="colibri-soak-"))
    work.mkdir(parents=True, exist_ok=True)
    env = _env(work / "home")
    server, url = _start_server(work, env, seed)
    result = SoakResult()
    bot: subprocess.Popen | None = None
    try:
        config = _configure(work, env, url)
        total = minutes * 60.0
        start = time.monotonic()
        plan = sorted([(rng.uniform(0.1, 0.9) * total, "fault", KINDS[i % len(KINDS)]) for i in range(faults)]
                      + [(rng.uniform(0.15, 0.85) * total, "kill", "") for _ in range(kills)])
        out.write(f"soak: {faults} faults, {kills} kills over {total:.0f} s; exchange {url}; work dir {work}\n")
        out.flush()
        runs = 0
        bot = _start_bot(work, env, config, runs)
        # REST faults wait for a request to fire on and are checked in a fixed order by the
        # server, so they are forced one at a time (the next once the last has fired):
        # piled up, the first kinds would take every request and starve the order faults.
        deferred: list[str] = []
        deadline = start + total + max(30.0, total / 2)
        while True:
            now = time.monotonic() - start
            while plan and plan[0][0] <= now:
                _at, what, kind = plan.pop(0)
                if what == "kill":
                    bot.send_signal(signal.SIGKILL)
                    bot.wait()
                    result.kills += 1
                    runs += 1
                    bot = _start_bot(work, env, config, runs)
                elif kind in REST_KINDS:
                    deferred.append(kind)
                else:
                    _force(url, kind)
            if deferred and not _rest_pending(url):
                _force(url, deferred.pop(0))
            if not plan and now >= total and (
                    (not deferred and sum(_injected(url).values()) >= faults) or time.monotonic() > deadline):
                break
            if bot.poll() is not None:  # a run that ended by itself (an error) restarts, as a supervisor would
                result.details.append(f"run {runs} ended by itself with status {bot.returncode} (see bot-{runs}.log)")
                runs += 1
                bot = _start_bot(work, env, config, runs)
            time.sleep(0.25)
        bot.send_signal(signal.SIGTERM)  # the normal end: every order cancelled
        try:
            bot.wait(timeout=120)
        except subprocess.TimeoutExpired:
            bot.kill()
            result.details.append("the bot did not stop within 120 s of SIGTERM")
        time.sleep(1.0)  # the exchange writes its last reports
        fired = _injected(url)
        result.faults = sum(fired.values())
        out.write("  faults fired by kind: " + ", ".join(f"{k} {v}" for k, v in fired.items()) + "\n")
        _compare(work, result)
    finally:
        if bot is not None and bot.poll() is None:
            bot.kill()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    for detail in result.details[:20]:
        out.write(f"  {detail}\n")
    out.write(result.line() + "\n")
    out.flush()
    return result


def _compare(work: Path, result: SoakResult) -> None:
    from connectors.local_exchange.state import FILE_NAME

    exchange = sqlite3.connect(f"file:{work / 'exchange' / FILE_NAME}?mode=ro", uri=True)
    journal = sqlite3.connect(f"file:{work / 'journal.sqlite'}?mode=ro", uri=True)
    try:
        ex_orders = {cid: (bool(is_open), json.loads(data)) for cid, is_open, data in exchange.execute(
            "SELECT client_order_id, open, data FROM orders") if cid.startswith("cb")}
        ex_trades = {str(json.loads(data)["id"]): json.loads(data) for (data,) in exchange.execute("SELECT data FROM trades")}
        ex_order_ids = {data["order_id"]: cid for cid, (_o, data) in ex_orders.items()}
        ours = {tid: t for tid, t in ex_trades.items() if t["orderId"] in ex_order_ids}
        j_orders = {cid: (status, Decimal(filled)) for cid, status, filled in journal.execute(
            "SELECT client_order_id, status, filled FROM orders")}
        j_fills = {str(tid): (cid, Decimal(amount)) for tid, cid, amount in journal.execute(
            "SELECT trade_id, client_order_id, amount FROM fills")}
        result.orders, result.fills = len(ex_orders), len(ours)
        for cid in ex_orders.keys() - j_orders.keys():
            result.lost += 1
            result.details.append(f"lost: order {cid} is on the exchange, not in the journal")
        for tid in ours.keys() - j_fills.keys():
            result.lost += 1
            result.details.append(f"lost: trade {tid} of order {ex_order_ids[ours[tid]['orderId']]} not journaled")
        for cid, (is_open, data) in ex_orders.items():
            if is_open:
                result.orphaned += 1
                result.details.append(f"orphaned: order {cid} still open on the exchange ({data.get('status')})")
        for tid in j_fills.keys() - ours.keys():
            result.double_counted += 1
            result.details.append(f"double-counted: journal fill {tid} has no trade on the exchange")
        executed: dict[str, Decimal] = {}
        for t in ours.values():
            cid = ex_order_ids[t["orderId"]]
            executed[cid] = executed.get(cid, Decimal(0)) + Decimal(str(t["qty"]))
        for cid, (_status, filled) in j_orders.items():
            if filled > executed.get(cid, Decimal(0)):
                result.double_counted += 1
                result.details.append(f"double-counted: journal says {cid} filled {filled}, "
                                      f"the exchange executed {executed.get(cid, 0)}")
        result.stale_quotes = _stale_quotes(journal, result.details)
    finally:
        exchange.close()
        journal.close()


def _stale_quotes(journal: sqlite3.Connection, details: list[str]) -> int:
    """Intents recorded between a bot's book_stale and its next book_resynced record."""
    windows: list[tuple[int, int]] = []
    opened: dict[int, int] = {}
    for session, ts, kind in journal.execute(
            "SELECT session, ts_ns, kind FROM records WHERE kind IN ('book_stale', 'book_resynced') ORDER BY id"):
        if kind == "book_stale" and session not in opened:
            opened[session] = ts
        elif kind == "book_resynced" and session in opened:
            windows.append((opened.pop(session), ts))
    stale = 0
    for cid, ts in journal.execute("SELECT client_order_id, ts_ns FROM order_events WHERE source = 'intent'"):
        if any(a <= ts < b for a, b in windows):
            stale += 1
            details.append(f"stale quote: {cid} sent while the book was stale")
    return stale
