"""`python main.py strategies [NAME]`: the strategies and their parameters, from their schemas.

The same schema that checks a config and builds the desktop form says here what each
parameter is (type, default, unit, range, help), so the command line never needs a
separate, drifting list; `run` and `backtest` take `--set NAME=VALUE` through it too.
"""
from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Any

from app.config.schema import Field


def add_parser(sub: Any) -> None:
    parser = sub.add_parser("strategies", help="list the strategies, or one strategy's parameters")
    parser.add_argument("name", nargs="?", help="a strategy's name: its parameters, with types, defaults and ranges")
    parser.add_argument("--strategy-file", action="append", metavar="FILE",
                        help="a Python file defining strategies of your own (repeatable)")
    parser.set_defaults(func=cmd_strategies)


def cmd_strategies(args: argparse.Namespace) -> int:
    from app.wiring.user_strategies import load_for_command_line
    from strategies.registry import STRATEGIES

    load_for_command_line(args.strategy_file, sys.stderr)
    if args.name is None:
        width = max(len(name) for name in STRATEGIES)
        for name, cls in STRATEGIES.items():
            roles = ", ".join(r.name + ("?" if r.optional else "") for r in cls.roles)
            print(f"{name:<{width}}  {cls.title}  [markets: {roles}]")
        print("\n(python main.py strategies NAME: its parameters)")
        return 0
    cls = STRATEGIES.get(args.name)
    if cls is None:
        print(f"error: unknown strategy {args.name!r} (known: {', '.join(STRATEGIES)})", file=sys.stderr)
        return 2
    print(f"{cls.name}: {cls.title}")
    for role in cls.roles:
        print(f"  market {role.name}{' (optional)' if role.optional else ''}: {role.help or role.title}")
    print()
    for spec in cls.schema.fields:
        print(describe_field(spec))
    return 0


def describe_field(spec: Field) -> str:
    """One parameter: `name  kind = default unit  [range]` and its help, wrapped."""
    default = "(none)" if spec.default is None else _text(spec.default)
    unit = f" {spec.unit}" if spec.unit else ""
    head = f"  {spec.name}  {spec.kind} = {default}{unit}"
    bounds = _range(spec)
    if bounds:
        head += f"  [{bounds}]"
    body = textwrap.fill(spec.help, width=96, initial_indent="      ", subsequent_indent="      ") if spec.help else ""
    return head + ("\n" + body if body else "")


def _range(spec: Field) -> str:
    if spec.choices:
        return " | ".join(spec.choices)
    low = "" if spec.minimum is None else (">" if spec.exclusive_minimum else ">=") + " " + _text(spec.minimum)
    high = "" if spec.maximum is None else "<= " + _text(spec.maximum)
    return ", ".join(part for part in (low, high) if part)


def _text(value: Any) -> str:
    from app.wiring.sweep_space import format_value

    return format_value(value)


def apply_sets(config: Any, sets: list[str] | None) -> Any:
    """`--set NAME=VALUE` (repeatable): a strategy parameter, `venue.FIELD` or
    `instrument.RULE`, checked by the same schema as the config file; ConfigError names the
    flag and the key."""
    if not sets:
        return config
    from app.config.schema import ConfigError
    from app.wiring.sweep_space import apply_overrides, parse_value, resolve_key

    values: dict[str, Any] = {}
    for text in sets:
        key, sep, raw = text.partition("=")
        if not sep or not key.strip():
            raise ConfigError("--set", text, "expected NAME=VALUE, e.g. --set bid_spread_bps=2")
        canonical, spec = resolve_key(key, config.strategy, "--set")
        values[canonical] = parse_value(spec, raw, key.strip(), "--set")
    return apply_overrides(config, values)
