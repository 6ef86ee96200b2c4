"""Strategies users write: plain Python files, loaded at run time beside the built-ins.

A strategy file is an ordinary module that defines one or more `Strategy` subclasses with
`name`, `title` and `schema`. Loading it registers those classes in the same table as the
built-ins (strategies/registry.py: STRATEGIES), so configs, the command line and the bot
form find them by name exactly as they find `simple_quoter`.

Why the file is compiled here instead of by `loader.exec_module`: the standard loader
writes `__pycache__` into the user's folder and trusts a cached bytecode whose source
has the same mtime and size, so two quick saves of the same length could run the old code.
The file is read once; the bytes executed are the bytes hashed (the hash goes to the
journal when a bot restarts on new code). Each load gets a module name of its own
(`colibri_user_strategy_<stem>_<n>`), so a reloaded file never replaces the module that
running bots still execute, and a file named like a real package (`json.py`) shadows nothing.

Every problem is a `StrategyFileError` (a ConfigError: one line, exit 2 on the command
line) naming the file and line, with the full traceback in `details` for the desktop.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import inspect
import itertools
import re
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

from app.config.schema import ConfigError, Field, Schema, one_line
from app.interfaces.strategy import MarketRole, Strategy
from strategies.registry import BUILT_IN_NAMES, STRATEGIES

MODULE_PREFIX = "colibri_user_strategy_"
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
EXAMPLE = "class MyStrategy(Strategy): name = 'my_strategy'; title = 'My strategy'; schema = Schema((...))"


class StrategyFileError(ConfigError):
    """A strategy file that cannot be used: `FILE:LINE: what` (one line); `details` holds
    the traceback (or the same line) for the desktop's log and dialog."""

    def __init__(self, path: Path | str, line: int | None, reason: str, details: str = "") -> None:
        self.path = Path(path)
        self.line = line
        self.details = details or one_line(reason)
        super().__init__(f"{path}:{line}" if line else str(path), "", reason)


@dataclass(frozen=True)
class StrategyFile:
    """One loaded version of a file: its strategies and the hash of the code they run."""

    path: Path  # resolved
    sha256: str
    module_name: str
    classes: tuple[type[Strategy], ...]
    lines: tuple[int | None, ...] = ()  # the line of each class statement (for messages)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(cls.name for cls in self.classes)


_lock = threading.RLock()  # the desktop's sweep thread and the UI may load at the same time
_current: dict[Path, StrategyFile] = {}  # the version registered now, per file
_owner: dict[str, Path] = {}  # user strategy name -> its file
_versions: dict[str, StrategyFile] = {}  # every module ever loaded (old bots still run old ones)
_counter = itertools.count(1)


def resolve(path: Path | str) -> Path:
    return Path(path).expanduser().resolve()


def discover(folder: Path) -> list[Path]:
    """The strategy files of a folder: `*.py`, not starting with `_` or `.` (helpers)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if p.is_file() and not p.name.startswith(("_", ".")))


def read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise StrategyFileError(path, None, "file not found") from None
    except IsADirectoryError:
        raise StrategyFileError(path, None, "is a folder, not a Python file") from None
    except OSError as exc:
        raise StrategyFileError(path, None, f"cannot read the file: {exc.strerror or exc}") from None


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_file(path: Path | str) -> StrategyFile:
    """Loads (or reloads) a file and registers its strategies, replacing its earlier
    version's. On any error the file's strategies are unregistered (the file on disk is
    what is available) and StrategyFileError is raised; other strategies are untouched."""
    path = resolve(path)
    with _lock:
        loaded = None
        try:
            loaded = _load(path, read(path))
            _register(loaded)
        except StrategyFileError:
            if loaded is not None:  # refused at registration: this version is never used
                sys.modules.pop(loaded.module_name, None)
                _versions.pop(loaded.module_name, None)
            forget(path)
            raise
        return loaded


def ensure_loaded(path: Path | str) -> StrategyFile:
    """The file's strategies as the file is now: loaded unless this very content is
    registered already (a worker process loads it here; a changed file is reloaded)."""
    path = resolve(path)
    with _lock:
        current = _current.get(path)
        if current is not None and current.sha256 == digest(read(path)):
            return current
        return load_file(path)


def forget(path: Path | str) -> None:
    """Unregisters the file's strategies (running bots keep the instances they have)."""
    path = resolve(path)
    with _lock:
        _current.pop(path, None)
        for name in [n for n, owner in _owner.items() if owner == path]:
            del _owner[name]
            STRATEGIES.pop(name, None)


def strategy_file_of(name: str) -> Path | None:
    """The file that defines user strategy `name`; None for a built-in or unknown name."""
    return _owner.get(name)


def version_of(cls: type) -> StrategyFile | None:
    """The loaded file version a strategy class comes from (also an older version that a
    running bot still executes); None for a built-in."""
    return _versions.get(getattr(cls, "__module__", ""))


def loaded_files() -> dict[Path, StrategyFile]:
    with _lock:
        return dict(_current)


def is_user_strategy(name: str) -> bool:
    return name in _owner


