"""The desktop app as a process: it starts on the demo exchange and SIGTERM quits it cleanly."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_gui_starts_and_exits_zero_on_sigterm(tmp_path):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "COLIBRI_HOME": str(tmp_path),
           "XDG_CONFIG_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "main.py", "gui"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        lines = []
        while not any("main window shown" in line for line in lines):
            assert time.monotonic() < deadline and proc.poll() is None, "".join(lines)
            lines.append(proc.stdout.readline())
        time.sleep(1.0)  # let the market run a little
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, "".join(lines) + out
    assert "Traceback" not in "".join(lines) + out
    assert "main window shown" in (tmp_path / "logs" / "colibri.log").read_text()  # app/paths.py: log_dir()
