"""Qt tests run without a display unless the caller chose a platform."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
