#!/bin/sh
# Strips debug symbols from a Linux bundle's own binaries: the Python runtime and Colibri's
# Cython modules (built with -g by default). Wheels' libraries (Qt, numpy's OpenBLAS) are
# left alone: they are stripped already, and stripping an auditwheel-patched library breaks
# its loading ("ELF load command address/offset not page-aligned").
#   sh build/linux/strip_bundle.sh dist/colibri
set -eu
bundle="${1:?usage: strip_bundle.sh BUNDLE_DIR}"
internal="$bundle/_internal"
[ -d "$internal" ] || { echo "error: $internal: not a PyInstaller bundle" >&2; exit 2; }
before=$(du -sk "$bundle" | cut -f1)
find "$internal/app" "$internal/connectors" "$internal/strategies" "$internal"/python3.*/lib-dynload \
     -name '*.so' -type f -exec strip --strip-debug {} +
for lib in "$internal"/libpython3*.so*; do
    [ -f "$lib" ] && strip --strip-debug "$lib"
done
after=$(du -sk "$bundle" | cut -f1)
echo "stripped $bundle: $((before / 1024)) MB -> $((after / 1024)) MB"
