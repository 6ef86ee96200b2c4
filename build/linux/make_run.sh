#!/bin/sh
# Packs the PyInstaller bundle (dist/colibri) into a self-extracting per-user installer,
# dist/colibri-VERSION-ARCH.run (makeself), that runs build/linux/install.sh.
#   sh build/linux/make_run.sh [BUNDLE_DIR] [OUT_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bundle_args.sh"
command -v makeself >/dev/null 2>&1 || { echo "error: makeself is not installed (apt-get install makeself)" >&2; exit 2; }
arch=$(uname -m)
stage=$(mktemp -d "${TMPDIR:-/tmp}/colibri-run.XXXXXX")
trap 'rm -rf "$stage"' EXIT

cp -a "$bundle" "$stage/colibri"
mkdir -p "$stage/icons"
cp "$root"/resources/icons/colibri-*.png "$stage/icons/"
cp "$here/colibri.desktop" "$here/install.sh" "$stage/"
chmod 0755 "$stage/install.sh"
mkdir -p "$out"
run="$out/colibri-$version-$arch.run"
rm -f "$out"/colibri-*.run  # one .run in dist/
makeself --quiet --xz --complevel 6 --tar-quietly "$stage" "$run" "Colibri $version" ./install.sh >/dev/null
echo "built $run ($(du -h "$run" | cut -f1))"
