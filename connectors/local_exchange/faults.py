"""Seeded fault injection: what a real exchange and network do to a client on a bad day.

A spec is `kind=probability,...` plus a few settings, e.g.
`drop_ws=0.01,delay_ms=50,reorder=0.02,skip_depth=0.001,http429=0.01,seed=3`:

  drop_ws               per websocket message sent: the socket is closed instead
  reorder               per websocket message: it is held back and sent after the next one
  skip_depth            per depth diff sent to a connection: it is skipped (a gap in U/u)
  http429 / http418     per REST request: 429 (-1003, Retry-After) / 418 (banned)
  http5xx               per REST request: 503 with a non-JSON body
  timeout               per REST request: held `hold_ms` (longer than the client's
                        timeout), then processed and answered anyway
  lose_order_response   per order placed (REST or websocket API): the order IS placed,
                        then the answer is lost: HTTP 500 without a body and the
                        connection closed (REST), the socket closed (websocket API)
  lose_cancel_response  the same for a cancel that went through
settings: delay_ms (latency added to every websocket message, order kept), hold_ms
(default 15000), retry_after (seconds, default 1), seed (default 0).

`force(kind, count)` makes the next `count` chances of a kind fire whatever the
probability (tests, soak drivers); `injected` counts what fired per kind.
"""
from __future__ import annotations

import math
import random

KINDS = (
    "drop_ws", "reorder", "skip_depth", "http429", "http418", "http5xx", "timeout",
    "lose_order_response", "lose_cancel_response",
)
SETTINGS = {"delay_ms": 0.0, "hold_ms": 15000.0, "retry_after": 1.0, "seed": 0.0}


def parse_fault_spec(spec: str | None) -> tuple[dict[str, float], dict[str, float]]:
    """Returns (probabilities by kind, settings); raises ValueError with one line."""
    probabilities: dict[str, float] = {}
    settings = dict(SETTINGS)
    for item in (spec or "").split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep:
            raise ValueError(f"fault {item!r}: expected kind=value")
        try:
            value = float(text)
        except ValueError:
            raise ValueError(f"fault {key}: {text.strip()!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"fault {key}: {text.strip()!r} must be a finite number >= 0")
        if key in KINDS:
            if value > 1:
                raise ValueError(f"fault {key}: probability {text.strip()} is above 1")
            probabilities[key] = value
        elif key in SETTINGS:
            if key == "seed" and value != int(value):
                raise ValueError(f"fault seed: {text.strip()!r} is not a whole number")
            settings[key] = value
        else:
            raise ValueError(f"unknown fault {key!r} (known: {', '.join(KINDS + tuple(SETTINGS))})")
    return probabilities, settings


class FaultInjector:
    def __init__(self, spec: str | None = None) -> None:
        self.probabilities, settings = parse_fault_spec(spec)
        self.delay_s = settings["delay_ms"] / 1000
        self.hold_s = settings["hold_ms"] / 1000
        self.retry_after = max(1, int(round(settings["retry_after"])))
        self.seed = int(settings["seed"])
        self._rng = random.Random(self.seed)
        self._forced: dict[str, int] = {}
        self.injected: dict[str, int] = {kind: 0 for kind in KINDS}

    def roll(self, kind: str) -> bool:
        """One chance of a fault of `kind`: True when it fires (and it is counted)."""
        forced = self._forced.get(kind, 0)
        if forced:
            self._forced[kind] = forced - 1
        else:
            p = self.probabilities.get(kind, 0.0)
            if not p or self._rng.random() >= p:
                return False
        self.injected[kind] += 1
        return True

    def force(self, kind: str, count: int = 1) -> None:
        """The next `count` chances of `kind` fire."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault {kind!r} (known: {', '.join(KINDS)})")
        if count < 0:
            raise ValueError("count must be >= 0")
        self._forced[kind] = self._forced.get(kind, 0) + int(count)

    def clear(self) -> None:
        """No more forced faults and no probabilities (counters are kept)."""
        self._forced.clear()
        self.probabilities.clear()

    @property
    def active(self) -> bool:
        return bool(self.probabilities) or any(self._forced.values())

    def snapshot(self) -> dict:
        return {
            "injected": dict(self.injected),
            "forced_pending": {k: v for k, v in self._forced.items() if v},
            "probabilities": dict(self.probabilities),
            "delay_ms": self.delay_s * 1000, "hold_ms": self.hold_s * 1000,
            "retry_after": self.retry_after, "seed": self.seed,
        }
