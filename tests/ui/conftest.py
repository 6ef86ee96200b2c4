"""Qt tests run headless; the platform must be chosen before QApplication exists."""
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
