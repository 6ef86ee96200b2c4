"""Where the shared real-market recordings live: COLIBRI_DATA_DIR, else shared/data beside the repo."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def shared_data_dir() -> Path | None:
    override = os.environ.get("COLIBRI_DATA_DIR")
    candidates = [Path(override)] if override else []
    candidates += [REPO.parent / "shared" / "data", REPO / "shared" / "data"]
    for folder in candidates:
        if folder.is_dir():
            return folder
    return None
