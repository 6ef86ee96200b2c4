"""The journal: one SQLite file per workspace that the app recovers from.

- schema.py: the tables, opening a file as a journal or refusing it (JournalError)
- store.py: JournalStore (sessions, the bots' BotJournal writer, history queries)
- recovery.py: recover() and finish_recovery() after a restart, RecoveryReport
- export.py: `journal export` to JSON lines or CSV
"""
from app.engine.journal.recovery import (
    RESUME,
    STOP,
    FoundOrder,
    OrderFinding,
    RecoveryReport,
    finish_recovery,
    recover,
)
from app.engine.journal.schema import SCHEMA_VERSION, JournalError, check_journal_path
from app.engine.journal.store import (
    BotHistory,
    BotJournal,
    JournaledBot,
    JournaledFill,
    JournaledOrder,
    JournalStore,
    SessionInfo,
)

__all__ = [
    "RESUME", "STOP", "FoundOrder", "OrderFinding", "RecoveryReport", "finish_recovery", "recover",
    "SCHEMA_VERSION", "JournalError", "check_journal_path", "BotHistory", "BotJournal", "JournaledBot",
    "JournaledFill", "JournaledOrder", "JournalStore", "SessionInfo",
]
