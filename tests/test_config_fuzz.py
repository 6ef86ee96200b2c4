"""Fuzzing the command line with generated bot configs, valid and broken.

Every case either runs (exit 0, or 3 when orders were left open) or is refused with exit
2 and exactly one line on stderr starting with "error:"; it never raises.
"""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import cli
from tests.synthetic_recordings import spot_session, write_recording

FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

safe_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
odd_numbers = st.sampled_from([
    float("nan"), float("inf"), float("-inf"), "nan", "NaN", "inf", "-Infinity", ".nan", "1e400", 2**63, 2**64,
    -(2**63) - 1, 10**30, -1, 0, -0.0, 1e-30, "1e-30", "abc", "", " ", True, None, [], {}, "0x10", 1.5, "7",
])
numbers = st.one_of(
    st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str), odd_numbers,
)
leaves = st.one_of(st.none(), st.booleans(), numbers, safe_text)
anything = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(safe_text, inner, max_size=3)), max_leaves=8)


def rarely(one_in: int) -> st.SearchStrategy[bool]:
    """True about once in `one_in` draws (hypothesis favours the ends of integer ranges)."""
    return st.sampled_from([False] * (one_in - 1) + [True])


def round_floats(low: float, high: float) -> st.SearchStrategy[float]:
    """Numbers as people write them (a float with 17 digits has too many decimal places)."""
    return st.floats(low, high).map(lambda x: round(x, 3))


@st.composite
def maybe(draw, strategy, other=anything):
    """Mostly a plausible value, sometimes anything at all."""
    return draw(other) if draw(rarely(25)) else draw(strategy)


def section(fields: dict) -> st.SearchStrategy:
    """A mapping with some of `fields`, and sometimes an unknown key."""
    keys = st.lists(st.sampled_from(sorted(fields)), unique=True, max_size=len(fields))

    @st.composite
    def build(draw):
        out = {key: draw(fields[key]) for key in draw(keys)}
        if draw(rarely(40)):
            out[draw(safe_text)] = draw(anything)
        return out

    return maybe(build())


def venue(recordings: list[str]):
    return section({
        "kind": maybe(st.sampled_from(["demo", "demo", "replay"])),
        "account": maybe(st.sampled_from(["exchange", "paper"])),
        "seed": maybe(st.integers(0, 2**63 - 1)),
        "step_ms": maybe(st.integers(20, 1000)),
        "speed": maybe(round_floats(0.01, 10000)),
        "latency_ms": maybe(round_floats(0, 500)),
    })


params = section({
    "order_amount": maybe(st.sampled_from([0.002, 0.5, 1, 0.1, 0.00001, 0.0000001, "0.0020005", 50])),
    "bid_spread_bps": maybe(round_floats(0, 5000)),
    "ask_spread_bps": maybe(round_floats(0, 5000)),
    "order_levels": maybe(st.integers(1, 20)),
    "level_step_bps": maybe(round_floats(0, 100)),
    "refresh_seconds": maybe(round_floats(0.1, 100)),
    "refresh_tolerance_bps": maybe(round_floats(0, 100)),
    "inventory_target_base_pct": maybe(round_floats(0, 100)),
    "inventory_skew_bps": maybe(round_floats(0, 100)),
    "filled_order_delay_seconds": maybe(round_floats(0, 10)),
    "post_only": maybe(st.booleans()),
})
instrument = section({
    "tick": maybe(st.sampled_from([0.01, 0.1, 1, 0.00001])),
    "lot": maybe(st.sampled_from([0.00001, 0.001, 0.1, 1])),
    "min_notional": maybe(st.sampled_from([0, 5, 100, 10**6])),
    "contract_size": maybe(st.sampled_from([1, 100])),
    "maker_fee": maybe(st.sampled_from([0, 0.001, -0.0001, 0.0002, 0.1, -0.01])),
    "taker_fee": maybe(st.sampled_from([0, 0.001, 0.0005, 0.1])),
    "kind": maybe(st.sampled_from(["spot", "linear", "inverse"])),
    "base": maybe(st.sampled_from(["BTC", "btc", "ETH"])),
    "quote": maybe(st.sampled_from(["USDT", "USD"])),
    "settle": maybe(st.sampled_from(["USDT", "BTC"])),
})
balances = maybe(st.dictionaries(st.sampled_from(["USDT", "BTC", "USDT", "BTC", "ETH", "usdt"]),
                                 maybe(st.sampled_from([0, 10, 10000, 0.2, 1, 1e15, "5"]), numbers),
                                 min_size=1, max_size=3))


