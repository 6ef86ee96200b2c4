"""Runs every benchmark in one process and prints their figures: `python -m bench`.

Each benchmark module has `main() -> dict` and prints its own table; a module can also be
run alone (`python -m bench.bench_orderbook`). Pass names to run a subset:
`python -m bench orderbook matching`.
"""
from __future__ import annotations

import importlib
import json
import platform
import sys
import time

ALL = ("orderbook", "matching", "replay", "ingest", "roundtrip", "ui_views", "app")  # app: 10 min (1 with COLIBRI_BENCH_QUICK=1)


def machine() -> str:
    import os

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def main(argv: list[str]) -> int:
    names = argv or list(ALL)
    print(f"machine: {machine()}")
    results = {}
    for name in names:
        module = importlib.import_module(f"bench.bench_{name}")
        print(f"\n=== {name} ===")
        start = time.perf_counter()
        results[name] = module.main()
        print(f"({time.perf_counter() - start:.1f} s)")
    print("\nall figures:")
    print(json.dumps(results, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
