"""The demo exchange as a venue kind: trade on it directly, or paper-trade its feed."""
from __future__ import annotations

from app.interfaces.venues import VenueBuild, VenueRequest
from connectors.funding import funding

_MS = 1_000_000


def demo_instrument(request: VenueRequest):
    """The demo market for the requested symbol: spot BTC/USDT by default, or one of the
    demo perpetuals; the user's instrument rules apply on top."""
    from app.config.schema import ConfigError
    from app.markets.registry import BUILT_IN, resolve

    symbol = request.symbol or "BTC/USDT"
    if symbol not in BUILT_IN:
        raise request.market_error("on the demo exchange", list(BUILT_IN))
    try:
        return resolve(BUILT_IN[symbol].with_rules(source="demo exchange rules"),
                       config=request.instrument_overrides, config_where=f"{request.source} (instrument)")
    except ValueError as exc:
        raise ConfigError(request.source, "instrument", str(exc)) from None


def build_demo(request: VenueRequest) -> VenueBuild:
    from connectors.demo.exchange import DemoExchange

    venue = request.settings
    instrument = demo_instrument(request)
    clock = request.make_clock(request.start_ns)
    leverage = venue.get("leverage", 10)
    exchange = DemoExchange(clock, balances=request.balances, seed=venue["seed"], step_ns=venue["step_ms"] * _MS,
                            instrument=instrument, leverage=leverage)
    if venue.get("account", "exchange") != "paper":
        return VenueBuild(exchange, clock, f"demo (seed {venue['seed']})", funding(exchange, clock, venue))
    from connectors.paper.connector import PaperConnector

    latency = int(venue["latency_ms"] * _MS)
    paper = PaperConnector(exchange.feed(instrument.symbol), request.balances, clock,
                           order_latency_ns=latency, cancel_latency_ns=latency, leverage=leverage)
    return VenueBuild(paper, clock, f"paper on demo (seed {venue['seed']})", [exchange, *funding(paper, clock, venue)])
