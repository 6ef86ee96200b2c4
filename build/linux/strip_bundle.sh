#!/bin/sh
# Strips debug symbols from a Linux bundle's binaries that carry them: the Python runtime,
# Colibri's Cython modules (built with -g by default) and the extension modules some wheels
# ship unstripped (aiohttp, yaml, sqlalchemy, msgpack...). A file auditwheel patched (its
# RPATH/RUNPATH points at $ORIGIN, or it lives in a *.libs folder, like numpy's OpenBLAS)
# is left alone:
# stripping a patched library breaks its loading ("ELF load command address/offset not
# page-aligned").
#   sh build/linux/strip_bundle.sh dist/colibri
set -eu
bundle="${1:?usage: strip_bundle.sh BUNDLE_DIR}"
[ -d "$bundle/_internal" ] || { echo "error: $bundle/_internal: not a PyInstaller bundle" >&2; exit 2; }
before=$(du -sk "$bundle" | cut -f1)
find "$bundle/_internal" -type f -name '*.so*' ! -path '*.libs/*' | while read -r lib; do
    readelf -S "$lib" 2>/dev/null | grep -q '\.debug_info' || continue
    readelf -d "$lib" 2>/dev/null | grep -E '\((RPATH|RUNPATH)\)' | grep -q 'ORIGIN' && continue
    strip --strip-debug "$lib"
done
after=$(du -sk "$bundle" | cut -f1)
echo "stripped $bundle: $((before / 1024)) MB -> $((after / 1024)) MB"
