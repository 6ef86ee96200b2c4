"""The parameter space of a sweep: which settings vary, over which values.

An axis is written `KEY=V1,V2,...` or, for numbers, `KEY=LOW..HIGH` (a range: optuna
samples it) or `KEY=LOW..HIGH:STEP` (a stepped range: a grid walks it). KEY is a strategy
parameter (`bid_spread_bps`, also `strategy.params.bid_spread_bps`), a venue field
(`venue.latency_ms`) or a market rule (`instrument.maker_fee`). Every value is checked by
the same schema Field the config file uses, before anything runs, so a sweep cannot
start with a value the config loader would refuse. A one-value axis is a plain override.
"""
from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterator, Sequence

from app.config.bot_config import INSTRUMENT_FIELDS, INSTRUMENT_SCHEMA, VENUE_SCHEMA, BotConfig
from app.config.schema import ConfigError, Field, show
from strategies.registry import STRATEGIES

SOURCE = "--grid"
MAX_RUNS = 100_000
"""A grid beyond this is a typo (a step of 0.0001 instead of 0.1), not a plan."""
_NUMERIC = ("int", "float", "decimal")
_SCALAR = (*_NUMERIC, "bool", "choice", "str")
"""Field kinds a sweep can vary (a list of entries is not one value on an axis)."""
_FIXED_VENUE = ("kind", "exchange_account")
"""Venue fields a sweep never varies: a sweep compares runs of one venue."""
_RULES = ("tick", "lot", "min_notional", "contract_size", "maker_fee", "taker_fee")
"""Market rules a sweep may vary (fee sensitivity, a coarser tick); not the assets or kind."""


@dataclass(frozen=True)
class Axis:
    """One varied setting. `values` are the grid's (checked by `field`); a range without a
    step has only `low`/`high` and can be sampled (optuna) but not walked."""

    key: str
    """Canonical: a strategy parameter's name, `venue.NAME` or `instrument.NAME`."""
    field: Field
    values: tuple[Any, ...] = ()
    low: Any = None
    high: Any = None
    step: Any = None

    @property
    def is_range(self) -> bool:
        return self.low is not None

    @property
    def section(self) -> str:
        head, _, _ = self.key.partition(".")
        return head if head in ("venue", "instrument") and "." in self.key else "params"


def sweepable_fields(strategy: str) -> dict[str, Field]:
    """Every key an axis may name for this strategy, with its Field (the desktop lists them)."""
    fields: dict[str, Field] = {f.name: f for f in STRATEGIES[strategy].schema.fields if f.kind in _SCALAR}
    fields.update({f"venue.{f.name}": f for f in VENUE_SCHEMA.fields if f.name not in _FIXED_VENUE})
    fields.update({f"instrument.{f.name}": f for f in INSTRUMENT_SCHEMA.fields if f.name in _RULES})
    return fields


def resolve_key(key: str, strategy: str, source: str = SOURCE) -> tuple[str, Field]:
    """The canonical key and its Field; ConfigError naming the key (and `source`: the flag)
    if there is none."""
    key = key.strip()
    canonical = key.removeprefix("strategy.params.").removeprefix("params.")
    fields = sweepable_fields(strategy)
    if canonical in fields:
        return canonical, fields[canonical]
    if canonical.startswith("venue.") and canonical[6:] in _FIXED_VENUE:
        why = ("a sweep runs on one venue: this field cannot vary" if source == SOURCE
               else "the venue's kind and account are the config file's to say")
        raise ConfigError(source, key, why)
    known = ", ".join(k for k in fields if "." not in k)
    raise ConfigError(source, key or "(empty)", f"unknown parameter of {strategy} (known: {known}; "
                                                "or venue.FIELD, instrument.FIELD)")


def parse_value(spec: Field, text: str, key: str, source: str = SOURCE) -> Any:
    """One value as written on the command line or in the desktop form, checked by `spec`."""
    text = text.strip()
    raw: Any = text
    if spec.kind == "bool":
        lowered = text.lower()
        if lowered in ("true", "yes", "on", "1"):
            raw = True
        elif lowered in ("false", "no", "off", "0"):
            raw = False
    return spec.coerce(raw, source, key[: len(key) - len(spec.name)])  # the error names the key as written


def parse_axis(text: str, strategy: str, *, sampled: bool = False) -> Axis:
    """`KEY=V1,V2,...` or `KEY=LOW..HIGH[:STEP]`. `sampled` (optuna) allows a range without a
    step. Raises ConfigError naming the key and the bad value."""
    key, sep, spec_text = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(SOURCE, text.strip() or "(empty)", "expected PARAM=V1,V2,... or PARAM=LOW..HIGH")
    canonical, spec = resolve_key(key, strategy)
    spec_text = spec_text.strip()
    if not spec_text:
        raise ConfigError(SOURCE, canonical, "no values given")
    if ".." in spec_text:
        return _parse_range(canonical, spec, spec_text, sampled)
    tokens = [t.strip() for t in spec_text.split(",")]
    if any(not t for t in tokens):
        raise ConfigError(SOURCE, canonical, f"an empty value in {show(spec_text)}")
    values = tuple(parse_value(spec, t, canonical) for t in tokens)
    if len(set(values)) != len(values):
        raise ConfigError(SOURCE, canonical, f"a value is listed twice in {show(spec_text)}")
    return Axis(canonical, spec, values=values)