@st.composite
def configs(draw, recordings: list[str]):
    parts = {
        "name": maybe(st.sampled_from(["bot", "fuzz-1"])),
        "venue": venue(recordings),
        "recordings": maybe(st.sampled_from([recordings, recordings[:1], recordings[0], recordings, [], ["missing.gz"]])),
        "balances": balances,
        "symbol": maybe(st.sampled_from(["BTC/USDT", "BTC/USDT", "BTC/USDT", "ETH/USDT"])),
        "instrument": instrument,
        "strategy": section({"name": maybe(st.just("simple_quoter")), "params": params}),
    }
    keys = draw(st.lists(st.sampled_from(sorted(parts)), unique=True, min_size=1))
    data = {key: draw(parts[key]) for key in keys}
    if draw(rarely(3)):  # a replay of the synthetic recordings (their lot is 0.1 BTC, prices ~100)
        given = data.get("venue")
        data["venue"] = {**(given if isinstance(given, dict) else {}), "kind": "replay"}
        if "recordings" not in data or not draw(rarely(4)):
            data["recordings"] = draw(st.sampled_from([recordings, recordings[:1], recordings[1]]))
        if draw(st.booleans()):
            data["strategy"] = {"params": {"order_amount": draw(st.sampled_from([0.1, 0.5, 1, 0.05]))}}
    if draw(rarely(40)):
        data[draw(safe_text)] = draw(anything)
    return data


def yaml_text(data) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)


garbage = st.one_of(
    st.just(""), st.just("   \n"), st.just("# only a comment\n"), st.just("venue:\n  seed: 1\n  seed: 2\n"),
    st.just("x: " + "[" * 3000), st.just("seed: " + "9" * 5000), st.just("a: b: c\n"), st.just("\ttab: 1\n"),
    st.just("!!python/object:os.system {}\n"), st.just("? [a, b]\n: 1\n"), st.just("&a [*a]\n"),
    safe_text, st.binary(max_size=40),
)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory) -> list[str]:
    folder = tmp_path_factory.mktemp("recordings")
    first = write_recording(folder / "a.gz", spot_session())
    second = write_recording(folder / "b.gz", spot_session(), start_ns=1_723_161_263_000_000_000)
    return [str(first), str(second)]


@pytest.fixture(scope="module", autouse=True)
def private_cache(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("COLIBRI_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
        yield


def run_backtest(path: Path, capsys) -> None:
    capsys.readouterr()
    code = cli.main(["backtest", "--config", str(path), "--duration", "5"])
    out, err = capsys.readouterr()
    assert code in (0, 2, 3), (code, out, err)
    if code == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert "Summary of" not in out
    else:
        assert "Summary of" in out


@FUZZ
@given(data=st.data())
def test_generated_configs_run_or_fail_with_one_line(tmp_path, capsys, recordings, data):
    config = data.draw(configs(recordings))
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml_text(config), encoding="utf-8")
    run_backtest(path, capsys)


@settings(FUZZ, max_examples=60)
@given(text=garbage)
def test_garbage_files_fail_with_one_line(tmp_path, capsys, text):
    path = tmp_path / "garbage.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    run_backtest(path, capsys)


def test_the_fuzzer_reaches_both_outcomes(tmp_path, capsys, recordings):
    """The generators are not all refusals: a valid demo and a valid replay config run."""
    for config in ({"name": "ok"}, {"venue": {"kind": "replay"}, "recordings": recordings,
                                    "strategy": {"params": {"order_amount": 0.5}}}):
        path = tmp_path / "ok.yaml"
        path.write_text(yaml_text(config))
        capsys.readouterr()
        assert cli.main(["backtest", "--config", str(path), "--duration", "5"]) == 0
        assert "Summary of" in capsys.readouterr().out
    assert math.isnan(yaml.safe_load(yaml_text({"x": float("nan")}))["x"])  # NaN really reaches the loader
