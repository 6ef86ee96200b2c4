"""tools/screenshots.py end to end: the real app under Xvfb writes every screenshot.

Runs the script as a user would (its own process, a real X server via xvfb-run) with a
short market run, then checks each PNG exists and holds a real picture, not a blank or
a flat-colour frame.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtGui import QImage

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "tools" / "screenshots.py"
EXPECTED = ("main", "ladder", "trades", "depth", "heatmap", "candles", "bots", "orders", "fills",
            "performance", "backtest", "accounts", "log", "ticket", "ladder-trading", "history")
MIN_BYTES = 10_000
MIN_COLOURS = 16

pytestmark = pytest.mark.skipif(
    shutil.which("xvfb-run") is None,
    reason="xvfb-run is not installed (Debian: xvfb xauth; `make test-system-deps` installs them)",
)


def distinct_colours(path: Path) -> int:
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    assert not image.isNull(), f"{path.name} is not a readable image"
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    raw = np.frombuffer(image.constBits(), dtype=np.uint32, count=stride * height // 4)
    pixels = raw.reshape(height, stride // 4)[:, :width]
    return len(np.unique(pixels & 0x00FFFFFF))


@pytest.mark.timeout(420)
def test_screenshots_script_writes_every_view(tmp_path):
    out = tmp_path / "shots"
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "DISPLAY")}
    command = ["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", sys.executable, str(SCRIPT), str(out),
               "--seconds", "6", "--backtest-seconds", "30"]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr[-4000:]}"

    printed = {Path(line).name for line in result.stdout.splitlines() if line.endswith(".png")}
    for name in EXPECTED:
        path = out / f"{name}.png"
        assert path.is_file(), f"{path.name} missing; stderr:\n{result.stderr[-2000:]}"
        assert path.name in printed, f"{path.name} not printed"
        assert path.stat().st_size > MIN_BYTES, f"{path.name} is only {path.stat().st_size} bytes"
        colours = distinct_colours(path)
        assert colours > MIN_COLOURS, f"{path.name} has only {colours} distinct colours"
    main = QImage(str(out / "main.png"))
    assert main.width() >= 1600, f"main.png is {main.width()}x{main.height()}"
