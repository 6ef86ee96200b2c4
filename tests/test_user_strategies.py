"""Strategies users write as plain Python files: loaded from the strategies folder, from
--strategy-file and from a config's strategy.file; broken files as one line naming the
file and line (exit 2); a built-in's name refused; backtests and sweeps in worker processes
(and on Dask) load the file themselves; a failing user strategy stops only its bot; a
changed file restarts the bots on its old code, journaled."""
from __future__ import annotations

import concurrent.futures as futures
import csv
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from app.config.bot_config import load_config
from app.config.schema import ConfigError
from app.engine.bot import BotState
from app.engine.journal import JournalStore
from app.interfaces.clock import SimClock
from app.wiring.user_strategies import (
    CODE_CHANGED,
    UserStrategyFiles,
    bots_on_old_code,
    restart_on_new_code,
    strategies_dir,
)
from app.wiring.workspace import build_workspace
from strategies import user_files
from strategies.registry import STRATEGIES
from strategies.simple_quoter import SimpleQuoter
from strategies.user_files import StrategyFileError, digest, ensure_loaded, load_file

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "resources" / "examples" / "my_first_strategy.py"
NAME = "my_first_strategy"
SEC = 1_000_000_000

HEADER = ("from app.config.schema import Field, Schema\n"
          "from app.interfaces.strategy import Strategy\n")


def strategy_source(name: str = "mine", body: str = "    def on_book(self, event):\n        pass\n",
                    fields: str = 'Field("size", "decimal", "0.001", minimum=0)', extra: str = "") -> str:
    return (HEADER + extra + f"class Mine(Strategy):\n    name = {name!r}\n    title = 'Mine'\n"
            f"    schema = Schema(({fields},))\n" + body)


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """A home of its own (an empty strategies folder), and no user strategy left behind."""
    monkeypatch.setenv("COLIBRI_HOME", str(tmp_path / "home"))
    yield
    for path in list(user_files.loaded_files()):
        user_files.forget(path)


def write_config(path: Path, strategy: str, params: dict | None = None, seed: int = 7) -> Path:
    params_text = json.dumps(params or {})
    path.write_text(f"name: mine\nvenue: {{kind: demo, seed: {seed}}}\nstrategy:\n  {strategy}\n"
                    f"  params: {params_text}\n")
    return path


def backtest(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["backtest", *args])
    out, err = capsys.readouterr()
    return code, out, err


# -- where strategies come from ------------------------------------------------------------------
def test_the_example_in_the_strategies_folder_backtests_on_the_demo_venue(tmp_path, capsys):
    folder = strategies_dir()
    folder.mkdir(parents=True)
    shutil.copy(EXAMPLE, folder / "my_first_strategy.py")
    (folder / "_helpers.py").write_text("raise RuntimeError('a helper is not a strategy file')\n")
    config = write_config(tmp_path / "bot.yaml", f"name: {NAME}", {"spread_bps": 1, "order_amount": 0.002})
    report = tmp_path / "report.json"
    code, out, err = backtest(capsys, "--config", str(config), "--duration", "300", "--report", str(report))
    assert code == 0, err
    assert err == ""
    data = json.loads(report.read_text())
    assert data["strategy"] == NAME and data["fills"] > 0 and data["open_orders_at_exit"] == 0
    assert f"Summary of mine ({NAME} on demo" in out
    assert user_files.strategy_file_of(NAME) == (folder / "my_first_strategy.py").resolve()


def test_the_example_config_backtests_its_strategy_file(tmp_path, capsys):
    report = tmp_path / "report.json"
    code, out, err = backtest(capsys, "--config", str(EXAMPLE.with_suffix(".yaml")), "--duration", "120",
                              "--report", str(report))
    assert code == 0 and err == ""
    data = json.loads(report.read_text())
    assert data["strategy"] == NAME and data["fills"] > 0 and data["rejected_orders"] == 0


