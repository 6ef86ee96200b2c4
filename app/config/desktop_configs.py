"""Bot configs between the desktop's bot form and YAML files (the CLI's schema, app/config/bot_config.py).

Export writes what the form holds, a strategy, its parameters, the risk limits given and
each market role's account and symbol, as a config `python main.py run --config` takes:
the desktop's accounts become venue sections ("demo" the demo exchange, "paper" paper
trading on its feed, "demo-lagged" a demo market following another role's, a live
account `kind: ccxt` with its `exchange_account`). The text is parsed back before it is
written, so an exported file is always one the app accepts.

Import reads a file with the CLI's own loader (every field checked, a user strategy file
loaded) and maps its markets onto the accounts open in the window. Anything that cannot
be used (a replay venue, an account not connected, a role bound to nothing) is a
ConfigError, one line, before the form is touched: an import is applied whole or not at all.
Qt-free.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Collection

import yaml

from app.config.bot_config import load_config, parse_config
from app.config.schema import ConfigError
from strategies.user_files import strategy_file_of

DEMO_SEED = 7  # the desktop's demo exchange (app/wiring/workspace.py build_workspace)
LAGGED_ACCOUNT = "demo-lagged"
LAGGED_VENUE = {"kind": "demo", "seed": DEMO_SEED + 1, "lag_ms": 250, "noise_bps": 1}


@dataclass
class FormConfig:
    """What the bot form holds: strategy, typed parameters, the risk limits (None: off) and
    each bound role's (account, symbol or None for the account's first)."""

    strategy: str
    params: dict[str, Any]
    risk: dict[str, Any]
    markets: dict[str, tuple[str, str | None]]
    name: str | None = None
    notes: list[str] = field(default_factory=list)  # what an import could not keep, in words


def venue_of(account: str, follow: str | None = None) -> dict[str, Any]:
    """The config's venue section for one of the window's accounts."""
    if account == "demo":
        return {"kind": "demo", "seed": DEMO_SEED}
    if account == "paper":
        return {"kind": "demo", "seed": DEMO_SEED, "account": "paper"}
    if account == LAGGED_ACCOUNT:
        venue = dict(LAGGED_VENUE)
        if follow is not None:
            venue["follow"] = follow
        else:  # alone (no role to follow): a demo market of its own seed
            venue = {"kind": "demo", "seed": LAGGED_VENUE["seed"]}
        return venue
    return {"kind": "ccxt", "exchange_account": account}


def to_yaml(form: FormConfig, roles: list[str], source: str = "bot form") -> str:
    """The config text for `form` (roles: the strategy's role names in order). ConfigError
    if the result would not load (checked by parsing it back)."""
    data: dict[str, Any] = {}
    if form.name:
        data["name"] = form.name
    bound = [role for role in roles if role in form.markets]
    if not bound:
        raise ConfigError(source, "markets", "no market is chosen for the bot")
    first_account = form.markets[bound[0]][0]
    if len(roles) == 1:
        account, symbol = form.markets[bound[0]]
        data["venue"] = venue_of(account)
        if symbol:
            data["symbol"] = symbol
    else:
        sections = {}
        for role in bound:
            account, symbol = form.markets[role]
            follow = bound[0] if account == LAGGED_ACCOUNT and first_account == "demo" and role != bound[0] else None
            section: dict[str, Any] = {"venue": venue_of(account, follow)}
            if symbol:
                section["symbol"] = symbol
            sections[role] = section
        data["markets"] = sections
    data["strategy"] = {"name": form.strategy}
    user_file = strategy_file_of(form.strategy)
    if user_file is not None:  # a strategy of your own: the file that defines it, so `run` finds it too
        data["strategy"]["file"] = str(user_file)
    data["strategy"]["params"] = {k: _plain(v) for k, v in form.params.items()}
    risk = {k: _plain(v) for k, v in form.risk.items() if v not in (None, "", False)}
    if risk:
        data["risk"] = risk
    text = ("# A Colibri bot config, exported from the desktop's bot form.\n"
            "# Run it headless: python main.py run --config THIS_FILE\n"
            + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False))
    parse_config(yaml.safe_load(text), source)  # never write a file the app would refuse
    return text


def from_file(path: str | Path, accounts: Collection[str], roles_of: Any) -> FormConfig:
    """The form's values from a config file; `accounts`: the accounts open in the window;
    `roles_of(strategy) -> list of role names`. ConfigError (one line) if the file is bad
    or its markets cannot be bound here."""
    cfg = load_config(path)  # every field checked; a user strategy file loaded
    source = str(path)
    roles = list(roles_of(cfg.strategy))
    markets: dict[str, tuple[str, str | None]] = {}
    notes: list[str] = []
    for role, binding in cfg.bindings().items():
        where = f"markets.{role}.venue" if cfg.markets else "venue"
        account = _account_for(binding.venue, accounts, source, where, notes)
        markets[role] = (account, binding.symbol if binding.symbol_given else None)
    if not markets or roles[0] not in markets:
        raise ConfigError(source, "markets", f"the strategy's first market ({roles[0]}) is not bound")
    return FormConfig(cfg.strategy, dict(cfg.params), dict(cfg.risk.values), markets, cfg.name, notes)


def _account_for(venue: dict[str, Any], accounts: Collection[str], source: str, where: str,
                 notes: list[str]) -> str:
    kind = venue["kind"]
    if kind == "replay":
        raise ConfigError(source, f"{where}.kind", "a replay runs in the Backtest panel, not as a bot in the window")
    if kind == "ccxt":
        name = venue.get("exchange_account")
        if not name:
            raise ConfigError(source, f"{where}.exchange_account", "say which saved account to trade with")
        if name not in accounts:
            raise ConfigError(source, f"{where}.exchange_account", f"the account {name!r} is not connected in the "
                                                                   "window (connect it from the Accounts menu first)")
        return name
    if venue.get("follow"):
        account = LAGGED_ACCOUNT
    elif venue.get("account") == "paper":
        account = "paper"
    else:
        account = "demo"
    if account not in accounts:
        raise ConfigError(source, where, f"the window has no {account} account")
    if venue.get("seed", DEMO_SEED) not in (DEMO_SEED, LAGGED_VENUE["seed"]):
        notes.append(f"{where}: the window's {account} market is used (the config's seed {venue['seed']} is not)")
    return account


def _plain(value: Any) -> Any:
    """A YAML-friendly value: Decimals as plain numbers when a float reads back exactly, else text."""
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f") if value else "0"
        number = float(text)
        if math.isfinite(number) and Decimal(repr(number)) == value:
            return _Number(text)
        return text
    return value


class _Number(str):
    """A decimal written as a plain YAML number (its exact text, no quotes)."""


class _Dumper(yaml.SafeDumper):
    pass


_Dumper.add_representer(_Number, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:float" if "." in value else "tag:yaml.org,2002:int", str(value)))
