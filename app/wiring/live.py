"""Live venues need two things the simulated ones do not: the account's keys, from the OS
keyring (resolved here, never written in a config), and a connection before any bot is
built on them (markets loaded, streams up, orders reconciled)."""
from __future__ import annotations

from app.config.bot_config import BotConfig
from app.config.schema import ConfigError
from app.interfaces.venues import VenueBuild, VenueRequest, build_venue


def venue_request(config: BotConfig, *, simulated: bool, clock=None, start_ns: int = 0) -> VenueRequest:  # noqa: ANN001
    """The config's (first role's) venue as a request: see `market_request`."""
    binding = next(iter(config.bindings().values()))
    return market_request(config, binding, simulated=simulated, clock=clock, start_ns=start_ns)


def market_request(config: BotConfig, binding, *, simulated: bool, clock=None,  # noqa: ANN001
                   start_ns: int = 0) -> VenueRequest:
    """One role's venue (app/config/roles.py MarketBinding) as a request, with the saved
    account and its trading keys for a live (ccxt) venue: a read-only or unknown account is
    a ConfigError naming the field ("venue.exchange_account", "markets.taker.venue...")."""
    request = VenueRequest(
        kind=binding.venue["kind"], settings=binding.venue, symbol=binding.symbol if binding.symbol_given else None,
        balances=binding.balances, instrument_overrides=binding.instrument_overrides,
        recordings=list(binding.recordings), simulated=simulated, clock=clock, start_ns=start_ns,
        source=config.source, field_prefix=binding.prefix,
    )
    if request.kind == "ccxt":
        if simulated:
            raise ConfigError(config.source, request.where("venue.kind"),
                              "a live exchange cannot run in simulated time (backtest a recording instead: venue "
                              "kind replay)")
        account_id = binding.venue.get("exchange_account")
        if not account_id:
            raise ConfigError(config.source, request.where("venue.exchange_account"),
                              "a ccxt venue needs the saved account to trade with (python main.py keys list)")
        from app.accounts import AccountError, AccountStore

        store = AccountStore()
        try:
            request.account = store.get(account_id)
            request.credentials = store.trading_credentials(account_id)
        except AccountError as exc:
            raise ConfigError(config.source, request.where("venue.exchange_account"), str(exc)) from None
    return request


async def open_venue(config: BotConfig) -> VenueBuild:
    """A real-time venue, connected when it needs to be (ConfigError when it cannot)."""
    import connectors.registry  # noqa: F401 - registers the venue kinds

    venue = build_venue(venue_request(config, simulated=False))
    await connect_venue(config, venue)
    return venue


async def connect_venue(config: BotConfig, venue: VenueBuild, where: str = "venue") -> None:
    """Connects a live venue (a no-op for a simulated one); ConfigError naming `where` when
    it cannot, the venue closed."""
    if venue.needs_connect:
        try:
            await connect_patiently(venue)
        except Exception as exc:  # noqa: BLE001 - one line for the user, the details in the log
            import logging

            logging.getLogger(__name__).debug("connect failed", exc_info=True)
            await _close_quietly(venue)
            raise ConfigError(config.source, where, f"cannot connect to {venue.label}: {type(exc).__name__}: "
                                                    f"{exc}") from None


CONNECT_PATIENCE_S = 120.0


async def connect_patiently(venue: VenueBuild, patience_s: float = CONNECT_PATIENCE_S) -> None:
    """Connects, retrying what the network or the exchange's rate limits make fail (with
    jittered backoff, for up to `patience_s`): a bot restarted after a crash must not give up
    because the exchange was briefly unreachable. Anything else (keys, symbols) fails at once."""
    import asyncio
    import logging
    import random

    import ccxt

    deadline = asyncio.get_running_loop().time() + patience_s
    delay = 0.5
    while True:
        try:
            await venue.connector.connect()
            return
        except (ccxt.NetworkError, ccxt.RateLimitExceeded, ccxt.DDoSProtection, OSError) as exc:
            if asyncio.get_running_loop().time() + delay > deadline:
                raise
            logging.getLogger(__name__).warning("%s: connect failed (%s); retrying in %.1f s", venue.label, exc, delay)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(15.0, delay * 2)


async def _close_quietly(venue: VenueBuild) -> None:
    try:
        await venue.connector.disconnect()
    except Exception:  # noqa: BLE001 - already failing; the first error is the one to report
        pass
