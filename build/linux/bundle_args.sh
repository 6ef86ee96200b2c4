# Sourced by make_deb.sh and make_run.sh with their arguments: sets root (the checkout),
# bundle (the PyInstaller folder, default dist/colibri), out (default dist/) and version
# (app/version.py), and stops with exit 2 when there is no bundle to pack.
root=$(cd "$here/../.." && pwd)
bundle="${1:-$root/dist/colibri}"
out="${2:-$root/dist}"
[ -x "$bundle/colibri" ] || { echo "error: $bundle/colibri: no bundle (run make bundle first)" >&2; exit 2; }
version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$root/app/version.py")