def _parse_range(key: str, spec: Field, text: str, sampled: bool) -> Axis:
    if spec.kind not in _NUMERIC:
        raise ConfigError(SOURCE, key, "a range LOW..HIGH needs a number parameter; list the values instead")
    bounds, _, step_text = text.partition(":")
    low_text, sep, high_text = bounds.partition("..")
    if not sep or ".." in high_text or "," in text:
        raise ConfigError(SOURCE, key, f"expected LOW..HIGH or LOW..HIGH:STEP, got {show(text)}")
    low, high = parse_value(spec, low_text, key), parse_value(spec, high_text, key)
    if not low < high:
        raise ConfigError(SOURCE, key, f"the range {show(text)} is empty: LOW must be below HIGH")
    step = None
    if step_text.strip():
        step = _positive_step(spec, step_text.strip(), key)
        values = _walk(spec, key, low, high, step)
        return Axis(key, spec, values=values, low=low, high=high, step=step)
    if not sampled:
        raise ConfigError(SOURCE, key, f"a range needs a step for a grid ({low_text.strip()}..{high_text.strip()}:STEP) "
                                       "or --optuna to sample it")
    return Axis(key, spec, low=low, high=high)


def _positive_step(spec: Field, text: str, key: str) -> Any:
    try:
        step = Decimal(text)
    except InvalidOperation:
        raise ConfigError(SOURCE, key, f"the step must be a number, got {show(text)}") from None
    if not step.is_finite() or step <= 0 or (spec.kind == "int" and step != step.to_integral_value()):
        whole = "a whole number " if spec.kind == "int" else ""
        raise ConfigError(SOURCE, key, f"the step must be {whole}greater than 0, got {show(text)}")
    return int(step) if spec.kind == "int" else step


def _walk(spec: Field, key: str, low: Any, high: Any, step: Any) -> tuple[Any, ...]:
    """LOW, LOW+STEP, ... up to HIGH, in exact Decimal steps (0.1 + 0.2 is 0.3 here)."""
    start, stop, size = Decimal(str(low)), Decimal(str(high)), Decimal(str(step))
    count = int((stop - start) / size) + 1
    if count > MAX_RUNS:
        raise ConfigError(SOURCE, key, f"the step gives {count} values (at most {MAX_RUNS})")
    return tuple(parse_value(spec, str(start + i * size), key) for i in range(count))


def parse_axes(texts: Sequence[str], strategy: str, *, sampled: bool = False) -> list[Axis]:
    """Every --grid, checked; a key given twice is refused (which one would win?)."""
    axes: list[Axis] = []
    for text in texts:
        axis = parse_axis(text, strategy, sampled=sampled)
        if any(a.key == axis.key for a in axes):
            raise ConfigError(SOURCE, axis.key, "given twice (list every value in one --grid)")
        axes.append(axis)
    if not sampled:
        total = grid_size(axes)
        if total > MAX_RUNS:
            raise ConfigError(SOURCE, "", f"the grid has {total} runs (at most {MAX_RUNS})")
    return axes


def grid_size(axes: Sequence[Axis]) -> int:
    total = 1
    for axis in axes:
        total *= len(axis.values)
    return total


def expand_grid(axes: Sequence[Axis]) -> Iterator[dict[str, Any]]:
    """The cartesian product, the last axis varying fastest (as nested loops would)."""
    keys = [a.key for a in axes]
    for combo in itertools.product(*(a.values for a in axes)):
        yield dict(zip(keys, combo))


def apply_overrides(config: BotConfig, overrides: dict[str, Any]) -> BotConfig:
    """A copy of `config` with the sweep's values, validated as the config file would be
    (so a combination the strategy refuses fails this run, named, not the sweep)."""
    params: dict[str, Any] = {}
    venue: dict[str, Any] = {}
    rules: dict[str, Any] = {}
    for key, value in overrides.items():
        section, _, name = key.partition(".")
        if not name:
            params[key] = value
        elif section == "venue" and name not in _FIXED_VENUE:
            venue[name] = value  # an unknown name is refused by the venue schema below
        elif section == "instrument" and name in _RULES:
            rules[INSTRUMENT_FIELDS[name]] = INSTRUMENT_SCHEMA.by_name()[name].coerce(value, config.source, "instrument.")
        else:
            raise ConfigError(config.source, key, "not a setting a sweep can vary")
    schema = config.strategy_class().schema  # in a worker: loads a user strategy's file from its path
    return dataclasses.replace(
        config,
        params=schema.validate({**config.params, **params}, config.source, "strategy.params.") if params
        else dict(config.params),
        venue=VENUE_SCHEMA.validate({**config.venue, **venue}, config.source, "venue.") if venue else dict(config.venue),
        instrument_overrides={**config.instrument_overrides, **rules},
        balances=dict(config.balances),
        recordings=list(config.recordings),
    )


def format_value(value: Any) -> str:
    """A parameter value as a CSV cell or an axis label: exact, no float noise."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral_value() else format(value, "f")
    if isinstance(value, float):
        return repr(value) if not value.is_integer() else str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)
