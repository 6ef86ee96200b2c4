"""The journal's SQLite schema, and opening a file as a Colibri journal (or refusing it).

One file per workspace. What each table holds:

- `sessions`: one row per process that opened the journal for writing: start, and the
  clean-stop marker (`stopped_ns`, `clean = 1`) written when it closed normally. A row
  left without it is an unclean exit (a crash, a kill, a power cut) and its bots' orders
  are recovered at the next start (`recovered_ns` once that was done).
- `accounts`: the accounts bots traded on. `epoch` is '' for a venue whose orders outlive
  this process (a live exchange, the rehearsal exchange); for an in-process venue (demo,
  paper), whose trade ids start again with every instance, the session id and the
  instance's number.
- `bots`: each bot by name (its tag is in its client order ids), account, symbol,
  strategy, parameters, state.
- `orders`: every order a bot placed, with its latest state; the row is written (the
  intent) before the request leaves the process. `order_events`: each state change.
- `fills`: unique per (account, epoch, symbol, trade id): the same execution reported
  twice is stored and counted once.
- `balances`: balance snapshots (bot start and stop, recovery).
- `records`: the audit records in order (start, params, order, fill, funding, error,
  stop, kill, stopped, cancel_rejected) with their fields as JSON: what `journal export`
  writes as JSON lines or CSV.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA_VERSION = 1
APPLICATION_ID = 0x436F6C62  # "Colb": PRAGMA application_id marks the file as ours

_SQLITE_HEADER = b"SQLite format 3\x00"

DDL = """
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL,          -- the process's SESSION_ID (in its client order ids)
    pid INTEGER NOT NULL,
    started_ns INTEGER NOT NULL,       -- wall clock
    stopped_ns INTEGER,                -- set with clean = 1 by a normal close
    clean INTEGER NOT NULL DEFAULT 0,
    recovered_ns INTEGER               -- an unclean session whose orders were recovered
);
CREATE TABLE accounts (
    name TEXT NOT NULL,
    epoch TEXT NOT NULL,               -- '' persistent venue; 'session.n' for in-process venues
    first_seen_ns INTEGER NOT NULL,
    PRIMARY KEY (name, epoch)
);
CREATE TABLE bots (
    name TEXT PRIMARY KEY,
    tag TEXT NOT NULL,                 -- app.domain.order.bot_tag(name)
    account TEXT NOT NULL,
    epoch TEXT NOT NULL,
    symbol TEXT NOT NULL,
    strategy TEXT,
    params TEXT,                       -- JSON object of strings
    state TEXT NOT NULL,               -- created, running, stopped, recovered
    session INTEGER NOT NULL REFERENCES sessions(id),
    started_ns INTEGER,
    stopped_ns INTEGER
);
CREATE TABLE orders (
    client_order_id TEXT PRIMARY KEY,
    bot TEXT NOT NULL,
    account TEXT NOT NULL,
    epoch TEXT NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT,
    type TEXT,
    price TEXT,                        -- exact decimal strings
    amount TEXT,
    filled TEXT NOT NULL DEFAULT '0',
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    exchange_order_id TEXT,
    session INTEGER NOT NULL REFERENCES sessions(id),
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL
);
CREATE INDEX orders_open ON orders (status) WHERE status NOT IN ('filled', 'cancelled', 'rejected', 'failed');
CREATE INDEX orders_bot ON orders (bot, created_ns);
CREATE TABLE order_events (
    id INTEGER PRIMARY KEY,
    client_order_id TEXT NOT NULL REFERENCES orders(client_order_id),
    status TEXT NOT NULL,
    filled TEXT,
    reason TEXT NOT NULL DEFAULT '',
    ts_ns INTEGER NOT NULL,
    wall_ns INTEGER NOT NULL,
    source TEXT NOT NULL               -- intent, venue, recovery
);
CREATE INDEX order_events_order ON order_events (client_order_id, id);
CREATE TABLE fills (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    epoch TEXT NOT NULL,
    symbol TEXT NOT NULL,
    trade_id TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    bot TEXT NOT NULL,
    side TEXT NOT NULL,
    price TEXT NOT NULL,
    amount TEXT NOT NULL,
    fee TEXT NOT NULL,
    fee_asset TEXT NOT NULL,
    maker INTEGER NOT NULL,
    ts_ns INTEGER NOT NULL,
    wall_ns INTEGER NOT NULL,
    UNIQUE (account, epoch, symbol, trade_id)
);
CREATE INDEX fills_bot ON fills (bot, id);
CREATE TABLE balances (
    id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    bot TEXT,
    asset TEXT NOT NULL,
    total TEXT NOT NULL,
    locked TEXT,
    reason TEXT NOT NULL,              -- start, stopped, recovery
    ts_ns INTEGER NOT NULL,
    wall_ns INTEGER NOT NULL
);
CREATE TABLE records (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions(id),
    wall_ns INTEGER NOT NULL,
    ts_ns INTEGER,
    bot TEXT,
    kind TEXT NOT NULL,
    data TEXT NOT NULL                 -- JSON object: the record's other fields
);
CREATE INDEX records_bot ON records (bot, id);
"""

FINAL_STATUSES = ("filled", "cancelled", "rejected", "failed")


class JournalError(ValueError):
    """A file that cannot be used as a journal; the message is one line naming the file."""


def check_journal_path(path: str | Path, *, must_exist: bool = False) -> Path:
    """Refuses, with the reason, a path that is not (and cannot become) a Colibri journal:
    a folder, a missing file when `must_exist`, a file that is not SQLite or not ours, a
    newer schema. Reads only the header and two pragmas; changes nothing."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise JournalError(f"{path}: is a folder, not a journal file")
    if not path.exists():
        if must_exist:
            raise JournalError(f"{path}: no such journal")
        if not path.parent.is_dir():
            raise JournalError(f"{path}: the folder {path.parent} does not exist")
        return path
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise JournalError(f"{path}: cannot be read ({exc.strerror})") from None
    if header == b"":
        return path  # an empty file becomes a journal
    if header != _SQLITE_HEADER:
        raise JournalError(f"{path}: not a Colibri journal (not an SQLite database)")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            app_id, version = _identity(db)
            tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path}: not a Colibri journal ({exc})") from None
    _check_identity(path, app_id, version, tables)
    return path


