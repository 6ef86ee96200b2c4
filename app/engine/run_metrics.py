"""The figures of a run's analytics as pure functions of fills and mids (no clock, no bot).

Kept apart from the collector (app/engine/analytics.py) so each figure can be checked by
hand from a few made-up fills: markouts, drawdown, PnL attribution, time quoted, and the
value of holding against trading.

Money is Decimal and exact where the inputs are; ratios and basis points are floats (they
are read, never added back into money).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Iterable, Sequence

from app.domain import Instrument

BP = Decimal(10_000)
_FINEST = Decimal("1e-18")
"""Attribution parts carry at most this many decimals: an inverse market's 1/price terms
have 28 significant digits each, and parts that fine could not be added back exactly in
Decimal's default 28-digit context. What rounding there is lands in `other`."""


@dataclass(slots=True)
class FillPoint:
    """One own fill as the analytics see it. `amount` is in base (spot) or contracts
    (derivatives); `mid` is the book's mid when the fill was heard (None: no valid book);
    `later[i]` the mid at the i-th markout horizon (None: not reached or no valid book)."""

    ns: int
    sign: int  # +1 buy, -1 sell
    price: Decimal
    amount: Decimal
    mid: Decimal | None
    later: list[Decimal | None] = field(default_factory=list)


def value_per_unit(instrument: Instrument, price: Decimal) -> Decimal:
    """What one unit of amount is worth at `price`, up to a constant, in the PnL asset: its
    differences between two prices are the PnL of holding one unit between them. Spot: the
    price; linear: price x contract size; inverse: -contract size / price (coins)."""
    if not instrument.is_derivative:
        return price
    if instrument.is_inverse:
        return -instrument.contract_size / price
    return price * instrument.contract_size


def _finite(value: Decimal) -> Decimal:
    return value.quantize(_FINEST) if value.as_tuple().exponent < -18 else value  # type: ignore[operator]


def attribution(fills: Iterable[FillPoint], instrument: Instrument, mark: Decimal, *, fees: Decimal,
                funding: Decimal | None, pnl: Decimal) -> dict[str, Decimal]:
    """The PnL split into what earned it; the parts add up exactly to `pnl`.

    Each fill of signed amount q at price p, with the mid m when it happened, valued at the
    final mark M (v: value_per_unit): trading PnL = sum q (v(M) - v(p)) =
      spread capture        sum q (v(m) - v(p))   (bought below the mid, sold above it)
    + inventory revaluation sum q (v(M) - v(m))   (the mid moving while the inventory is held)
    then fees (paid: negative) and funding (perpetuals). `other` is what is left of `pnl`:
    0 on spot; on perpetuals the rounding of the venue-style average entry price (and of
    1/price on inverse markets), or fills the collector did not see.
    A fill heard with no valid book uses its own price as the mid (no spread capture).
    """
    mark_value = value_per_unit(instrument, mark)
    spread = Decimal(0)
    revaluation = Decimal(0)
    for fill in fills:
        signed = fill.amount * fill.sign
        at_mid = value_per_unit(instrument, fill.mid if fill.mid is not None else fill.price)
        spread += signed * (at_mid - value_per_unit(instrument, fill.price))
        revaluation += signed * (mark_value - at_mid)
    parts = {"spread_capture": _finite(spread), "inventory_revaluation": _finite(revaluation),
             "fees": _finite(-fees)}
    if funding is not None:
        parts["funding"] = _finite(funding)
    parts["other"] = pnl - sum(parts.values(), Decimal(0))
    return parts


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 3) if values else None


