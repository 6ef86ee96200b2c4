"""A bot's audit journal: one JSON object per line, appended as things happen.

Why lines: a crash or power cut can tear at most the last line, and `read_journal`
skips a torn last line (and says so) instead of failing, so the history before it is
never lost. Lines are flushed as written; `close()` also fsyncs. Money is written as
exact decimal strings.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO


class Journal:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO | None = open(self.path, "a", encoding="utf-8")

    def write(self, kind: str, **fields: Any) -> None:
        if self._file is None:
            return
        record = {"wall_ns": time.time_ns(), "kind": kind, **fields}
        self._file.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    @property
    def closed(self) -> bool:
        return self._file is None


@dataclass(frozen=True)
class JournalContents:
    records: list[dict[str, Any]]
    torn_last_line: bool


def read_journal(path: str | Path) -> JournalContents:
    """Reads every complete record; a malformed line other than the last is an error
    naming the file and line, because only the last line can be torn by a crash."""
    path = Path(path)
    lines = path.read_text(encoding="utf-8").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    records: list[dict[str, Any]] = []
    torn = False
    for number, line in enumerate(lines, start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if number == len(lines):
                torn = True
                break
            raise ValueError(f"{path}:{number}: not a journal record ({exc.msg})") from None
    return JournalContents(records, torn)
