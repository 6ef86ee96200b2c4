"""API secrets out of every text Colibri shows or writes: masking and redaction.

`mask` is how a key is shown (`abcd…wxyz`; a short value shows nothing of itself).
`remember` registers the credentials this process has loaded or been given (every
`Credentials` registers itself), and from then on:

- `redact(text)` replaces them in any text (exception messages from ccxt, check results,
  crash reports): an API key by its masked form, a secret or passphrase by `***`;
- every log record is redacted when it is created (message, arguments and traceback), so
  no handler (console, log panel, file) can print them, whoever logs them.

Values shorter than MIN_LENGTH are not registered: redacting "k" would shred every log
line, and no exchange issues keys that short.
"""
from __future__ import annotations

import logging
import threading
import traceback
from urllib.parse import quote

MIN_LENGTH = 8
HIDDEN = "***"

_replacements: dict[str, str] = {}
_lock = threading.Lock()
_factory_installed = False


def mask(value: str | None) -> str:
    """`abcd…wxyz` for a key of 12+ characters, `****` for a shorter one, "" for none."""
    if not value:
        return ""
    if len(value) >= 12:
        return f"{value[:4]}…{value[-4:]}"
    return "****"


def remember(key: str = "", *hidden: str) -> None:
    """Registers an API key (shown masked) and secrets (never shown) for redaction."""
    additions: dict[str, str] = {}
    for value, replacement in ((key, mask(key)), *((h, HIDDEN) for h in hidden)):
        if value and len(value) >= MIN_LENGTH:
            additions[value] = replacement
            encoded = quote(value, safe="")
            if encoded != value:
                additions[encoded] = replacement
    if not additions:
        return
    with _lock:
        _replacements.update(additions)
    _install_log_redaction()


def forget_all() -> None:
    """Drops the registered values (tests)."""
    with _lock:
        _replacements.clear()


def contains_secret(text: str) -> bool:
    return any(value in text for value in list(_replacements))


def redact(text: str) -> str:
    """The text with every registered value replaced (longest first)."""
    if not _replacements or not text:
        return text
    for value in sorted(list(_replacements), key=len, reverse=True):
        if value in text:
            text = text.replace(value, _replacements.get(value, HIDDEN))
    return text


def _install_log_redaction() -> None:
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        _factory_installed = True
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if not _replacements:
            return record
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: leave it to the handler to report
            return record
        if contains_secret(message):
            record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            if contains_secret(text):
                record.exc_text = redact(text)  # formatters use exc_text when it is set
        if record.stack_info and contains_secret(record.stack_info):
            record.stack_info = redact(record.stack_info)
        return record

    logging.setLogRecordFactory(factory)
