"""Fingerprints of what each bench strategy does on the replay bench's recordings: the
venue's order and fill events and every log record, hashed per strategy.

Why: speed work on the per-order path must not change behaviour. Run it before a change
and after, and compare: equal hashes mean the same orders, states, prices, amounts, fills,
fees and log lines in the same order. Client order ids carry a random per-process session
part (app/domain/order.py), which is masked; everything else is hashed as it is. Their
sequence numbers run on across the strategies of one process, so compare runs of the same
strategies in the same order (the default: all three).

    python -m bench.replay_hashes            # every strategy
    python -m bench.replay_hashes pmm        # one
"""
from __future__ import annotations

import hashlib
import logging
import re
import sys
from typing import Any

from bench.bench_replay import LATENCY_NS, load, make_strategy

STRATEGIES = ("simple", "pmm", "avellaneda_stoikov")
_SESSION = re.compile(r"cb[0-9a-z]{8}")


class _Lines(logging.Handler):
    """Keeps every log record as one line (logger, level, message)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.levelname} {record.getMessage()}")


def _event_line(event: Any) -> str:
    """One venue event as text: every field of the order (and of the fill, if any)."""
    from app.domain import OrderFilled, OrderUpdated

    order = event.order
    head = (f"{type(event).__name__} {order.client_order_id} {order.side.value} {order.type.value} "
            f"{order.price_ticks} {order.amount_lots} {order.status.value} {order.filled_lots} "
            f"{order.reason!r} {order.updated_ns} {order.exchange_order_id}")
    if isinstance(event, OrderUpdated):
        change = event.change
        tail = "" if change is None else (f" change {change.status.value} {change.ts_ns} {change.filled_lots} "
                                           f"{change.reason!r} {change.exchange_order_id}")
        return f"{head} at {event.ts_ns}{tail}"
    assert isinstance(event, OrderFilled)
    f = event.fill
    return (f"{head} fill {f.trade_id} {f.side.value} {f.price} {f.amount} {f.fee} {f.fee_asset} "
            f"{f.is_maker} {f.ts_ns}")


def fingerprint(strategy_name: str, data: tuple) -> dict[str, Any]:
    """One full replay of a strategy, as bench_replay.run_ours runs it, recording the
    venue's order events and the log."""
    from app.config.bot_config import DEFAULT_BALANCES
    from app.domain import CancelRejected, OrderFilled, OrderUpdated
    from app.engine.bot import Bot
    from app.interfaces.clock import SimClock
    from connectors.paper.connector import PaperConnector
    from connectors.replay.feed import ReplayFeed

    events, meta, units = data
    lines = _Lines()
    root = logging.getLogger()
    old_level = root.level
    quiet = logging.getLogger("colibri")
    old_quiet = quiet.level
    root.addHandler(lines)
    root.setLevel(logging.DEBUG)
    quiet.setLevel(logging.DEBUG)
    seen: list[str] = []

    def record(event: Any) -> None:
        if isinstance(event, CancelRejected):
            seen.append(f"CancelRejected {event.client_order_id} {event.reason!r} {event.ts_ns}")
        else:
            seen.append(_event_line(event))

    try:
        clock = SimClock(int(events["ts_ns"][0]))
        feed = ReplayFeed(events, meta, clock, speed=1.0, on_finished=clock.stop, units=units)
        connector = PaperConnector(feed, DEFAULT_BALANCES, clock, order_latency_ns=LATENCY_NS,
                                   cancel_latency_ns=LATENCY_NS)
        connector.add_listener(record, (OrderUpdated, OrderFilled, CancelRejected))
        bot = Bot("bench", connector, meta.instrument.symbol, make_strategy(strategy_name))
        for part in (feed, connector, bot):
            part.start()
        clock.run()
        done: list[bool] = []
        bot.stop(lambda: done.append(True))
        limit = clock.now_ns() + 60_000_000_000
        while not done and clock.now_ns() < limit and clock.pending():
            clock.run(until_ns=clock.now_ns() + 100_000_000)
        connector.stop()
    finally:
        root.removeHandler(lines)
        root.setLevel(old_level)
        quiet.setLevel(old_quiet)
    event_text = _SESSION.sub("cb<session>", "\n".join(seen))
    log_text = _SESSION.sub("cb<session>", "\n".join(lines.lines))
    return {
        "events": len(seen),
        "events_sha": hashlib.sha256(event_text.encode()).hexdigest()[:16],
        "log_lines": len(lines.lines),
        "log_sha": hashlib.sha256(log_text.encode()).hexdigest()[:16],
        "fills": bot.pnl.fills,
        "base_delta": str(bot.pnl.base_delta),
    }


def main(names: list[str]) -> None:
    data = load()
    if data is None:
        sys.exit("real recording not found (set COLIBRI_DATA_DIR)")
    for name in names or STRATEGIES:
        if name not in STRATEGIES:
            sys.exit(f"unknown strategy {name!r}: one of {', '.join(STRATEGIES)}")
        r = fingerprint(name, data)
        print(f"{name}: events {r['events']} {r['events_sha']}, log {r['log_lines']} {r['log_sha']}, "
              f"fills {r['fills']}, inventory {r['base_delta']}")


if __name__ == "__main__":
    main(sys.argv[1:])
