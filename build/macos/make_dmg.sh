#!/bin/sh
# Packs dist/Colibri.app into dist/colibri-VERSION-macos-ARCH.dmg: the app beside an
# Applications link, so installing is one drag. Run after build.sh (and after signing).
set -eu
cd "$(dirname "$0")/../.."
app="dist/Colibri.app"
[ -d "$app" ] || { echo "error: $app is missing (run build/macos/build.sh)" >&2; exit 2; }
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' app/version.py)
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cp -R "$app" "$stage/"
ln -s /Applications "$stage/Applications"
dmg="dist/colibri-$version-macos-$(uname -m).dmg"
rm -f "$dmg"
hdiutil create -quiet -volname "Colibri $version" -srcfolder "$stage" -ov -format UDZO "$dmg"
echo "built $dmg"