def markouts(fills: Sequence[FillPoint], labels: Sequence[str]) -> dict[str, dict[str, object]]:
    """Per horizon: the mid move after each fill in bp of the mid at the fill, signed so a
    positive number was good for us (the mid rose after a buy, fell after a sell), averaged
    over buys, sells and all fills; `*_vs_fill` the same against the fill price (spread
    captured plus the move). `count` fills had a mid at the fill and at the horizon; the
    others came too close to the end of the run (or met no valid book)."""
    out: dict[str, dict[str, object]] = {}
    for i, label in enumerate(labels):
        moves: dict[int, list[float]] = {1: [], -1: []}
        versus: dict[int, list[float]] = {1: [], -1: []}
        for fill in fills:
            later = fill.later[i] if i < len(fill.later) else None
            if later is None or fill.mid is None:
                continue
            moves[fill.sign].append(float(fill.sign * (later - fill.mid) / fill.mid * BP))
            versus[fill.sign].append(float(fill.sign * (later - fill.price) / fill.price * BP))
        both = moves[1] + moves[-1]
        out[label] = {
            "count": len(both), "of": len(fills), "buys": len(moves[1]), "sells": len(moves[-1]),
            "buy": _mean(moves[1]), "sell": _mean(moves[-1]), "all": _mean(both),
            "buy_vs_fill": _mean(versus[1]), "sell_vs_fill": _mean(versus[-1]),
            "all_vs_fill": _mean(versus[1] + versus[-1]),
        }
    return out


@dataclass(slots=True)
class Drawdown:
    """The largest fall of a PnL curve from its running peak (the curve starts at 0),
    absolute and in % of the capital at the peak (starting value + peak PnL)."""

    peak: Decimal = Decimal(0)
    worst: Decimal = Decimal(0)
    worst_pct: float = 0.0

    def add(self, value: Decimal, base: Decimal | None = None) -> None:
        if value > self.peak:
            self.peak = value
            return
        fall = self.peak - value
        if fall > self.worst:
            self.worst = fall
        if base is not None and base + self.peak > 0:
            pct = float(fall / (base + self.peak) * 100)
            if pct > self.worst_pct:
                self.worst_pct = pct


def max_drawdown(values: Iterable[Decimal], base: Decimal | None = None) -> tuple[Decimal, float]:
    """(absolute, %) of a whole curve at once."""
    dd = Drawdown()
    for value in values:
        dd.add(value, base)
    return dd.worst, dd.worst_pct


BOTH, BID_ONLY, ASK_ONLY, NONE = 3, 1, 2, 0
"""Quoting states: bit 1 = at least one own bid rests, bit 2 = at least one own ask."""


class QuotedTime:
    """How long the bot had own orders resting on each side: time is added to the state
    that ends whenever the state changes, so it costs nothing between order events."""

    __slots__ = ("_since", "_state", "_ns")

    def __init__(self, start_ns: int) -> None:
        self._since = start_ns
        self._state = NONE
        self._ns = [0, 0, 0, 0]

    def update(self, now_ns: int, bids: int, asks: int) -> None:
        state = (BID_ONLY if bids > 0 else 0) | (ASK_ONLY if asks > 0 else 0)
        if state != self._state:
            self._ns[self._state] += max(0, now_ns - self._since)
            self._since = now_ns
            self._state = state

    def shares_pct(self, end_ns: int) -> dict[str, float]:
        """% of the time from the start to `end_ns` in each state (they add up to 100)."""
        ns = list(self._ns)
        ns[self._state] += max(0, end_ns - self._since)
        total = sum(ns)
        if total <= 0:
            return {"both": 0.0, "bid_only": 0.0, "ask_only": 0.0, "none": 0.0}
        pct = [round(100.0 * n / total, 3) for n in ns]
        return {"both": pct[BOTH], "bid_only": pct[BID_ONLY], "ask_only": pct[ASK_ONLY], "none": pct[NONE]}


def portfolio_value(balances: dict[str, Decimal], instrument: Instrument, mark: Decimal,
                    unrealized: Decimal = Decimal(0)) -> Decimal:
    """Spot: base x mark + quote (other assets are not this market's); perpetuals: the
    settlement asset's wallet plus the unrealised PnL of the position."""
    if instrument.is_derivative:
        return balances.get(instrument.settle_asset, Decimal(0)) + unrealized
    return balances.get(instrument.base, Decimal(0)) * mark + balances.get(instrument.quote, Decimal(0))


def pct(part: Decimal, whole: Decimal | None) -> float | None:
    return None if whole is None or whole == 0 else round(float(part / whole * 100), 6)
