"""User strategy files where Colibri runs: the per-user strategies folder, the command
line's --strategy-file, the desktop's watch for edits and the restart of bots on new code.

The folder is `strategies/` next to Colibri's config (app/paths.py: config_dir()).
Loading itself (and the one-line errors) is strategies/user_files.py's.

On the command line a file the user named (--strategy-file) must load: a broken one is
one `error:` line and exit 2. A broken file in the folder is a `warning:` line only, so a
half-written experiment there does not stop a run of another strategy; a run of the
strategy that file defines still fails, as an unknown strategy, after that warning.

The desktop loads the folder at start and rescans it when the window's file watcher
says something changed (ui/bots/strategy_files.py): a file whose content changed is
reloaded (new bots get the new code) and the bots running its old code can be restarted
on it: each is stopped the normal way (orders cancelled, confirmed), then a new bot with
the same name, account, market, parameters and risk limits starts, and a `code_changed`
record in the journal names the file and the hashes of the old and new code.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TextIO

from app.paths import config_dir
from app.config.schema import ConfigError
from app.engine.bot import Bot, BotState
from app.wiring.workspace import Workspace
from strategies.user_files import (
    StrategyFile,
    StrategyFileError,
    discover,
    ensure_loaded,
    forget,
    loaded_files,
    resolve,
    version_of,
)

log = logging.getLogger(__name__)

CODE_CHANGED = "code_changed"
"""The journal record of a bot restarted on a strategy file's new code."""


def strategies_dir() -> Path:
    """Where the user's strategy files live: `strategies/` in Colibri's config folder."""
    return config_dir() / "strategies"


def load_for_command_line(files: Sequence[str] | None, warn: TextIO, folder: Path | None = None) -> None:
    """The folder's files (a broken one: a warning line) then each --strategy-file (a
    missing or broken one raises ConfigError: exit 2)."""
    for path in discover(strategies_dir() if folder is None else folder):
        try:
            ensure_loaded(path)
        except StrategyFileError as exc:
            print(f"warning: strategy file not loaded: {exc}", file=warn)
    for name in files or ():
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigError("--strategy-file", name, "file not found" if not path.exists() else "not a file")
        ensure_loaded(path)


@dataclass(frozen=True)
class FileChange:
    """What a rescan found for one file: loaded (new or changed), failed, or removed."""

    path: Path
    status: str  # "loaded" | "failed" | "removed"
    loaded: StrategyFile | None = None
    error: StrategyFileError | None = None


@dataclass
class UserStrategyFiles:
    """The desktop's user strategy files: the folder's and any added by hand; which loaded,
    which failed and why. `rescan()` reports only what changed since the last look."""

    folder: Path = field(default_factory=strategies_dir)
    extra: list[Path] = field(default_factory=list)
    failures: dict[Path, StrategyFileError] = field(default_factory=dict)
    _seen: dict[Path, str] = field(default_factory=dict)  # path -> hash of the content last looked at

    def paths(self) -> list[Path]:
        found = [resolve(p) for p in discover(self.folder)]
        return found + [p for p in map(resolve, self.extra) if p not in found]

    def add(self, path: Path | str) -> FileChange:
        """A file opened by hand (not in the folder): loaded now and watched from now on."""
        path = resolve(path)
        if path not in self.extra:
            self.extra.append(path)
        return self._look(path, force=True) or FileChange(path, "loaded", loaded_files().get(path))

    def load_all(self) -> list[FileChange]:
        return self.rescan()

    def rescan(self) -> list[FileChange]:
        """Loads what is new or changed, forgets what was removed; one FileChange each."""
        changes: list[FileChange] = []
        present = self.paths()
        for path in present:
            change = self._look(path)
            if change is not None:
                changes.append(change)
        for path in [p for p in self._seen if p not in present or not p.is_file()]:
            del self._seen[path]
            self.failures.pop(path, None)
            forget(path)
            changes.append(FileChange(path, "removed"))
        return changes

    def _look(self, path: Path, force: bool = False) -> FileChange | None:
        from strategies.user_files import digest, read

        try:
            sha = digest(read(path))
        except StrategyFileError:
            return None  # vanished between the listing and the read: the next rescan says so
        if not force and self._seen.get(path) == sha:
            return None
        self._seen[path] = sha
        try:
            loaded = ensure_loaded(path)
        except StrategyFileError as exc:
            self.failures[path] = exc
            log.error("strategy file %s not loaded: %s\n%s", path, exc, exc.details)
            return FileChange(path, "failed", error=exc)
        self.failures.pop(path, None)
        log.info("strategy file %s loaded: %s", path, ", ".join(loaded.names))
        return FileChange(path, "loaded", loaded=loaded)


