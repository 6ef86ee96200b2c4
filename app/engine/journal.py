"""A bot's audit journal: one JSON object per line, appended as things happen.

Why lines: a crash or power cut can tear at most the last line, and `read_journal`
skips a torn last line (and says so) instead of failing, so the history before it is
never lost. Money is written as exact decimal strings.

Durability, exactly:
- `write()` hands each line to the operating system at once (write + flush): a crash of
  the program loses nothing already written; a power cut or kernel crash may lose what
  the OS had not yet put on disk.
- records of the kinds in `Journal.FSYNC_KINDS` ("error", "stopped") are also fsynced
  as they are written, and `close()` fsyncs: a bot's failure and its end survive a power
  cut.
- opening a journal to append to it first repairs a torn last line left by an earlier
  crash (see `Journal.__init__`), so the new records never extend the torn one.
"""
from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger(__name__)

_CHUNK = 1 << 16


class Journal:
    FSYNC_KINDS = frozenset({"error", "stopped"})
    """Records fsynced as soon as they are written (the others are only flushed)."""

    def __init__(self, path: str | Path) -> None:
        """Opens `path` for appending, creating it (and its folder) if needed.

        If the file does not end with a newline, an earlier run crashed in the middle of
        its last line. A last line that is still a complete record only lacks its newline,
        which is added. Otherwise the torn text is cut off the journal and appended, as
        is, to the sidecar file `<name>.torn` next to it (and a warning is logged), so
        nothing is silently lost and the journal stays readable line by line.
        """
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.repaired: str | None = None  # what the repair did, for the caller and tests
        if self.path.exists():
            self.repaired = repair_torn_tail(self.path)
        self._file: TextIO | None = open(self.path, "a", encoding="utf-8")

    def write(self, kind: str, **fields: Any) -> None:
        if self._file is None:
            return
        record = {"wall_ns": time.time_ns(), "kind": kind, **fields}
        self._file.write(json.dumps(record, default=str, separators=(",", ":")) + "\n")
        self._file.flush()
        if kind in self.FSYNC_KINDS:
            os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    @property
    def closed(self) -> bool:
        return self._file is None


def repair_torn_tail(path: str | Path) -> str | None:
    """Makes `path` end with a newline (see `Journal.__init__`); returns what was done
    ("completed" or "torn") or None when the file was already whole."""
    path = Path(path)
    with open(path, "r+b") as handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return None
        handle.seek(size - 1)
        if handle.read(1) == b"\n":
            return None
        # Find where the last line starts, reading backwards in chunks.
        start = 0
        end = size
        tail = b""
        while end > 0:
            begin = max(0, end - _CHUNK)
            handle.seek(begin)
            chunk = handle.read(end - begin)
            tail = chunk + tail
            cut = chunk.rfind(b"\n")
            if cut >= 0:
                start = begin + cut + 1
                tail = tail[cut + 1:]
                break
            end = begin
        if _is_record(tail):
            handle.seek(size)
            handle.write(b"\n")
            action = "completed"
        else:
            sidecar = path.with_name(path.name + ".torn")
            with open(sidecar, "ab") as side:
                side.write(tail + b"\n")
                side.flush()
                os.fsync(side.fileno())
            handle.truncate(start)
            action = "torn"
            log.warning("%s: the last line was torn by a crash; moved its %d bytes to %s",
                        path, len(tail), sidecar)
        handle.flush()
        os.fsync(handle.fileno())
    return action


def _is_record(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line.decode("utf-8")), dict)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return False


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
