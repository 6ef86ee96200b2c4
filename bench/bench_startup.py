"""Start-up: launch to the main window shown and to the first book, bundled vs from source.

Both run `--self-test` (the same window, the same demo exchange), which times each step
from the process's launch (ui/self_test.py), on a real X server as a user's launch does
(under xvfb-run when there is no display: the start then includes the child process that
checks Qt can start, which offscreen runs skip); best of N runs each, alternating, with a
warm disk cache (one run of each first, not counted). The bundle is dist/colibri (make
bundle); without it the bench says so and fails.

    .venv/bin/python -m bench.bench_startup [RUNS]
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "dist" / "colibri" / "colibri"
TARGET_S = 2.0
WINDOW = re.compile(r"ok   window: shown ([0-9.]+) s after launch")
BOOK = re.compile(r"ok   first book: .* ([0-9.]+) s after launch")


def _env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTHON")}
    env.pop("QT_QPA_PLATFORM", None)
    if not env.get("DBUS_SESSION_BUS_ADDRESS"):
        env.update(COLIBRI_KEYSTORE="encrypted-file", COLIBRI_KEYSTORE_PASSPHRASE="bench passphrase")
    return env


def _on_a_display(command: list[str]) -> list[str]:
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return command
    if shutil.which("xvfb-run") is None:
        raise SystemExit("startup: no display and no xvfb-run (apt-get install xvfb)")
    return ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", *command]


def one_run(command: list[str]) -> tuple[float, float]:
    result = subprocess.run([*_on_a_display(command), "--self-test"], cwd=ROOT, env=_env(), capture_output=True, text=True,
                            timeout=300)
    window, book = WINDOW.search(result.stdout), BOOK.search(result.stdout)
    if not window or not book:
        raise RuntimeError(f"{command[0]}: no start-up times in its self-test:\n{result.stdout}{result.stderr}")
    return float(window.group(1)), float(book.group(1))


def main(runs: int = 5) -> dict:
    if not BUNDLE.is_file():
        print(f"startup: no bundle at {BUNDLE} (make bundle builds it)")
        raise SystemExit(1)
    commands = {"bundled": [str(BUNDLE)], "source": [sys.executable, str(ROOT / "main.py")]}
    for command in commands.values():
        one_run(command)  # warm the disk cache
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, command in commands.items():
            times[name].append(one_run(command))
    best = {name: (min(w for w, _ in rows), min(b for _, b in rows)) for name, rows in times.items()}
    print(f"{'':10} {'window shown':>14} {'first book':>12}   (best of {runs}, seconds from launch)")
    for name, (window, book) in best.items():
        print(f"{name:10} {window:14.2f} {book:12.2f}")
    ours, peer = best["bundled"][1], best["source"][1]
    verdict = "met" if ours <= TARGET_S else "NOT met"
    print(f"target: first book <= {TARGET_S:g} s bundled: {verdict}")
    print(f"startup: ours {ours:.2f} s, peer {peer:.2f} s, ratio {peer / ours:.2f}")
    return {"bundled": best["bundled"], "source": best["source"], "runs": runs}


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
