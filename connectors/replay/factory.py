"""A recording as a venue kind: its market replayed, traded on paper."""
from __future__ import annotations

from app.interfaces.venues import VenueBuild, VenueRequest
from connectors.funding import funding

_MS = 1_000_000


def build_replay(request: VenueRequest) -> VenueBuild:
    """The recording's market with the rules inferred from the data and the user's rules on
    top (app/markets); simulated time follows the recorded timestamps."""
    from app.config.schema import ConfigError
    from app.data.binance_recording import RecordingError
    from app.data.store import check_replayable, load_market
    from connectors.paper.connector import PaperConnector
    from connectors.replay.feed import ReplayFeed

    names = ", ".join(p.name for p in request.recordings)
    try:
        events, meta, instrument = load_market(request.recordings, overrides=request.instrument_overrides,
                                               where=f"{request.source} (instrument)")
    except ValueError as exc:
        if isinstance(exc, RecordingError):
            raise
        raise ConfigError(request.source, request.where("instrument"), str(exc)) from None
    if request.symbol is not None and request.symbol not in (instrument.symbol, meta.symbol):
        raise request.market_error(f"in {names}", [instrument.symbol])
    if len(events) == 0:
        raise request.market_error("(the recording holds no market data)", [])
    check_replayable(events, request.recordings)  # RecordingError: no snapshot, receive times going backwards
    clock = request.make_clock(int(events["ts_ns"][0]))
    speed = 1.0 if request.simulated else request.settings["speed"]
    feed = ReplayFeed(events, instrument, clock, speed=speed, market=meta.market,
                      **({"name": f"{request.name}-feed"} if request.name else {}))
    latency = int(request.settings["latency_ms"] * _MS)
    paper = PaperConnector(feed, request.balances, clock, order_latency_ns=latency, cancel_latency_ns=latency,
                           leverage=request.settings.get("leverage", 10),
                           **({"name": request.name} if request.name else {}))
    return VenueBuild(paper, clock, f"paper on replay of {names}", [feed, *funding(paper, clock, request.settings)])
