#!/bin/sh
# Packs the PyInstaller bundle (dist/colibri) into dist/colibri_VERSION_ARCH.deb:
# the app under /opt/colibri, `colibri` in /usr/bin, a desktop entry and icons, and the
# Debian libraries Qt's X11/Wayland platform needs as dependencies.
#   sh build/linux/make_deb.sh [BUNDLE_DIR] [OUT_DIR]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/bundle_args.sh"
arch=$(dpkg --print-architecture)
stage=$(mktemp -d "${TMPDIR:-/tmp}/colibri-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/DEBIAN" "$stage/opt" "$stage/usr/bin" "$stage/usr/share/applications"
cp -a "$bundle" "$stage/opt/colibri"
ln -s /opt/colibri/colibri "$stage/usr/bin/colibri"
sed "s|@EXEC@|/opt/colibri/colibri|" "$here/colibri.desktop" > "$stage/usr/share/applications/colibri.desktop"
for size in 16 24 32 48 64 128 256 512; do
    mkdir -p "$stage/usr/share/icons/hicolor/${size}x${size}/apps"
    cp "$root/resources/icons/colibri-$size.png" "$stage/usr/share/icons/hicolor/${size}x${size}/apps/colibri.png"
done
mkdir -p "$stage/usr/share/icons/hicolor/scalable/apps" "$stage/usr/share/doc/colibri"
cp "$root/resources/icons/colibri.svg" "$stage/usr/share/icons/hicolor/scalable/apps/colibri.svg"
cp "$root/LICENSE" "$stage/usr/share/doc/colibri/copyright"

installed_kb=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)
# The bundle carries its own Python and libraries but links against the build machine's
# glibc: that version is the floor (build releases on the oldest distribution supported).
glibc=$(dpkg-query -W -f='${Version}' libc6 | sed 's/-.*//')
cat > "$stage/DEBIAN/control" <<CONTROL
Package: colibri
Version: $version
Architecture: $arch
Maintainer: Colibri developers <maintainers@colibri.invalid>
Installed-Size: $installed_kb
Section: misc
Priority: optional
Depends: libc6 (>= $glibc), libgl1, libegl1, libxkbcommon0, libxkbcommon-x11-0, libfontconfig1, libfreetype6, libdbus-1-3, libglib2.0-0 | libglib2.0-0t64, libx11-6, libx11-xcb1, libxcb1, libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-shape0, libxcb-randr0, libxcb-render-util0, libxcb-image0, libxcb-xkb1
Recommends: gnome-keyring | kwalletmanager | keepassxc
Description: desktop market making and algorithmic trading
 Colibri connects exchange accounts, shows live order books, trades by hand
 and runs, tunes and backtests market-making bots. It works offline out of the
 box on an embedded demo exchange. API keys stay in the system keyring.
CONTROL
# Desktop menus and the icon cache pick the new files up; both tools are optional.
cat > "$stage/DEBIAN/postinst" <<'SCRIPT'
#!/bin/sh
set -e
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
exit 0
SCRIPT
cp "$stage/DEBIAN/postinst" "$stage/DEBIAN/postrm"
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/colibri_${version}_${arch}.deb"
rm -f "$out"/colibri_*.deb  # one .deb in dist/: the tests and the CI upload take it
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
echo "built $deb ($(du -h "$deb" | cut -f1), installs $((installed_kb / 1024)) MB)"