def _identity(db: sqlite3.Connection) -> tuple[int, int]:
    return db.execute("PRAGMA application_id").fetchone()[0], db.execute("PRAGMA user_version").fetchone()[0]


def _check_identity(path: Path, app_id: int, version: int, tables: int) -> None:
    if app_id == 0 and version == 0 and tables == 0:
        return  # an empty SQLite database: made into a journal when opened for writing
    if app_id != APPLICATION_ID:
        raise JournalError(f"{path}: not a Colibri journal (an SQLite database of another program)")
    if version > SCHEMA_VERSION:
        raise JournalError(f"{path}: written by a newer Colibri (journal schema {version}; this version reads "
                           f"up to {SCHEMA_VERSION}); upgrade Colibri to open it")
    if version < 1:
        raise JournalError(f"{path}: a damaged Colibri journal (no schema version)")


def connect(path: str | Path, *, read_only: bool = False) -> sqlite3.Connection:
    """Opens (and, for writing, creates) a journal: WAL, synchronous=FULL, foreign keys on;
    the schema is created in one transaction the first time. JournalError if the file is
    not a usable journal."""
    path = check_journal_path(path, must_exist=read_only)
    try:
        if read_only:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        else:
            db = sqlite3.connect(path, isolation_level=None)  # autocommit: we BEGIN ourselves
        db.execute("PRAGMA busy_timeout = 5000")
        if not read_only:
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise JournalError(f"{path}: the journal needs WAL mode and SQLite refused it ({mode})")
        # FULL: each commit is fsynced before it returns (see docs/architecture.md, "Journal").
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
        app_id, version = _identity(db)
        tables = db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        _check_identity(path, app_id, version, tables)
        if tables == 0 and not read_only:
            db.execute("BEGIN IMMEDIATE")
            for statement in _statements(DDL):
                db.execute(statement)
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("COMMIT")
    except sqlite3.DatabaseError as exc:
        raise JournalError(f"{path}: cannot be used as a journal ({exc})") from None
    return db


def _statements(script: str) -> list[str]:
    """The DDL split into statements (executescript would commit on its own)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
