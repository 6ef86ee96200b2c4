"""Renders resources/icons/colibri.svg into the icon files the installers need.

PNGs at the freedesktop sizes (Linux launchers, the window icon), colibri.ico (Windows,
several sizes in one file) and colibri.icns (macOS). The outputs are committed, so a build
never needs this; run it after changing the SVG:

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/make_icons.py
"""
from __future__ import annotations

import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(svg: Path, size: int, out: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    QSvgRenderer(str(svg)).render(painter)
    painter.end()
    if not image.save(str(out)):
        raise OSError(f"{out}: cannot write the PNG")


def main() -> int:
    from PIL import Image
    from PySide6.QtGui import QGuiApplication

    QGuiApplication(sys.argv[:1])
    svg = ICONS / "colibri.svg"
    pngs = {}
    for size in PNG_SIZES:
        pngs[size] = ICONS / f"colibri-{size}.png"
        render(svg, size, pngs[size])
    big = Image.open(pngs[512])
    big.save(ICONS / "colibri.ico", sizes=[(s, s) for s in (16, 24, 32, 48, 64, 128, 256)])
    big.save(ICONS / "colibri.icns")
    print(f"icons written to {ICONS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
