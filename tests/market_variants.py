"""Real recordings rewritten as other markets, for inference and derivatives tests.

Only BTCUSDT was recorded, but users bring any symbol: these helpers turn the real Binance
files into other symbols with other ticks, lots and contract types by exact decimal
shifts (prices / 10**k, quantities * 10**m), so the result is still a real market's flow
and `data verify` must still find an exact book on every bookTicker.

    python -m tests.market_variants OUT_DIR   # writes every variant there
"""
from __future__ import annotations

import gzip
import itertools
import sys
from decimal import Decimal
from pathlib import Path
from typing import Iterator

import orjson

from app.data.store import recordings_dir


def shift(text: str, places: int) -> str:
    """'61845.99000000' shifted by -1 -> '6184.599'; exact, no float."""
    value = Decimal(text).scaleb(places)
    out = format(value.normalize(), "f")
    return out


def _levels(levels: list, price_shift: int, qty_shift: int) -> list:
    return [[shift(p, price_shift), shift(q, qty_shift)] for p, q in levels]


def _rewrite(msg: dict, symbol: str, price_shift: int, qty_shift: int, coinm: bool) -> dict:
    if "lastUpdateId" in msg:
        out = dict(msg)
        out["bids"] = _levels(msg["bids"], price_shift, qty_shift)
        out["asks"] = _levels(msg["asks"], price_shift, qty_shift)
        if coinm:
            out["pair"] = symbol.split("_")[0]
            out["symbol"] = symbol
        return out
    stream, data = msg["stream"], dict(msg["data"])
    name, _, rest = stream.partition("@")
    data["s"] = symbol
    if coinm:
        data["ps"] = symbol.split("_")[0]
    if rest.startswith("depth"):
        data["b"] = _levels(data["b"], price_shift, qty_shift)
        data["a"] = _levels(data["a"], price_shift, qty_shift)
    elif rest.startswith("trade"):
        data["p"] = shift(data["p"], price_shift)
        data["q"] = shift(data["q"], qty_shift)
        if coinm:  # COIN-M publishes aggregated trades only
            data["e"] = "aggTrade"
            data["a"] = data.pop("t")
            rest = "aggTrade"
    elif rest.startswith("bookTicker"):
        for p, q in (("b", "B"), ("a", "A")):
            data[p] = shift(data[p], price_shift)
            data[q] = shift(data[q], qty_shift)
    return {"stream": f"{symbol.lower()}@{rest}", "data": data}


def rewrite_lines(src: Path, symbol: str, price_shift: int, qty_shift: int, *, coinm: bool = False,
                  limit: int | None = None) -> Iterator[str]:
    with gzip.open(src, "rb") as fh:
        for raw in itertools.islice(fh, limit):
            ts, _, payload = raw.strip().partition(b" ")
            msg = _rewrite(orjson.loads(payload), symbol, price_shift, qty_shift, coinm)
            yield f"{ts.decode()} {orjson.dumps(msg).decode()}"


def write_variant(src: Path, dst: Path, symbol: str, price_shift: int, qty_shift: int, *,
                  coinm: bool = False, limit: int | None = None, extra: list[str] | None = None) -> Path:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(dst, "wt") as out:
        for line in rewrite_lines(src, symbol, price_shift, qty_shift, coinm=coinm, limit=limit):
            out.write(line + "\n")
        for line in extra or ():
            out.write(line + "\n")
    return dst


VARIANTS = {
    # name: (source file, symbol, price shift, quantity shift, COIN-M)
    # ETHUSDT-like spot: prices / 10 (tick 0.001), quantities x 10 (lot 0.0001)
    "spot_ethusdt.gz": ("spot_btcusdt_20240808.gz", "ETHUSDT", -1, 1, False),
    # a USD-M perpetual with tick 0.01 and lot 0.01
    "usdm_ethusdt.gz": ("usdm_btcusdt_20240808.gz", "ETHUSDT", -1, 1, False),
    # COIN-M BTCUSD perpetual: same prices, quantities x 1000 = whole contracts (lot 1)
    "coinm_btcusd_perp.gz": ("usdm_btcusdt_20240808.gz", "BTCUSD_PERP", 0, 3, True),
}


def make_variant(name: str, out_dir: Path, limit: int | None = None) -> Path:
    src, symbol, price_shift, qty_shift, coinm = VARIANTS[name]
    return write_variant(recordings_dir() / src, out_dir / name, symbol, price_shift, qty_shift,
                         coinm=coinm, limit=limit)


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else ".")
    for variant in VARIANTS:
        print(make_variant(variant, target))
