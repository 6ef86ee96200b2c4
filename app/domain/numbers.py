"""Numbers as people read them, one rule for every table, summary and message.

Decimals print with an exponent ("1E+6") or trailing zeros ("+0.00000") when formatted
naively; these helpers are the only formatting the window, the summaries and the core's
messages use, so one amount reads the same everywhere. Exact values stay in the data
(JSON reports, CSV exports, tooltips).
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

MONEY_SIGNIFICANT = 6
MONEY_MIN_PLACES = 2
MONEY_MAX_PLACES = 8


def fmt_plain(value: Decimal) -> str:
    """Every digit, no trailing zeros, never an exponent ("1000000", not "1E+6"; "0", not
    "0E-8" or "-0")."""
    if not value.is_finite():
        return str(value)
    text = format(value.normalize(), "f") if value else "0"
    return "0" if text in ("-0", "") else text


def fmt_signed(value: Decimal) -> str:
    """fmt_plain with a "+" on a positive amount (an inventory change): "+0.5", "-0.5", "0"."""
    text = fmt_plain(value)
    return f"+{text}" if value > 0 else text


def fmt_money(value: Decimal) -> str:
    """An amount of money (quote amounts, fees, balances, PnL) rounded for reading.

    Rounds (half-even) to MONEY_SIGNIFICANT significant digits, but never to fewer than
    MONEY_MIN_PLACES nor more than MONEY_MAX_PLACES decimals, so 99393.1408475 reads
    "99393.14", 0.4600478802 reads "0.460048" and 0.00000123 stays "0.00000123". Trailing
    zeros are trimmed. A non-zero value too small to show keeps its exact form rather than
    reading as zero.
    """
    if not value.is_finite():
        return str(value)
    if not value:
        return "0"
    places = MONEY_SIGNIFICANT - 1 - value.adjusted()
    places = min(MONEY_MAX_PLACES, max(MONEY_MIN_PLACES, places))
    rounded = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN)
    return fmt_plain(rounded if rounded else value)
