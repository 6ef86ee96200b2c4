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
        raise ConfigError(request.source, request.where("instrument"), str(exc)) from None


def build_demo(request: VenueRequest) -> VenueBuild:
    """The demo market (or, with `follow`, a FollowerExchange tracking the followed market
    with `lag_ms` and `noise_bps`: connectors/demo/follower.py), traded directly or on paper."""
    venue = request.settings
    instrument = demo_instrument(request)
    clock = request.make_clock(request.start_ns)
    leverage = venue.get("leverage", 10)
    name = request.name or "demo"
    common = dict(balances=request.balances, seed=venue["seed"], step_ns=venue["step_ms"] * _MS,
                  instrument=instrument, leverage=leverage, name=name)
    if request.follow is not None:
        from connectors.demo.follower import DEFAULT_LAG_MS, DEFAULT_NOISE_BPS, FollowerExchange

        lag_ms, noise = venue.get("lag_ms", DEFAULT_LAG_MS), venue.get("noise_bps", DEFAULT_NOISE_BPS)
        exchange = FollowerExchange(clock, request.follow, lag_ns=int(lag_ms * _MS), noise_bps=float(noise), **common)
        what = (f"demo following {request.follow.name} {request.follow.instrument.symbol} "
                f"(lag {lag_ms:g} ms, noise {noise:g} bps, seed {venue['seed']})")
    else:
        from connectors.demo.exchange import DemoExchange

        exchange = DemoExchange(clock, **common)
        what = f"demo (seed {venue['seed']})"
    if venue.get("account", "exchange") != "paper":
        return VenueBuild(exchange, clock, what, funding(exchange, clock, venue))
    from connectors.paper.connector import PaperConnector

    latency = int(venue["latency_ms"] * _MS)
    paper = PaperConnector(exchange.feed(instrument.symbol), request.balances, clock,
                           order_latency_ns=latency, cancel_latency_ns=latency, leverage=leverage,
                           **({"name": f"paper-{request.name}"} if request.name else {}))
    return VenueBuild(paper, clock, f"paper on {what}", [exchange, *funding(paper, clock, venue)])
