"""Bot configs: every error names the file, the field and the reason."""
from decimal import Decimal

import pytest

from app.config.bot_config import load_config
from app.config.schema import ConfigError, Field, Schema


def write(tmp_path, text):
    path = tmp_path / "bot.yaml"
    path.write_text(text)
    return path


def test_valid_config_loads_with_defaults(tmp_path):
    cfg = load_config(write(tmp_path, "strategy:\n  name: simple_quoter\n  params:\n    bid_spread_bps: 5\n"))
    assert cfg.params["bid_spread_bps"] == Decimal("5")
    assert cfg.params["order_levels"] == 1
    assert cfg.venue["kind"] == "demo"


@pytest.mark.parametrize(
    "text, field, reason",
    [
        ("strategy:\n  params:\n    bid_spread_bps: -1\n", "strategy.params.bid_spread_bps", "at least 0"),
        ("strategy:\n  params:\n    order_amount: lots\n", "strategy.params.order_amount", "expected a number"),
        ("strategy:\n  params:\n    order_amount: 0\n", "strategy.params.order_amount", "greater than 0"),
        ("strategy:\n  params:\n    spread: 1\n", "strategy.params.spread", "unknown field"),
        ("strategy:\n  name: nope\n", "strategy.name", "unknown strategy"),
        ("venue:\n  kind: binance\n", "venue.kind", "not one of"),
        ("venue:\n  kind: replay\n", "recordings", "needs at least one"),
        ("recordings: [missing.gz]\n", "recordings[0]", "file not found"),
        ("balances:\n  USDT: -5\n", "balances.USDT", "at least 0"),
        ("colour: red\n", "colour", "unknown section"),
    ],
)
def test_invalid_configs_name_file_field_and_reason(tmp_path, text, field, reason):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.source == str(path)
    assert info.value.field_path == field
    assert reason in info.value.reason


def test_yaml_syntax_error_names_the_line(tmp_path):
    with pytest.raises(ConfigError, match="line 2"):
        load_config(write(tmp_path, "strategy:\n  name: a: b\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")


def test_schema_live_changes_validated():
    schema = Schema((Field("x", "int", 1, minimum=0, maximum=5),))
    assert schema.validate_changes({"x": "3"}) == {"x": 3}
    with pytest.raises(ConfigError, match="at most 5"):
        schema.validate_changes({"x": 9})
    with pytest.raises(ConfigError, match="whole number"):
        schema.validate_changes({"x": 1.5})


@pytest.mark.parametrize(
    "text, field, reason",
    [
        ("venue:\n  speed: .nan\n", "venue.speed", "finite"),
        ("venue:\n  speed: .inf\n", "venue.speed", "finite"),
        ("venue:\n  latency_ms: nan\n", "venue.latency_ms", "finite"),
        ("venue:\n  latency_ms: '-inf'\n", "venue.latency_ms", "finite"),
        ("venue:\n  seed: .nan\n", "venue.seed", "finite"),
        ("strategy:\n  params:\n    order_amount: .inf\n", "strategy.params.order_amount", "finite"),
        ("strategy:\n  params:\n    refresh_seconds: nan\n", "strategy.params.refresh_seconds", "finite"),
        ("balances:\n  BTC: .nan\n", "balances.BTC", "finite"),
        ("venue:\n  seed: 9223372036854775808\n", "venue.seed", "at most 9223372036854775807"),
        ("venue:\n  seed: 1e400\n", "venue.seed", "whole number"),
        ("venue:\n  step_ms: 99999999999999999999999\n", "venue.step_ms", "at most 1000"),
        ("venue:\n  seed: [1, 2]\n", "venue.seed", "expected a number"),
        ("venue:\n  kind: [demo]\n", "venue.kind", "not one of"),
        ("venue:\n  seed: 3\n  colour: red\n", "venue.colour", "unknown field"),
        ("venue: [1, 2]\n", "venue", "expected a mapping"),
        ("strategy:\n  name: [x]\n", "strategy.name", "expected text"),
        ("strategy:\n  speed: 1\n", "strategy.speed", "unknown field"),
        ("strategy: 3\n", "strategy", "expected a mapping"),
        ("strategy:\n  params: 3\n", "strategy.params", "expected a mapping"),
        ("strategy:\n  params:\n    order_amount: -0.1\n", "strategy.params.order_amount", "greater than 0"),
        ("balances:\n  BTC: 1e16\n", "balances.BTC", "at most 1e15"),
        ("balances:\n  BTC: 0.0000000000000000001\n", "balances.BTC", "decimal places"),
        ("balances:\n  BTC: 1\n  btc: 2\n", "balances.btc", "given twice"),
        ("balances:\n  [a]: 1\n", "", "unhashable"),
        ("balances:\n  3: 1\n", "balances.3", "asset code"),
        ("name: \"two\\nlines\"\n", "name", "one line"),
        (3 * "1: 1\n", "", "given twice"),
        ("2: x\n", "2", "unknown section"),
        ("instrument:\n  tick: 0\n", "instrument.tick", "greater than 0"),
        ("instrument:\n  lot: -1\n", "instrument.lot", "greater than 0"),
        ("instrument:\n  contract_size: 0\n", "instrument.contract_size", "greater than 0"),
        ("instrument:\n  min_notional: -5\n", "instrument.min_notional", "at least 0"),
        ("instrument:\n  maker_fee: 0.5\n", "instrument.maker_fee", "at most 0.1"),
        ("instrument:\n  taker_fee: -0.02\n", "instrument.taker_fee", "at least -0.01"),
        ("instrument:\n  tick: .nan\n", "instrument.tick", "finite"),
        ("instrument:\n  kind: future\n", "instrument.kind", "not one of"),
        ("instrument:\n  base: 'B T C'\n", "instrument.base", "asset code"),
        ("instrument:\n  kind: spot\n  settle: USDT\n", "instrument.settle", "spot market"),
        ("instrument:\n  tick_size: 0.1\n", "instrument.tick_size", "unknown field"),
        ("instrument: 0.1\n", "instrument", "expected a mapping"),
    ],
)
def test_broken_values_anywhere_name_the_field(tmp_path, text, field, reason):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.source == str(path)
    assert info.value.field_path == field
    assert reason in info.value.reason
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("", "the file is empty"),
        ("  \n\n", "the file is empty"),
        ("# just a comment\n", "the file is empty"),
        ("- a\n- b\n", "must hold a mapping"),
        ("just text\n", "must hold a mapping"),
        ("venue:\n  seed: 1\n  seed: 2\n", "line 3, column 3: the key 'seed' is given twice (first on line 2)"),
        ("name: a\nname: b\n", "the key 'name' is given twice"),
        ("x: " + "[" * 5000, "invalid YAML"),
        ("seed: " + "9" * 5000 + "\n", "invalid YAML"),
        ("a: b: c\n", "invalid YAML: line 1"),
    ],
)
def test_unusable_files_are_refused_with_the_reason(tmp_path, text, reason):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.source == str(path)
    assert reason in str(info.value)
    assert "\n" not in str(info.value)


