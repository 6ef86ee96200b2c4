"""A second demo exchange that follows another market: the offline taker (or hedge) venue.

Cross-market strategies (cross-exchange market making, arbitrage) need two markets whose
prices move together, one a little behind the other, as two real exchanges quoting the
same pair do. A FollowerExchange is a full DemoExchange (its own crowd, matching engine,
account, fills) whose crowd does not jump on its own (`jump_rate` 0): before every step
its fair price is steered (CrowdFlow.steer) to the leader market's mid as it was `lag_ns`
ago, shifted by a basis that wanders slowly around zero (an Ornstein-Uhlenbeck process
with a standard deviation of `noise_bps` and a `noise_tau_s` mean reversion, seeded). Its
book therefore shows its own spread, depth and trades around a target that tracks the
leader with the lag, and a price gap between the two markets opens on every move of the
leader and closes `lag_ns` later, which is what a cross-market strategy lives on.

The leader is any MarketFeed on the same clock (a demo market, a replay in a backtest);
the follower listens to its book updates. Deterministic for a seed, like the demo market.
"""
from __future__ import annotations

import math
import random
from collections import deque
from decimal import Decimal
from typing import Any

from app.domain import BookUpdated
from app.interfaces.clock import Clock
from app.interfaces.venue import MarketFeed
from connectors.demo.exchange import DemoExchange

DEFAULT_LAG_MS = 250.0
DEFAULT_NOISE_BPS = 1.0
DEFAULT_NOISE_TAU_S = 10.0


class FollowerExchange(DemoExchange):
    """See the module docstring. `leader` is the followed market's feed."""

    def __init__(self, clock: Clock, leader: MarketFeed, *, lag_ns: int = 250_000_000, noise_bps: float = 1.0,
                 noise_tau_s: float = DEFAULT_NOISE_TAU_S, seed: int = 8, **kwargs: Any) -> None:
        if lag_ns < 0:
            raise ValueError(f"lag_ns must not be negative, got {lag_ns}")
        if noise_bps < 0 or noise_tau_s <= 0:
            raise ValueError(f"noise_bps must not be negative and noise_tau_s positive, got {noise_bps}, {noise_tau_s}")
        flow_params = {"jump_rate": 0.0, **(kwargs.pop("flow_params", None) or {})}
        super().__init__(clock, seed=seed, flow_params=flow_params, **kwargs)
        self.leader = leader
        self.lag_ns = int(lag_ns)
        self.noise_bps = float(noise_bps)
        self.noise_tau_s = float(noise_tau_s)
        self._marks: deque[tuple[int, float]] = deque()  # (ts_ns, leader mid price), oldest first
        self._rng = random.Random(seed)
        self._basis_bps = 0.0
        self._basis_ns: int | None = None
        self.target_price: float | None = None  # the last target (diagnostics, tests)
        leader.add_listener(self._on_leader)

    # -- the leader ----------------------------------------------------------------------
    def _leader_mid(self) -> float | None:
        book = self.leader.book
        bid, ask = book.best_bid_ticks, book.best_ask_ticks
        if bid <= 0 or ask <= 0 or ask <= bid or book.is_stale:
            return None
        return float(self.leader.instrument.tick_size) * (bid + ask) / 2

    def _on_leader(self, event: object) -> None:
        if type(event) is not BookUpdated:
            return
        mid = self._leader_mid()
        if mid is None:
            return
        now = self.clock.now_ns()
        if self._marks and self._marks[-1][1] == mid:
            return  # unchanged: nothing to remember
        self._marks.append((now, mid))
        if len(self._marks) > 100_000:  # a follower that never steps (stopped) stays bounded
            self._marks.popleft()

    def _lagged_leader(self, now: int) -> float | None:
        """The leader's mid as it was `lag_ns` ago (None before there was one)."""
        cutoff = now - self.lag_ns
        marks = self._marks
        while len(marks) >= 2 and marks[1][0] <= cutoff:
            marks.popleft()
        if marks and marks[0][0] <= cutoff:
            return marks[0][1]
        return None

    def _basis(self, now: int) -> float:
        """The wandering basis in bps: exact OU transition over the time since the last step."""
        if self.noise_bps <= 0:
            return 0.0
        if self._basis_ns is None:
            self._basis_bps = self._rng.gauss(0.0, self.noise_bps)
        else:
            decay = math.exp(-max(0, now - self._basis_ns) / 1e9 / self.noise_tau_s)
            self._basis_bps = self._basis_bps * decay + self.noise_bps * math.sqrt(1 - decay * decay) * \
                self._rng.gauss(0.0, 1.0)
        self._basis_ns = now
        return self._basis_bps

    # -- the demo exchange's hooks ---------------------------------------------------------
    def start(self) -> None:
        """Starts the crowd at the leader's current price when it has one (else at the
        configured start price; the first steps then steer it there)."""
        if self._flow is None:
            mid = self._leader_mid()
            if mid is not None:
                self._start_ticks = self.instrument.round_price_to_ticks(Decimal(repr(mid)), up=False)
        super().start()

    def _steer(self, now: int) -> None:
        price = self._lagged_leader(now)
        if price is None or self._flow is None:
            return
        target = price * (1 + self._basis(now) / 10_000)
        self.target_price = target
        # The crowd quotes bids at floor(fair) and below, asks above: a leader mid between
        # two ticks (one-tick spread) gives the same touch here.
        self._flow.steer(target / float(self.instrument.tick_size))
