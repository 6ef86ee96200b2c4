"""Live venues need two things the simulated ones do not: the account's keys, from the OS
keyring (resolved here, never written in a config), and a connection before any bot is
built on them (markets loaded, streams up, orders reconciled)."""
from __future__ import annotations

from app.config.bot_config import BotConfig
from app.config.schema import ConfigError
from app.interfaces.venues import VenueBuild, VenueRequest, build_venue


def venue_request(config: BotConfig, *, simulated: bool, clock=None, start_ns: int = 0) -> VenueRequest:  # noqa: ANN001
    """The config's venue as a request, with the saved account and its trading keys for a
    live (ccxt) venue: a read-only or unknown account is a ConfigError naming the field."""
    request = VenueRequest(
        kind=config.venue["kind"], settings=config.venue, symbol=config.symbol if config.symbol_given else None,
        balances=config.balances, instrument_overrides=config.instrument_overrides,
        recordings=list(config.recordings), simulated=simulated, clock=clock, start_ns=start_ns,
        source=config.source,
    )
    if request.kind == "ccxt":
        if simulated:
            raise ConfigError(config.source, "venue.kind", "a live exchange cannot run in simulated time "
                                                           "(backtest a recording instead: venue kind replay)")
        account_id = config.venue.get("exchange_account")
        if not account_id:
            raise ConfigError(config.source, "venue.exchange_account", "a ccxt venue needs the saved account to "
                                                                       "trade with (python main.py keys list)")
        from app.accounts import AccountError, AccountStore

        store = AccountStore()
        try:
            request.account = store.get(account_id)
            request.credentials = store.trading_credentials(account_id)
        except AccountError as exc:
            raise ConfigError(config.source, "venue.exchange_account", str(exc)) from None
    return request


async def open_venue(config: BotConfig) -> VenueBuild:
    """A real-time venue, connected when it needs to be (ConfigError when it cannot)."""
    import connectors.registry  # noqa: F401 - registers the venue kinds

    venue = build_venue(venue_request(config, simulated=False))
    if venue.needs_connect:
        try:
            await connect_patiently(venue)
        except Exception as exc:  # noqa: BLE001 - one line for the user, the details in the log
            import logging

            logging.getLogger(__name__).debug("connect failed", exc_info=True)
            await _close_quietly(venue)
            raise ConfigError(config.source, "venue", f"cannot connect to {venue.label}: {type(exc).__name__}: "
                                                      f"{exc}") from None
    return venue


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
