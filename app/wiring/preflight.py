"""Checks made before anything starts, so that a run is refused up front with the reason
rather than lost later.

`preflight` looks at a built session (connector, instrument, strategy, balances) and
refuses a config that can never trade: an order amount below the lot or the minimum
notional, balances that can pay for neither side, balances without the market's assets.
Softer problems (an amount rounded down to the lot, only one side payable) become notes
that the caller prints before the run. `check_writable` makes sure a report or journal
path can be written before a long run, not after it.
"""
from __future__ import annotations

import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from app.config.schema import ConfigError

if TYPE_CHECKING:
    from app.config.bot_config import BotConfig
    from app.domain.instrument import Instrument
    from app.engine.bot import Bot
    from app.interfaces.venue import Connector, MarketFeed


# -- output files -----------------------------------------------------------------------
def check_writable(path: str | os.PathLike, what: str, *, append: bool = False) -> Path:
    """Raises ConfigError(what, "", reason) unless `path` can be written.

    `append`: the file is appended to (a journal), so an existing file must be writable;
    otherwise it is replaced atomically (a report: a temporary file in the same folder is
    renamed over it), so the folder must be writable. A file that did not exist is not
    left behind by the check.
    """

    def fail(reason: str) -> ConfigError:
        return ConfigError(what, "", f"cannot write {str(path)!r}: {reason}")

    text = os.fspath(path)
    if not str(text).strip():
        raise fail("no file name given")
    if "\0" in str(text):
        raise fail("the name holds a NUL character")
    target = Path(text).expanduser()
    try:
        if target.is_dir():
            raise fail("it is a folder (give a file name)")
        folder = target.parent
        if not folder.exists():
            # A missing folder could be created, but a typo in it would then go unnoticed.
            for above in folder.parents:
                if above.exists() and not above.is_dir():
                    raise fail(f"{str(above)!r} is a file, not a folder")
            raise fail(f"the folder {str(folder)!r} does not exist")
        if not folder.is_dir():
            raise fail(f"{str(folder)!r} is not a folder")
        if target.exists():
            if not target.is_file():
                raise fail("it is not a regular file")
            if append:
                with open(target, "a", encoding="utf-8"):
                    pass  # opening to append writes nothing and keeps the modification time
                return target
        if append and not target.exists():
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.close(fd)
            os.unlink(target)
            return target
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".check", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as exc:
        raise fail(exc.strerror or str(exc)) from None
    return target


# -- can this config ever trade? -----------------------------------------------------------
def preflight(config: "BotConfig", connector: "Connector", bot: "Bot", startables: Iterable = ()) -> list[str]:
    """Refuses (ConfigError naming the config and the field) a bot that can never place an
    order; returns notes worth printing before the run."""
    return _preflight_market(config.source, config.instrument_overrides, bot.instrument, connector,
                             connector.feed(bot.symbol), bot.strategy, startables, "", fees=True)


def preflight_markets(config: "BotConfig", bot: "Bot", startables: "dict[str, Iterable]") -> list[str]:
    """`preflight` for every market of the bot (`startables`: each role's venue parts):
    each role's balances and rules against the strategy's order amounts, its messages
    naming the role's fields (markets.taker.balances); the fee warnings of the first role."""
    if not bot.multi_market:
        role = next(iter(bot.markets))
        return preflight(config, bot.connector, bot, startables.get(role, ()))
    notes: list[str] = []
    bindings = config.bindings()
    for index, (role, market) in enumerate(bot.markets.items()):
        binding = bindings[role]
        found = _preflight_market(config.source, binding.instrument_overrides, market.instrument, market.venue,
                                  market.feed, bot.strategy, startables.get(role, ()), binding.prefix,
                                  fees=index == 0)
        notes.extend(f"{role}: {note}" for note in found)
    return notes


def check_market(strategy, instrument: "Instrument", connector: "Connector", feed: "MarketFeed",  # noqa: ANN001
                 source: str = "bot form") -> list[str]:
    """The start checks of one market for a bound strategy (the bot form runs them as the
    user types): ConfigError naming the parameter (or the balances) when its orders can
    never be placed; notes otherwise."""
    return _preflight_market(source, {}, instrument, connector, feed, strategy, (), "", fees=False)