def file_of_bot(bot: Bot) -> StrategyFile | None:
    """The loaded file version the bot's strategy runs (None: a built-in)."""
    return version_of(type(bot.strategy))


def bots_on_old_code(workspace: Workspace, path: Path | str) -> list[Bot]:
    """Running bots whose strategy comes from `path` in another version than the one
    loaded now (the ones a restart would give new code)."""
    path = resolve(path)
    current = loaded_files().get(path)
    out = []
    for bot in workspace.running_bots():
        version = file_of_bot(bot)
        if bot.state is BotState.RUNNING and version is not None and version.path == path and \
                (current is None or version.sha256 != current.sha256):
            out.append(bot)
    return out


@dataclass
class RestartOutcome:
    """What a restart did, for the desktop to say: the new bots, and problems in words."""

    started: list[Bot] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def restart_on_new_code(workspace: Workspace, path: Path | str, bots: Iterable[Bot] | None = None,
                        on_done: Callable[[RestartOutcome], None] | None = None) -> list[Bot]:
    """Restarts each bot (default: `bots_on_old_code`) on the file's code as it is now.
    The file is (re)loaded first: StrategyFileError if it is broken, and then nothing is
    stopped. Returns the bots being stopped; `on_done` hears the outcome once every one of
    them has been stopped and started again (or could not be)."""
    path = resolve(path)
    new = ensure_loaded(path)
    targets = [b for b in (bots_on_old_code(workspace, path) if bots is None else bots)
               if b.state is BotState.RUNNING]
    outcome = RestartOutcome()
    remaining = {b.name for b in targets}
    if not targets and on_done is not None:
        on_done(outcome)
    for bot in targets:
        plan = _plan(workspace, bot)

        def stopped(bot: Bot = bot, plan: dict[str, Any] = plan) -> None:
            _start_again(workspace, bot, plan, new, outcome)
            remaining.discard(bot.name)
            if not remaining and on_done is not None:
                on_done(outcome)

        log.info("%s: stopping to restart on the new code of %s", bot.name, path)
        bot.stop(stopped)
    return targets


def _plan(workspace: Workspace, bot: Bot) -> dict[str, Any]:
    """What the new bot needs, read before the old one stops: its markets as workspace
    accounts (None where an account is no longer open), parameters and risk limits."""
    def account_of(connector: Any) -> str | None:
        return next((name for name, conn in workspace.connectors.items() if conn is connector), None)

    markets = {role: (account_of(m.venue), m.symbol) for role, m in bot.markets.items()}
    old = file_of_bot(bot)
    return {"strategy": bot.strategy.name, "params": dict(bot.strategy.params), "markets": markets,
            "several": bot.multi_market, "risk": {k: v for k, v in bot.risk.limits.values.items() if v is not None},
            "previous_sha256": old.sha256 if old is not None else None}


def _start_again(workspace: Workspace, bot: Bot, plan: dict[str, Any], new: StrategyFile,
                 outcome: RestartOutcome) -> None:
    markets: dict[str, tuple[str, str]] = plan["markets"]
    closed = sorted(role for role, (account, _) in markets.items() if account is None)
    if closed:
        outcome.problems.append(f"{bot.name}: the account of its {', '.join(closed)} market is no longer open; "
                                "not restarted")
        return
    account, symbol = next(iter(markets.values()))
    try:
        fresh = workspace.create_bot(plan["strategy"], plan["params"], connector=account, symbol=symbol,
                                     name=bot.name, risk=plan["risk"], markets=markets if plan["several"] else None)
    except (ConfigError, KeyError, ValueError) as exc:  # a parameter the new schema refuses, a name gone
        outcome.problems.append(f"{bot.name}: not restarted: {exc}")
        log.error("%s: not restarted on the new code of %s: %s", bot.name, new.path, exc)
        return
    if fresh.journal is not None:
        fresh.journal.write(CODE_CHANGED, fresh.clock.now_ns(), file=str(new.path), sha256=new.sha256,
                            previous_sha256=plan["previous_sha256"], strategy=plan["strategy"])
    fresh.start()
    log.info("%s: restarted on the new code of %s (sha256 %s)", bot.name, new.path, new.sha256[:12])
    outcome.started.append(fresh)