def test_yaml_merge_keys_may_be_overridden(tmp_path):
    cfg = load_config(write(tmp_path, "strategy:\n  params:\n    <<: {order_levels: 2, bid_spread_bps: 3}\n"
                                      "    order_levels: 3\n"))
    assert cfg.params["order_levels"] == 3
    assert cfg.params["bid_spread_bps"] == Decimal("3")


def test_instrument_section_keeps_only_given_keys_as_instrument_fields(tmp_path):
    from app.domain.instrument import BTC_USDT

    cfg = load_config(write(tmp_path, "instrument:\n  tick: 0.1\n  lot: '0.001'\n  min_notional: 10\n"
                                      "  maker_fee: -0.0001\n  taker_fee: 0.0004\n  base: btc\n"))
    assert cfg.instrument_overrides == {
        "tick_size": Decimal("0.1"), "lot_size": Decimal("0.001"), "min_notional": Decimal("10"),
        "maker_fee": Decimal("-0.0001"), "taker_fee": Decimal("0.0004"), "base": "BTC",
    }
    assert BTC_USDT.with_rules(**cfg.instrument_overrides).tick_size == Decimal("0.1")  # names match Instrument
    assert load_config(write(tmp_path, "instrument:\n")).instrument_overrides == {}
    assert load_config(write(tmp_path, "name: x\n")).instrument_overrides == {}
    inverse = load_config(write(tmp_path, "instrument: {kind: inverse, contract_size: 100, settle: BTC}\n"))
    assert inverse.instrument_overrides == {"kind": "inverse", "contract_size": Decimal("100"), "settle": "BTC"}


@pytest.mark.parametrize(
    "kind, raw, message",
    [
        ("float", float("nan"), "finite"),
        ("float", "inf", "finite"),
        ("float", " NaN ", "finite"),
        ("float", 10**400, "a number"),
        ("decimal", "nan", "finite"),
        ("decimal", "sNaN", "finite"),
        ("decimal", "-Infinity", "finite"),
        ("decimal", float("inf"), "finite"),
        ("int", float("inf"), "finite"),
        ("int", 2**63, "at most 9223372036854775807"),
        ("int", -(2**63) - 1, "at most 9223372036854775807"),
        ("int", "12abc", "whole number"),
        ("int", {"a": 1}, "expected a number"),
    ],
)
def test_field_refuses_non_finite_and_oversized_numbers(kind, raw, message):
    with pytest.raises(ConfigError, match=message):
        Field("x", kind).coerce(raw, "src")


def test_field_still_accepts_ordinary_numbers():
    assert Field("x", "int").coerce(2**63 - 1) == 2**63 - 1
    assert Field("x", "int").coerce("42") == 42
    assert Field("x", "float").coerce("1.5") == 1.5
    assert Field("x", "decimal").coerce(0.1) == Decimal("0.1")
    assert Field("x", "decimal").coerce("1.000000000000000000000") == Decimal(1)  # trailing zeros are fine


def test_a_bool_given_as_text_is_read_as_the_journal_writes_it():
    """A resumed bot's parameters come back from the journal as text ("True"); a bool field
    reads true/false in any case and still refuses anything else."""
    from app.config.schema import Field

    spec = Field("post_only", "bool", True)
    assert spec.coerce("True", "j") is True and spec.coerce(" false ", "j") is False
    with pytest.raises(ConfigError, match="expected true or false"):
        spec.coerce("yes", "j")