def _preflight_market(source: str, overrides: dict, instrument: "Instrument", connector: "Connector",
                      feed: "MarketFeed", strategy, startables: Iterable, prefix: str, *,  # noqa: ANN001
                      fees: bool) -> list[str]:
    """One market's checks; `prefix` locates its fields in the config ("" or "markets.taker.")."""
    balances_field = f"{prefix}balances"
    inst = _effective_instrument(source, overrides, instrument, f"{prefix}instrument")
    notes: list[str] = []
    balances = {asset: bal.available for asset, bal in connector.balances().items()}
    have = lambda asset: balances.get(asset, Decimal(0))  # noqa: E731
    listed = ", ".join(f"{a} {_fmt(v)}" for a, v in sorted(balances.items())) or "none"

    if inst.is_derivative:
        settle = inst.settle_asset
        if have(settle) <= 0:
            raise ConfigError(source, balances_field, f"{inst.symbol} is settled in {settle}: the balances need some "
                                                  f"{settle} as margin (balances: {listed})")
    elif have(inst.base) <= 0 and have(inst.quote) <= 0:
        raise ConfigError(source, balances_field, f"no {inst.base} or {inst.quote} to trade {inst.symbol} with "
                                              f"(balances: {listed})")

    if fees:
        notes.extend(strategy.fee_warnings(inst))  # spreads that cannot pay the fees: said, not refused
    amounts = strategy.order_amounts_base()
    if not amounts:
        return notes
    reference = reference_price(instrument, connector, feed, startables)
    if reference is None:
        notes.append(f"no reference price for {inst.symbol} before the start: the minimum notional "
                     f"({_fmt(inst.min_notional)} {inst.settle_asset}) and the cost of buys are not checked")
    for amount in amounts:
        field = _param_path(strategy, amount)
        lots = inst.round_amount_to_lots(amount)
        if lots <= 0:
            raise ConfigError(source, field, f"{_fmt(amount)} is below the lot size {_fmt(inst.lot_size)} of "
                                             f"{inst.symbol}: no order can be placed")
        placed = inst.lots_to_amount(lots)
        if placed != amount:
            notes.append(f"{field} {_fmt(amount)} is not a multiple of the lot {_fmt(inst.lot_size)} of "
                         f"{inst.symbol}: orders are rounded down to {_fmt(placed)}")
        notional = None
        if reference is not None:
            price, where = reference
            ticks = inst.round_price_to_ticks(price, up=False)
            notional = inst.notional(ticks, lots)
            if notional < inst.min_notional:
                raise ConfigError(source, field, f"an order of {_fmt(placed)} is worth {_fmt(notional)} "
                                                 f"{inst.settle_asset} at {_fmt(price)} ({where}), below the minimum "
                                                 f"notional {_fmt(inst.min_notional)} {inst.settle_asset} of {inst.symbol}")
        if inst.is_derivative:
            continue  # margin rules are the venue's: having the settlement asset is all we check
        sell_needs = placed * inst.contract_size
        can_sell = have(inst.base) >= sell_needs
        if notional is not None:
            buy_needs = notional * (1 + max(inst.maker_fee, inst.taker_fee, Decimal(0)))
            can_buy = have(inst.quote) >= buy_needs
            buy_text = f"a buy of {_fmt(placed)} {inst.base} needs {_fmt(buy_needs)} {inst.quote}"
        else:
            can_buy = have(inst.quote) > 0
            buy_text = f"a buy needs some {inst.quote}"
        sell_text = f"a sell needs {_fmt(sell_needs)} {inst.base}"
        if not can_buy and not can_sell:
            raise ConfigError(source, balances_field, f"neither side can be paid for orders of {_fmt(placed)} ({field}): "
                                                  f"{buy_text}, {sell_text} (balances: {listed})")
        if not can_buy:
            notes.append(f"only sell orders can be placed: {buy_text} (have {_fmt(have(inst.quote))})")
        elif not can_sell:
            notes.append(f"only buy orders can be placed: {sell_text} (have {_fmt(have(inst.base))})")
    return notes


def reference_price(
    instrument: "Instrument", connector: "Connector", feed: "MarketFeed", startables: Iterable = ()
) -> tuple[Decimal, str] | None:
    """A price to value orders at before the start, and where it comes from: the mid of the
    feed's book, else the demo market's start price, else the first price in a replayed
    recording; None when none is known. Ticks are those of `instrument` (the connector's)."""
    book = feed.book
    bid, ask = book.best_bid_ticks, book.best_ask_ticks
    if bid > 0 and ask > 0:
        return instrument.tick_size * (bid + ask) / 2, "the mid of the book"
    for part in (connector, *startables):
        start = getattr(part, "_start_ticks", None)  # DemoExchange: where its market starts
        if isinstance(start, int) and start > 0:
            return instrument.ticks_to_price(start), "the demo market's start price"
    ticks = _first_recorded_ticks(feed)
    if ticks:
        return instrument.tick_size * ticks, "the first price of the recording"
    return None


def _first_recorded_ticks(feed: "MarketFeed") -> int | Decimal | None:
    """The first trade price of a replay feed, else the mid of its first snapshot.

    Reads what ReplayFeed keeps (its trade array and event columns); the session does not
    keep the events themselves. Any other feed, or a layout this does not know: None, and
    the notional checks are skipped (with a note)."""
    try:
        trades = getattr(feed, "_trades", None)
        if trades is not None and len(trades):
            return int(trades["price_ticks"][0])
        cols = getattr(feed, "_cols", None)
        if cols is None:
            return None
        from app.data.events import SNAPSHOT

        for msg in range(len(cols)):
            if int(cols.msg_kind[msg]) != SNAPSHOT:
                continue
            sides, prices, _qtys = cols.levels(msg)
            bids = [int(p) for s, p in zip(sides, prices) if s > 0]
            asks = [int(p) for s, p in zip(sides, prices) if s < 0]
            if bids and asks:
                return Decimal(max(bids) + min(asks)) / 2
            return None
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return None
    return None


def _effective_instrument(source: str, overrides: dict | None, instrument: "Instrument",
                          where: str = "instrument") -> "Instrument":
    """The connector's instrument with the user's rules (a no-op once the venue applied them)."""
    if not overrides:
        return instrument
    try:
        return instrument.with_rules(**overrides)
    except (TypeError, ValueError) as exc:
        raise ConfigError(source, where, str(exc)) from None


def _param_path(strategy, amount: Decimal) -> str:  # noqa: ANN001 - a Strategy
    """The strategy parameter an amount comes from, for messages."""
    for key, value in strategy.params.items():
        if isinstance(value, Decimal) and value == amount:
            return f"strategy.params.{key}"
    return "strategy.params"


def _fmt(value: Decimal) -> str:
    """A readable amount: at most 8 decimal places, no exponent."""
    value = Decimal(value)
    if value != 0 and value.adjusted() >= -8:
        value = value.quantize(Decimal("1e-8"))
    text = format(value.normalize(), "f")
    return text
