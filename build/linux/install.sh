#!/bin/sh
# Colibri's per-user installer, run by the self-extracting .run file from its unpacked
# folder: copies the app to ~/.local/opt/colibri (or --prefix DIR), links `colibri` into
# ~/.local/bin, adds a desktop entry and icons, and writes an uninstaller beside the app.
# Nothing needs root. Settings, accounts and journals are never touched (they live in
# ~/.config/colibri and ~/.local/share/colibri and survive upgrades and uninstalls).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data_home="${XDG_DATA_HOME:-$HOME/.local/share}"
prefix="$HOME/.local/opt/colibri"
bin_dir="$HOME/.local/bin"
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) prefix="${2:?--prefix needs a folder}"; shift 2 ;;
        --prefix=*) prefix="${1#--prefix=}"; shift ;;
        --bin-dir) bin_dir="${2:?--bin-dir needs a folder}"; shift 2 ;;
        -h|--help) echo "usage: colibri-*.run [-- --prefix DIR] [--bin-dir DIR]"; exit 0 ;;
        *) echo "error: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
done
# makeself runs this script from its temporary folder: a relative path is the user's.
case "$prefix" in /*) ;; *) prefix="${USER_PWD:-$PWD}/$prefix" ;; esac
marker=".colibri-install"

if [ -f "$prefix/$marker" ] && [ -x "$prefix/uninstall.sh" ]; then
    echo "Replacing the Colibri in $prefix (your settings and data stay)."
    "$prefix/uninstall.sh" --keep-quiet >/dev/null
elif [ -e "$prefix" ] && [ -n "$(ls -A "$prefix" 2>/dev/null)" ]; then
    echo "error: $prefix exists and is not a Colibri install: choose an empty or new folder (--prefix DIR)" >&2
    exit 2
fi
mkdir -p "$prefix" "$bin_dir" "$data_home/applications"
cp -a "$here/colibri/." "$prefix/"
touch "$prefix/$marker"  # the uninstaller removes only a folder that carries it
ln -sf "$prefix/colibri" "$bin_dir/colibri"
sed "s|@EXEC@|\"$prefix/colibri\"|" "$here/colibri.desktop" > "$data_home/applications/colibri.desktop"
for icon in "$here"/icons/colibri-*.png; do
    size=$(basename "$icon" .png | sed 's/colibri-//')
    mkdir -p "$data_home/icons/hicolor/${size}x${size}/apps"
    cp "$icon" "$data_home/icons/hicolor/${size}x${size}/apps/colibri.png"
done

cat > "$prefix/uninstall.sh" <<UNINSTALL
#!/bin/sh
# Removes Colibri installed by the .run file. Your settings, accounts, journals and logs
# stay in ~/.config/colibri, ~/.local/share/colibri and ~/.local/state/colibri.
set -eu
[ -f "$prefix/$marker" ] || { echo "error: $prefix is not a Colibri install (no $marker)" >&2; exit 2; }
[ "\$(readlink "$bin_dir/colibri" 2>/dev/null)" = "$prefix/colibri" ] && rm -f "$bin_dir/colibri"
rm -f "$data_home/applications/colibri.desktop"
for size in 16 24 32 48 64 128 256 512; do
    rm -f "$data_home/icons/hicolor/\${size}x\${size}/apps/colibri.png"
done
rm -rf "$prefix"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data_home/applications" || true
[ "\${1:-}" = "--keep-quiet" ] || echo "Colibri removed from $prefix (settings and data kept)."
UNINSTALL
chmod 0755 "$prefix/uninstall.sh"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data_home/applications" || true

echo "Colibri installed in $prefix"
echo "  start it from your applications menu, or run: $bin_dir/colibri"
case ":$PATH:" in *":$bin_dir:"*) ;; *) echo "  ($bin_dir is not on your PATH)";; esac
echo "  check it: $bin_dir/colibri --self-test"
echo "  uninstall: $prefix/uninstall.sh"
