"""The schema's list kind: entries of typed parts, from YAML lists or one line of text.

The same Field serves the YAML loader, the bot form (a line edit: the value's text form
is shown and read back) and live edits, so each form must give the same typed value and
every error must name the entry and part at fault.
"""
from __future__ import annotations

from decimal import Decimal

import pytest

from app.config.schema import ConfigError, Entries, Field, Schema

LEVELS = Field("levels", "list", Entries(), maximum=3, items=(
    Field("side", "choice", choices=("buy", "sell"), required=True),
    Field("spread", "decimal", required=True, minimum=0, maximum=100),
    Field("amount", "decimal", Decimal("0.1"), minimum=0, exclusive_minimum=True),
))
EXPECTED = [{"side": "buy", "spread": Decimal("2"), "amount": Decimal("0.01")},
            {"side": "sell", "spread": Decimal("3.5"), "amount": Decimal("0.02")}]


@pytest.mark.parametrize("raw", [
    "buy 2 0.01; sell 3.5 0.02",
    "buy, 2, 0.01;sell,3.5,0.02;",
    [["buy", 2, "0.01"], ["sell", "3.5", 0.02]],
    [{"side": "buy", "spread": 2, "amount": "0.01"}, {"side": "sell", "spread": 3.5, "amount": "0.02"}],
    ["buy 2 0.01", "sell 3.5 0.02"],
])
def test_every_form_gives_the_same_entries(raw):
    assert list(LEVELS.coerce(raw)) == EXPECTED


def test_text_form_round_trips_and_empty_is_none():
    value = LEVELS.coerce("buy 2 0.010; sell 3.50 0.02")
    assert str(value) == "buy 2 0.01; sell 3.5 0.02"
    assert LEVELS.coerce(str(value)) == value
    assert str(LEVELS.coerce("none")) == "none" and LEVELS.coerce("") == () and LEVELS.coerce([]) == ()


def test_a_mapping_entry_takes_the_parts_defaults():
    assert LEVELS.coerce([{"side": "sell", "spread": 1}])[0]["amount"] == Decimal("0.1")


@pytest.mark.parametrize("raw, path, reason", [
    (5, "p.levels", "expected a list of entries (side spread amount)"),
    ("buy 2", "p.levels[0]", "expected 3 values"),
    ("buy 2 0.1; hold 1 0.1", "p.levels[1].side", "not one of: buy, sell"),
    ("buy -1 0.1", "p.levels[0].spread", "must be at least 0"),
    ("buy 1 0", "p.levels[0].amount", "must be greater than 0"),
    ("buy 1 nan", "p.levels[0].amount", "finite"),
    ([{"side": "buy"}], "p.levels[0].spread", "is required"),
    ([{"side": "buy", "spread": 1, "size": 1}], "p.levels[0].size", "unknown field"),
    ([7], "p.levels[0]", "expected an entry"),
    ("buy 1 1; buy 2 1; buy 3 1; buy 4 1", "p.levels", "at most 3 entries, got 4"),
])
def test_errors_name_the_entry_and_part(raw, path, reason):
    with pytest.raises(ConfigError) as caught:
        LEVELS.coerce(raw, "cfg.yaml", "p.")
    assert caught.value.field_path == path
    assert reason in str(caught.value) and str(caught.value).startswith(f"cfg.yaml: {path}: ")


def test_only_a_list_has_items():
    with pytest.raises(ValueError):
        Field("x", "list")
    with pytest.raises(ValueError):
        Field("x", "int", items=(Field("y", "int"),))


def test_schema_check_sees_the_typed_values_and_names_the_field():
    def low_below_high(values, source, prefix):
        if values["low"] >= values["high"]:
            raise ConfigError(source, f"{prefix}low", f"must be below high ({values['high']})")

    schema = Schema((Field("low", "int", 1), Field("high", "int", 2)), check=low_below_high)
    assert schema.validate({"low": "1", "high": 5}) == {"low": 1, "high": 5}
    with pytest.raises(ConfigError, match=r"^f.yaml: s.low: must be below high \(2\)$"):
        schema.validate({"low": 3}, "f.yaml", "s.")
