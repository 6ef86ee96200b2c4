"""`journal export`: the journal's audit records as JSON lines or CSV.

The records are those the JSON-lines audit journal used to append (start, params, order,
fill, funding, error, stop, kill, stopped, cancel_rejected; `recovery` after a restart),
with the same fields: `wall_ns`, `kind`, `bot`, `ts_ns` and the kind's own. JSON lines
keep every value's type. CSV has one column per field name met (those four first); a
string is written as is, any other value (a number, true/false, the params or balances
object) as JSON text, and a field a record does not have is an empty cell. The output is
written to a temporary file and renamed over `out`, so an export is whole or absent.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Iterable

from app.engine.journal.schema import JournalError
from app.engine.journal.store import JournalStore
from app.engine.report import write_text_atomic

FORMATS = ("jsonl", "csv")
FIRST_COLUMNS = ("wall_ns", "kind", "bot", "ts_ns")


def export_journal(journal: str | Path, out: str | Path, *, fmt: str = "jsonl", bot: str | None = None) -> int:
    """Writes the records (of `bot` only, if given) to `out`; returns how many."""
    if fmt not in FORMATS:
        raise JournalError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
    out = Path(out).expanduser()
    if out.is_dir():
        raise JournalError(f"{out}: is a folder (give a file name for the export)")
    if not out.parent.is_dir():
        raise JournalError(f"{out}: the folder {out.parent} does not exist")
    store = JournalStore(journal, read_only=True)
    try:
        if bot is not None and store.bot(bot) is None:
            names = ", ".join(b.name for b in store.bots()) or "none"
            raise JournalError(f"{journal}: no bot named {bot!r} (bots in this journal: {names})")
        records = list(store.records(bot=bot))
    finally:
        store.close()
    text = to_jsonl(records) if fmt == "jsonl" else to_csv(records)
    write_text_atomic(out, text)
    return len(records)


def to_jsonl(records: Iterable[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, default=str, separators=(",", ":")) + "\n" for r in records)


def csv_cell(value: Any) -> str:
    """A CSV cell: strings as they are, other values as JSON text."""
    return value if isinstance(value, str) else json.dumps(value, default=str, separators=(",", ":"))


def to_csv(records: list[dict[str, Any]]) -> str:
    columns = list(FIRST_COLUMNS)
    for record in records:
        for key in record:
            if key not in columns:
                columns.append(key)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for record in records:
        writer.writerow([csv_cell(record[c]) if c in record else "" for c in columns])
    return buffer.getvalue()


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line]


def read_csv(path: str | Path) -> list[dict[str, str]]:
    """The rows of a CSV export, each without its empty cells (fields the record lacked)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return [{k: v for k, v in row.items() if v != ""} for row in csv.DictReader(handle)]
