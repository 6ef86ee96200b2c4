"""The Avellaneda-Stoikov formulas (2008, "High-frequency trading in a limit order book"),
as pure functions of numbers, so each can be checked against a hand calculation.

Units (the strategy's module docstring says why): prices in the market's price units,
sigma in price per sqrt(second), T - t in seconds, kappa per price unit, q a dimensionless
inventory deviation in [-1, 1], so gamma is per price unit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class ModelQuote:
    """One evaluation of the model: the numbers that went in and the prices that came out."""

    mid: float
    q: float
    sigma: float
    kappa: float
    gamma: float
    time_left_s: float
    reservation: float
    model_spread: float  # gamma sigma^2 (T-t) + (2/gamma) ln(1 + gamma/kappa)
    spread: float  # after the min_spread floor
    bid: float  # reservation - spread / 2
    ask: float  # reservation + spread / 2


def reservation_price(mid: float, q: float, gamma: float, sigma: float, time_left_s: float) -> float:
    """r = s - q gamma sigma^2 (T - t): below the mid when long, above it when short."""
    return mid - q * gamma * sigma * sigma * time_left_s


def optimal_spread(gamma: float, sigma: float, time_left_s: float, kappa: float) -> float:
    """delta_a + delta_b = gamma sigma^2 (T - t) + (2 / gamma) ln(1 + gamma / kappa)."""
    return gamma * sigma * sigma * time_left_s + (2.0 / gamma) * math.log1p(gamma / kappa)


def evaluate(mid: float, q: float, gamma: float, sigma: float, kappa: float, time_left_s: float,
             min_spread: float) -> ModelQuote:
    """Reservation price and optimal quotes, the total spread floored at `min_spread`
    (price units) around the reservation price."""
    r = reservation_price(mid, q, gamma, sigma, time_left_s)
    model = optimal_spread(gamma, sigma, time_left_s, kappa)
    spread = max(model, min_spread)
    return ModelQuote(mid, q, sigma, kappa, gamma, time_left_s, r, model, spread, r - spread / 2, r + spread / 2)


def inventory_deviation(base: Decimal, quote: Decimal, mid: Decimal, target_base_pct: Decimal) -> float:
    """q: (base held - target base) / whole inventory valued in base, in [-1, 1].

    The whole inventory in base is base + quote / mid; the target is that times the target
    percentage. q = 1 means everything is in base while the target is none of it."""
    if mid <= 0:
        return 0.0
    total = base + quote / mid
    if total <= 0:
        return 0.0
    q = (base - total * target_base_pct / 100) / total
    return float(max(Decimal(-1), min(Decimal(1), q)))


def shaped_lots(lots: int, q: float, eta: float) -> tuple[int, int]:
    """(bid lots, ask lots): the side that would push the inventory further from the
    target shrinks by exp(-eta |q|) (eta = 0: both sides the full amount), rounded down."""
    if eta <= 0 or q == 0:
        return lots, lots
    shrunk = int(math.floor(lots * math.exp(-eta * abs(q)) + 1e-9))
    return (shrunk, lots) if q > 0 else (lots, shrunk)
