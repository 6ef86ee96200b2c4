"""Converts raw recordings once and loads the compact event file afterwards.

Parsing JSON costs seconds per recording; loading the converted .npy takes milliseconds
(memory-mapped). Cache entries are keyed by each source's resolved path, size and mtime,
so a changed or replaced recording is converted again, never served stale.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable

import numpy as np

from app.data.binance_recording import parse_recordings
from app.data.events import FORMAT_VERSION, RecordingMeta, load_event_file, save_event_file
from app.domain import Instrument

_REPO_ROOT = Path(__file__).resolve().parents[2]


def recordings_dir() -> Path:
    """Where the shared real recordings live: COLIBRI_DATA_DIR, else ../shared/data beside
    the checkout (tests and benchmarks skip what is not there)."""
    override = os.environ.get("COLIBRI_DATA_DIR")
    return Path(override) if override else _REPO_ROOT.parent / "shared" / "data"


def default_cache_dir() -> Path:
    """COLIBRI_CACHE_DIR, else .cache/recordings under the checkout."""
    override = os.environ.get("COLIBRI_CACHE_DIR")
    return Path(override) if override else _REPO_ROOT / ".cache" / "recordings"


def cache_key(paths: Iterable[Path], extra: str = "") -> str:
    digest = hashlib.sha256(f"v{FORMAT_VERSION}|{extra}".encode())
    for path in paths:
        st = path.stat()
        digest.update(f"|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


def convert_recordings(
    paths: Iterable[Path | str], out_path: Path | str, **parse_options: object
) -> tuple[np.ndarray, RecordingMeta]:
    """Parses raw recordings and writes `out_path` (.npy + .json sidecar)."""
    events, meta = parse_recordings(paths, **parse_options)  # type: ignore[arg-type]
    save_event_file(Path(out_path), events, meta)
    return events, meta


def load_events(
    paths: Iterable[Path | str] | Path | str,
    *,
    instrument: Instrument | None = None,
    market: str | None = None,
    cache_dir: Path | str | None = None,
    use_cache: bool = True,
) -> tuple[np.ndarray, RecordingMeta]:
    """Events and header of one converted .npy file, or of raw recordings (converted once).

    If the cache directory cannot be written, the parsed array is returned uncached.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    sources = [Path(p) for p in paths]
    if len(sources) == 1 and sources[0].suffix == ".npy":
        return load_event_file(sources[0])
    for src in sources:
        if not src.is_file():
            raise FileNotFoundError(f"{src}: no such recording")
    if not use_cache:
        return parse_recordings(sources, instrument=instrument, market=market)
    extra = f"{market}|{instrument!r}"
    target = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = target / f"{cache_key(sources, extra)}.npy"
    if target.is_file() and target.with_suffix(".json").is_file():
        try:
            return load_event_file(target)
        except (ValueError, OSError):
            pass  # unreadable or outdated entry: convert again
    events, meta = parse_recordings(sources, instrument=instrument, market=market)
    try:
        save_event_file(target, events, meta)
    except OSError:
        return events, meta
    return events, meta
