"""`python main.py exchange soak`: the fault soak (app/wiring/soak.py) from the command line."""
from __future__ import annotations

import argparse
import math


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0 or value > 1_000_000:
        raise argparse.ArgumentTypeError(f"expected 0 to 1000000, got {text!r}")
    return value


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes, got {text!r}") from None
    if not math.isfinite(value) or value <= 0 or value > 24 * 60:
        raise argparse.ArgumentTypeError(f"expected minutes (finite, > 0, at most a day), got {text!r}")
    return value


def add_soak_parser(exchange_sub: argparse._SubParsersAction) -> None:
    soak = exchange_sub.add_parser(
        "soak", help="trade through faults and SIGKILLs against the local exchange; compare its record with the journal",
        description="Runs `exchange serve` and a quoting bot (`run --journal --on-restart resume`) in other "
                    "processes, injects FAULTS faults spread evenly over every kind (dropped websockets, delayed "
                    "and reordered messages, skipped depth updates, 429, 418, 5xx, timeouts, lost order and "
                    "cancel answers), SIGKILLs the bot KILLS times and restarts it, then compares. Exit 1 on "
                    "any discrepancy.")
    soak.add_argument("--faults", type=_count, default=90, help="faults in all, spread over every kind (default 90)")
    soak.add_argument("--kills", type=_count, default=3, help="SIGKILLs of the bot process (default 3)")
    soak.add_argument("--seed", type=_count, default=1, help="seed of the fault and kill times (default 1)")
    soak.add_argument("--minutes", type=_minutes, default=3.0, help="length of the run (default 3)")
    soak.add_argument("--work-dir", help="keep the exchange state, journal and logs here (default: a temp dir)")
    soak.set_defaults(func=cmd_soak)


def cmd_soak(args: argparse.Namespace) -> int:
    from pathlib import Path

    from app.wiring.soak import run_soak

    result = run_soak(faults=args.faults, kills=args.kills, seed=args.seed, minutes=args.minutes,
                      work_dir=Path(args.work_dir) if args.work_dir else None)
    return 0 if result.ok else 1