# -- loading ----------------------------------------------------------------------------------
def _load(path: Path, data: bytes) -> StrategyFile:
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise StrategyFileError(path, line, "not UTF-8 text (save the file as UTF-8)") from None
    try:
        code = compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as exc:
        where = f" (column {exc.offset})" if exc.offset else ""
        raise StrategyFileError(path, exc.lineno, f"SyntaxError: {exc.msg}{where}",
                                "".join(traceback.format_exception_only(exc))) from None
    except ValueError as exc:  # a NUL byte in the source
        raise StrategyFileError(path, None, f"not Python source: {exc}") from None
    stem = re.sub(r"\W", "_", path.stem) or "file"
    module_name = f"{MODULE_PREFIX}{stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None  # a .py path always has one
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickle look their module up there
    try:
        exec(code, module.__dict__)  # noqa: S102 - running the user's own strategy file is the point
    except KeyboardInterrupt:
        del sys.modules[module_name]
        raise
    except BaseException as exc:  # SystemExit too: a file calling exit() must not end the app
        del sys.modules[module_name]
        raise StrategyFileError(path, _line_in(path, exc), _describe(exc), _traceback_text(exc)) from None
    try:
        classes, lines = _strategies_of(module, module_name, path, source)
    except StrategyFileError:
        del sys.modules[module_name]
        raise
    loaded = StrategyFile(path, digest(data), module_name, classes, lines)
    _versions[module_name] = loaded
    return loaded


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the file called exit({exc.code!r}) while loading"
    text = one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _line_in(path: Path, exc: BaseException) -> int | None:
    """The line of `path` the exception went through last (where the file's code raised
    or called what raised)."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == str(path):
            line = frame.lineno
    if line is None and isinstance(exc, SyntaxError) and exc.filename == str(path):
        line = exc.lineno  # a compile() inside the file
    return line


def _traceback_text(exc: BaseException) -> str:
    """The traceback from the file's own frames on (not this loader's)."""
    frames = traceback.extract_tb(exc.__traceback__)
    while frames and frames[0].filename == __file__:
        frames.pop(0)
    return "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames)) + \
        "".join(traceback.format_exception_only(type(exc), exc))


def _strategies_of(module: object, module_name: str, path: Path,
                   source: str) -> tuple[tuple[type[Strategy], ...], tuple[int | None, ...]]:
    """The module's own Strategy subclasses with a `name` (a class without one is a helper
    base), each checked the way the built-ins are used."""
    lines = _class_lines(source)
    found: list[type[Strategy]] = []
    for value in vars(module).values():
        if not (isinstance(value, type) and issubclass(value, Strategy) and value is not Strategy):
            continue
        if value.__module__ != module_name or not hasattr(value, "name"):
            continue  # imported (a built-in to subclass) or a helper base without a name
        _check(value, path, lines.get(value.__qualname__))
        found.append(value)
    if not found:
        raise StrategyFileError(path, None, f"defines no Strategy subclass with a name (e.g. {EXAMPLE})")
    seen: dict[str, type] = {}
    for cls in found:
        if cls.name in seen:
            raise StrategyFileError(path, lines.get(cls.__qualname__),
                                    f"{cls.__name__} and {seen[cls.name].__name__} both have the name {cls.name!r}")
        seen[cls.name] = cls
    return tuple(found), tuple(lines.get(cls.__qualname__) for cls in found)


def _class_lines(source: str) -> dict[str, int]:
    """Top-level class name -> the line of its `class` statement."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    return {node.name: node.lineno for node in tree.body if isinstance(node, ast.ClassDef)}


def _check(cls: type[Strategy], path: Path, line: int | None) -> None:
    def fail(reason: str) -> StrategyFileError:
        return StrategyFileError(path, line, f"{cls.__name__}: {reason}")

    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise fail(f"name must be text such as 'my_strategy' (a letter, then letters, digits, _ . -; at most 64), "
                   f"got {name!r}")
    title = getattr(cls, "title", None)
    if not isinstance(title, str) or not title.strip():
        raise fail("title must be a non-empty text (the bot form shows it)")
    schema = getattr(cls, "schema", None)
    if not isinstance(schema, Schema):
        raise fail(f"schema must be a Schema of Fields (app.config.schema), got {type(schema).__name__}")
    for spec in schema.fields:
        if not isinstance(spec, Field):
            raise fail(f"schema: every entry must be a Field, got {spec!r}")
        if spec.default is not None:
            try:
                spec.coerce(spec.default, "", "schema.")
            except ConfigError as exc:
                raise fail(f"bad schema: the default of {spec.name!r} is invalid ({exc.reason})") from None
    roles = getattr(cls, "roles", None)
    if not isinstance(roles, tuple) or not roles or not all(isinstance(r, MarketRole) for r in roles):
        raise fail("roles must be a non-empty tuple of MarketRole")
    if inspect.isabstract(cls):
        missing = ", ".join(sorted(getattr(cls, "__abstractmethods__", ())))
        raise fail(f"does not implement {missing}")


def _register(loaded: StrategyFile) -> None:
    """Puts the file's strategies beside the built-ins; a built-in name or one another file
    registered already is refused (nothing of this file is registered then)."""
    for cls, where in zip(loaded.classes, loaded.lines):
        if cls.name in BUILT_IN_NAMES:
            raise StrategyFileError(loaded.path, where, f"{cls.__name__}: the name {cls.name!r} is a built-in "
                                                        f"strategy's ({STRATEGIES[cls.name].title}); choose another")
        owner = _owner.get(cls.name)
        if owner is not None and owner != loaded.path:
            raise StrategyFileError(loaded.path, where, f"{cls.__name__}: the name {cls.name!r} is taken by "
                                                        f"{owner}; choose another")
    forget(loaded.path)
    for cls in loaded.classes:
        _owner[cls.name] = loaded.path
        STRATEGIES[cls.name] = cls
    _current[loaded.path] = loaded

