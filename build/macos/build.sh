#!/bin/sh
# Builds Colibri for macOS: the Cython modules, dist/Colibri.app (PyInstaller, with the icon
# and Info.plist from build/colibri.spec), its self-test, then the .dmg (make_dmg.sh).
# Needs Python 3.11+ and the Xcode command line tools. Signing and notarisation are the
# maintainers' step: docs/install.md, "For maintainers". From the repository root:
#   sh build/macos/build.sh
set -eu
cd "$(dirname "$0")/../.."
python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip 'setuptools>=77' wheel
.venv/bin/python -m pip install -q -e '.[dist]'
.venv/bin/python -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath .build/pyinstaller \
    build/colibri.spec
dist/Colibri.app/Contents/MacOS/colibri --self-test
sh build/macos/make_dmg.sh