def test_strategy_file_flag_on_run_and_backtest(tmp_path, capsys):
    mine = tmp_path / "elsewhere" / "mine.py"
    mine.parent.mkdir()
    shutil.copy(EXAMPLE, mine)
    config = write_config(tmp_path / "bot.yaml", f"name: {NAME}")
    assert NAME not in STRATEGIES
    code, out, err = backtest(capsys, "--config", str(config), "--strategy-file", str(mine), "--duration", "60")
    assert code == 0, err
    assert f"({NAME} on demo" in out
    done = subprocess.run([sys.executable, str(ROOT / "main.py"), "run", "--config", str(config), "--strategy-file",
                           str(mine), "--duration", "1"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLIBRI_HOME": str(tmp_path / "home")})
    assert done.returncode == 0, done.stderr
    assert f"Colibri: running {NAME} on demo" in done.stdout


def test_without_the_file_the_name_is_unknown_and_says_how_to_add_one(tmp_path, capsys):
    config = write_config(tmp_path / "bot.yaml", f"name: {NAME}")
    code, _, err = backtest(capsys, "--config", str(config), "--duration", "5")
    assert code == 2
    assert err.startswith(f"error: {config}: strategy.name: unknown strategy '{NAME}'")
    assert "--strategy-file" in err and len(err.splitlines()) == 1


def test_config_strategy_file_is_relative_to_the_config(tmp_path):
    (tmp_path / "strats").mkdir()
    (tmp_path / "configs").mkdir()
    shutil.copy(EXAMPLE, tmp_path / "strats" / "first.py")
    config = load_config(write_config(tmp_path / "configs" / "bot.yaml", "file: ../strats/first.py",
                                      {"spread_bps": 4}))
    assert config.strategy == NAME  # the file's one strategy: no name needed
    assert config.strategy_file == (tmp_path / "strats" / "first.py").resolve()
    assert str(config.params["spread_bps"]) == "4"
    assert type(config.build_strategy()).__name__ == "MyFirstStrategy"


def test_config_strategy_file_with_several_strategies_needs_the_name(tmp_path):
    two = tmp_path / "two.py"
    two.write_text(strategy_source("alpha") + strategy_source("beta").replace(HEADER, "").replace("Mine", "Other"))
    with pytest.raises(ConfigError, match=r"strategy.name: two.py defines several strategies \(alpha, beta\)"):
        load_config(write_config(tmp_path / "a.yaml", "file: two.py"))
    with pytest.raises(ConfigError, match=r"strategy.name: 'gamma' is not defined in .*two.py \(it defines: alpha"):
        load_config(write_config(tmp_path / "b.yaml", "file: two.py\n  name: gamma"))
    assert load_config(write_config(tmp_path / "c.yaml", "file: two.py\n  name: beta")).strategy == "beta"
    with pytest.raises(ConfigError, match=r"c.yaml: strategy.file: file not found: .*nope.py"):
        load_config(write_config(tmp_path / "c.yaml", "file: nope.py"))


# -- broken files: one line, the file and the line, exit 2 ---------------------------------------------
BROKEN = [
    ("x = 1\ndef f(:\n    pass\n", 2, "SyntaxError: invalid syntax"),
    ("import colibri_no_such_module\n", 1, "ModuleNotFoundError: No module named 'colibri_no_such_module'"),
    ("X = 1\nraise RuntimeError('not today')\n", 2, "RuntimeError: not today"),
    ("def f():\n    return 1 / 0\nf()\n", 2, "ZeroDivisionError: division by zero"),
    ("import sys\nsys.exit(3)\n", 2, "the file called exit(3) while loading"),
    ("x = 1\n", None, "defines no Strategy subclass with a name"),
    (strategy_source(fields='Field("size", "int", 500, maximum=10)'), 3,
     "Mine: bad schema: the default of 'size' is invalid (must be at most 10, got 500)"),
    (strategy_source().replace("schema = Schema((Field(\"size\", \"decimal\", \"0.001\", minimum=0),))",
                               "schema = {'size': 1}"), 3, "Mine: schema must be a Schema of Fields"),
    (strategy_source(body=""), 3, "Mine: does not implement on_book"),
    (strategy_source(name="has space"), 3, "Mine: name must be text such as 'my_strategy'"),
]


@pytest.mark.parametrize("source, line, message", BROKEN)
def test_a_broken_file_is_one_line_naming_the_file_and_line(tmp_path, capsys, source, line, message):
    bad = tmp_path / "bad.py"
    bad.write_text(source)
    code, out, err = backtest(capsys, "--strategy-file", str(bad), "--duration", "5")
    assert code == 2 and out == ""
    where = f"{bad}:{line}" if line else f"{bad}"
    assert err.startswith(f"error: {where}: {message}"), err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    config = write_config(tmp_path / "bot.yaml", "file: bad.py")  # the same line through a config
    code, _, err = backtest(capsys, "--config", str(config), "--duration", "5")
    assert code == 2 and err.startswith(f"error: {where}: {message}") and len(err.splitlines()) == 1
    assert not any(name.startswith(user_files.MODULE_PREFIX + "bad") for name in sys.modules)


def test_the_traceback_is_kept_for_the_desktop(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    return {}['missing']\nf()\n")
    with pytest.raises(StrategyFileError) as caught:
        load_file(bad)
    assert caught.value.line == 2 and str(caught.value) == f"{bad}:2: KeyError: 'missing'"
    details = caught.value.details
    assert details.startswith("Traceback") and f'File "{bad}", line 3' in details and "user_files.py" not in details


def test_a_missing_strategy_file_flag(tmp_path, capsys):
    code, _, err = backtest(capsys, "--strategy-file", str(tmp_path / "nope.py"))
    assert code == 2 and err == f"error: --strategy-file: {tmp_path / 'nope.py'}: file not found\n"


def test_a_broken_file_in_the_folder_is_a_warning_and_other_strategies_run(capsys):
    folder = strategies_dir()
    folder.mkdir(parents=True)
    (folder / "wip.py").write_text("def half_written(:\n")
    shutil.copy(EXAMPLE, folder / "first.py")
    code, out, err = backtest(capsys, "--duration", "30")  # the built-in demo: simple_quoter
    assert code == 0
    assert err == f"warning: strategy file not loaded: {folder / 'wip.py'}:1: SyntaxError: invalid syntax (column 18)\n"
    assert NAME in STRATEGIES  # the good file beside it loaded


# -- names --------------------------------------------------------------------------------------------
def test_a_built_in_name_is_refused(tmp_path, capsys):
    clash = tmp_path / "clash.py"
    clash.write_text("from strategies.simple_quoter import SimpleQuoter\n\n\nclass Mine(SimpleQuoter):\n"
                     "    title = 'My quoter'\n")
    code, _, err = backtest(capsys, "--strategy-file", str(clash))
    assert code == 2
    assert err == (f"error: {clash}:4: Mine: the name 'simple_quoter' is a built-in strategy's (Simple two-sided "
                   "quoter); choose another\n")
    assert STRATEGIES["simple_quoter"] is SimpleQuoter


def test_two_files_may_not_take_the_same_name_and_a_reload_replaces_its_own(tmp_path):
    first, second = tmp_path / "first.py", tmp_path / "second.py"
    first.write_text(strategy_source("shared"))
    second.write_text(strategy_source("shared"))
    load_file(first)
    with pytest.raises(StrategyFileError, match=rf"second.py:3: Mine: the name 'shared' is taken by {first}"):
        load_file(second)
    assert user_files.strategy_file_of("shared") == first.resolve()
    old = STRATEGIES["shared"]
    first.write_text(strategy_source("shared", extra="VERSION = 2\n"))
    assert ensure_loaded(first).sha256 == digest(first.read_bytes())
    assert STRATEGIES["shared"] is not old and user_files.version_of(old).path == first.resolve()
    first.write_text(strategy_source("renamed"))
    load_file(first)
    assert "shared" not in STRATEGIES and "renamed" in STRATEGIES


def test_a_file_named_like_a_package_shadows_nothing(tmp_path):
    shadow = tmp_path / "json.py"
    shadow.write_text(strategy_source("json_strategy"))
    load_file(shadow)
    assert json.dumps({"a": 1}) == '{"a": 1}' and __import__("json").__file__ != str(shadow)


# -- worker processes ------------------------------------------------------------------------------------
def test_a_backtest_in_a_worker_process_loads_the_file_from_its_path(tmp_path):
    from ui.backtest.backtest_panel import run_backtest_job

    mine = tmp_path / "mine.py"
    shutil.copy(EXAMPLE, mine)
    config = load_config(write_config(tmp_path / "bot.yaml", "file: mine.py", {"spread_bps": 1}))
    with futures.ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        report = pool.submit(run_backtest_job, config, 60.0).result(timeout=300)
    assert "error" not in report, report.get("error")
    assert report["strategy"] == NAME and report["simulated_seconds"] == 60


def sweep_csv(tmp_path: Path, *extra: str) -> list[dict[str, str]]:
    mine = tmp_path / "mine.py"
    shutil.copy(EXAMPLE, mine)
    config = write_config(tmp_path / "bot.yaml", f"name: {NAME}", {"order_amount": 0.002})
    out = tmp_path / "sweep.csv"
    code = main(["sweep", "--config", str(config), "--strategy-file", str(mine), "--grid", "spread_bps=1,3",
                 "--duration", "20", "--out", str(out), *extra])
    assert code == 0
    with out.open() as fh:
        return list(csv.DictReader(fh))


def test_a_sweep_of_a_user_strategy_on_worker_processes(tmp_path):
    rows = sweep_csv(tmp_path, "--workers", "2")
    assert sorted(r["spread_bps"] for r in rows) == ["1", "3"]
    assert not any(r["error"] for r in rows) and all(r["strategy"] == NAME for r in rows)


def test_a_sweep_of_a_user_strategy_on_a_local_dask_cluster(tmp_path):
    pytest.importorskip("distributed")
    rows = sweep_csv(tmp_path, "--dask", "local", "--workers", "1")
    assert len(rows) == 2 and not any(r["error"] for r in rows)


# -- running -----------------------------------------------------------------------------------------------
FAILING = strategy_source("fails_later", body=(
    "    calls = 0\n"
    "    def on_book(self, event):\n"
    "        self.calls += 1\n"
    "        if self.calls == 20:\n"
    "            raise ZeroDivisionError('my bug')\n"))
QUOTER = {"order_amount": "0.001", "bid_spread_bps": 1, "ask_spread_bps": 1, "refresh_seconds": 5}


def run_for(clock: SimClock, seconds: float) -> None:
    clock.run(until_ns=clock.now_ns() + int(seconds * SEC))


def test_a_user_strategy_that_raises_stops_only_its_bot(tmp_path):
    failing = tmp_path / "failing.py"
    failing.write_text(FAILING)
    load_file(failing)
    clock = SimClock(1_723_161_253 * SEC)
    ws = build_workspace(clock, seed=5, journal=JournalStore(tmp_path / "j.sqlite"))
    ws.start()
    good = ws.create_bot("simple_quoter", QUOTER, connector="demo")
    bad = ws.create_bot("fails_later", {}, connector="demo")
    good.start()
    bad.start()
    run_for(clock, 30)
    assert bad.state is BotState.STOPPED and bad.error == "ZeroDivisionError in on_book: my bug"
    assert good.state is BotState.RUNNING and len(good.open_orders()) == 2
    errors = [r for r in ws.journal.records(bot=bad.name) if r["kind"] == "error"]
    assert len(errors) == 1 and str(failing) in json.dumps(errors[0])  # the traceback names the file
    fills = good.pnl.fills
    run_for(clock, 120)
    assert good.state is BotState.RUNNING and good.pnl.fills > fills


# -- new code for running bots ---------------------------------------------------------------------------
def versioned(version: int, spread: str = "1") -> str:
    return EXAMPLE.read_text().replace('title = "My first strategy (mid +- spread)"',
                                       f'title = "My first strategy (mid +- spread)"\n    VERSION = {version}')


def test_a_changed_file_restarts_the_bots_on_its_old_code_journaled(tmp_path):
    folder = strategies_dir()
    folder.mkdir(parents=True)
    path = folder / "first.py"
    path.write_text(versioned(1))
    files = UserStrategyFiles()
    assert [c.status for c in files.load_all()] == ["loaded"]
    clock = SimClock(1_723_161_253 * SEC)
    ws = build_workspace(clock, seed=5, journal=JournalStore(tmp_path / "j.sqlite"))
    ws.start()
    risk = {"max_open_orders": 4}
    mine = ws.create_bot(NAME, {"spread_bps": "1"}, connector="demo", name="mine", risk=risk)
    other = ws.create_bot("simple_quoter", QUOTER, connector="paper", name="other")
    mine.start()
    other.start()
    run_for(clock, 10)
    assert files.rescan() == []  # nothing changed
    old_sha = digest(path.read_bytes())

    path.write_text(versioned(2))
    changes = files.rescan()
    assert [(c.path, c.status) for c in changes] == [(path.resolve(), "loaded")]
    assert bots_on_old_code(ws, path) == [mine]
    outcomes = []
    stopping = restart_on_new_code(ws, path, on_done=outcomes.append)
    assert stopping == [mine]
    run_for(clock, 5)
    assert outcomes and outcomes[0].problems == []
    fresh = ws.bots["mine"]
    assert fresh is not mine and mine.state is BotState.STOPPED and fresh.state is BotState.RUNNING
    assert type(fresh.strategy).VERSION == 2 and type(mine.strategy).VERSION == 1
    assert str(fresh.strategy.params["spread_bps"]) == "1" and fresh.risk.limits.get("max_open_orders") == 4
    assert other.state is BotState.RUNNING and bots_on_old_code(ws, path) == []
    kinds = [r["kind"] for r in ws.journal.records(bot="mine")]
    assert kinds.index("stopped") < kinds.index(CODE_CHANGED) < len(kinds) - 1 - kinds[::-1].index("start")
    record = next(r for r in ws.journal.records(bot="mine") if r["kind"] == CODE_CHANGED)
    assert record["file"] == str(path.resolve()) and record["previous_sha256"] == old_sha
    assert record["sha256"] == digest(path.read_bytes()) and record["strategy"] == NAME


def test_a_broken_save_keeps_the_bots_running_and_only_that_strategy_unavailable(tmp_path):
    folder = strategies_dir()
    folder.mkdir(parents=True)
    path = folder / "first.py"
    path.write_text(versioned(1))
    files = UserStrategyFiles()
    files.load_all()
    clock = SimClock(1_723_161_253 * SEC)
    ws = build_workspace(clock, seed=5)
    ws.start()
    mine = ws.create_bot(NAME, {}, connector="demo")
    mine.start()
    run_for(clock, 5)
    path.write_text(versioned(2) + "\nthis is not python\n")
    [change] = files.rescan()
    assert change.status == "failed" and str(change.error).startswith(f"{path.resolve()}:")
    assert NAME not in STRATEGIES and "simple_quoter" in STRATEGIES
    with pytest.raises(StrategyFileError):
        restart_on_new_code(ws, path, [mine])
    run_for(clock, 5)
    assert mine.state is BotState.RUNNING  # nothing was stopped
    path.unlink()
    assert [c.status for c in files.rescan()] == ["removed"]


def test_a_restart_whose_parameters_the_new_schema_refuses_says_so(tmp_path):
    path = tmp_path / "first.py"
    path.write_text(versioned(1))
    load_file(path)
    clock = SimClock(1_723_161_253 * SEC)
    ws = build_workspace(clock, seed=5)
    ws.start()
    mine = ws.create_bot(NAME, {"spread_bps": "50"}, connector="demo")
    mine.start()
    run_for(clock, 2)
    path.write_text(versioned(2).replace("maximum=1000, unit=\"bp\"", "maximum=10, unit=\"bp\""))
    outcomes = []
    restart_on_new_code(ws, path, on_done=outcomes.append)
    run_for(clock, 5)
    [outcome] = outcomes
    assert outcome.started == [] and len(outcome.problems) == 1
    assert outcome.problems[0].startswith(f"{mine.name}: not restarted: bot form: spread_bps: must be at most 10")
