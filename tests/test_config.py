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
