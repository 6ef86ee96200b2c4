"""The installers built by `make dist`: the bundle, the .deb and the .run, each running its
self-test (offscreen, under a real X server, unpacked from the .deb, installed from the .run
into a scratch home) and the bundled command line's worker processes.

They run when dist/ holds a build, or when COLIBRI_DIST_TESTS=1 asks for them (then a
missing build is a failure, not a skip): `make dist-test` builds and runs them.
"""
import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DIST = ROOT / "dist"
BUNDLE = DIST / "colibri"
ASKED = os.environ.get("COLIBRI_DIST_TESTS") == "1"
CHECKS = ("window", "first book", "bot", "rehearsal exchange", "keyring", "TLS certificates",
          "backtest worker process", "close")

pytestmark = pytest.mark.skipif(not ASKED and not (sys.platform.startswith("linux") and (BUNDLE / "colibri").is_file()),
                                reason="no Linux build in dist/ (make dist-test builds the installers and runs these)")


def _one(pattern: str) -> Path:
    found = sorted(DIST.glob(pattern))
    assert len(found) == 1, f"expected one {pattern} in {DIST} (make dist), found {[p.name for p in found]}"
    return found[0]


@pytest.fixture(scope="module")
def bundle() -> Path:
    assert (BUNDLE / "colibri").is_file(), f"{BUNDLE}/colibri is missing: run make dist"
    return BUNDLE


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME="", XDG_DATA_HOME="", XDG_STATE_HOME="",
               QT_QPA_PLATFORM="offscreen", **extra)
    for key in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "COLIBRI_HOME"):
        env.pop(key, None)
    if not env.get("DBUS_SESSION_BUS_ADDRESS"):  # make dist-test provides a Secret Service
        env.update(COLIBRI_KEYSTORE="encrypted-file", COLIBRI_KEYSTORE_PASSPHRASE="dist test passphrase")
    (tmp_path / "home").mkdir(exist_ok=True)
    return env


def _self_test(command: list[str], env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run([*command, "--self-test"], env=env, cwd=cwd, capture_output=True, text=True,
                            timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0, out
    for check in CHECKS:
        assert f"ok   {check}: " in result.stdout, out
    assert "Traceback" not in out
    return result.stdout


def test_bundle_self_test_offscreen(bundle, tmp_path):
    out = _self_test([str(bundle / "colibri")], _env(tmp_path), tmp_path)
    assert f"bundled in {bundle}" in out
    assert "(offscreen, " in out
    assert (tmp_path / "home" / ".local" / "state" / "colibri" / "logs" / "self-test.txt").is_file()


def test_bundle_self_test_under_xvfb(bundle, tmp_path):
    if shutil.which("xvfb-run") is None:
        pytest.fail("xvfb-run is missing (make dist-test installs xvfb)")
    env = _env(tmp_path)
    env.pop("QT_QPA_PLATFORM")
    out = _self_test(["xvfb-run", "-a", "-s", "-screen 0 1600x1000x24", str(bundle / "colibri")], env, tmp_path)
    assert "(xcb, " in out


def test_bundled_command_line_runs_plots_and_worker_processes(bundle, tmp_path):
    """`backtest --plots` re-runs the bundle for the Qt plots (no python -m there) and
    `sweep` spawns worker processes (frozen multiprocessing), with optuna and a local Dask."""
    env, config = _env(tmp_path), bundle / "_internal" / "resources" / "configs" / "demo.yaml"
    colibri = str(bundle / "colibri")

    def run(*args: str) -> str:
        result = subprocess.run([colibri, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    assert "plots written to" in run("backtest", "--config", str(config), "--duration", "300", "--plots",
                                     "--report", "r.json")
    assert (tmp_path / "r.plots.png").stat().st_size > 10_000
    for extra, out in ((["--workers", "2"], "grid.csv"), (["--optuna", "3", "--workers", "2"], "optuna.csv"),
                       (["--dask", "local", "--workers", "2"], "dask.csv")):
        text = run("sweep", "--config", str(config), "--grid", "bid_spread_bps=1,2", "--duration", "120", *extra,
                   "--out", out)
        assert ", 0 failed" in text, text
        assert len((tmp_path / out).read_text().splitlines()) >= 3


def test_bundled_recordings_and_bad_input(bundle, tmp_path):
    """Recordings parse and verify in the bundle; bad input is one line and exit status 2."""
    from tests.synthetic_recordings import spot_session, write_recording

    recording = write_recording(tmp_path / "spot.gz", spot_session())
    env = _env(tmp_path)
    verify = subprocess.run([str(bundle / "colibri"), "data", "verify", str(recording)], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0 and verify.stdout.rstrip().endswith("OK"), verify.stdout + verify.stderr
    bad = subprocess.run([str(bundle / "colibri"), "backtest", "--config", "missing.yaml"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad.stderr
    assert "missing.yaml" in bad.stderr and "Traceback" not in bad.stderr


def test_bundle_needs_no_library_the_spec_left_out(bundle):
    """The spec drops GTK's theme plugin and the libraries only it needs: nothing left in the
    bundle may link against one of them."""
    tree = ast.parse((ROOT / "build" / "colibri.spec").read_text())
    dropped = next(ast.literal_eval(node.value) for node in tree.body
                   if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "GTK_ONLY")
    offenders = []
    for path in bundle.rglob("*.so*"):
        if not path.is_file():
            continue
        dynamic = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True).stdout
        needed = [line.split("[", 1)[1].rstrip("]") for line in dynamic.splitlines() if "(NEEDED)" in line]
        offenders += [f"{path.name} needs {lib}" for lib in needed if lib.startswith(dropped)]
    assert not offenders, offenders


def test_deb_unpacked_into_a_scratch_root_runs_its_self_test(tmp_path):
    deb = _one("colibri_*.deb")
    fields = subprocess.run(["dpkg-deb", "-f", str(deb), "Package", "Version", "Depends"], capture_output=True,
                            text=True, check=True).stdout
    assert "Package: colibri" in fields and "libxcb-cursor0" in fields
    root = tmp_path / "root"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    assert os.readlink(root / "usr" / "bin" / "colibri") == "/opt/colibri/colibri"
    desktop = (root / "usr" / "share" / "applications" / "colibri.desktop").read_text()
    assert "Exec=/opt/colibri/colibri" in desktop and "Icon=colibri" in desktop
    assert (root / "usr" / "share" / "icons" / "hicolor" / "256x256" / "apps" / "colibri.png").is_file()
    out = _self_test([str(root / "opt" / "colibri" / "colibri")], _env(tmp_path), tmp_path)
    assert f"bundled in {root / 'opt' / 'colibri'}" in out


def test_run_installs_per_user_runs_and_uninstalls(tmp_path):
    run_file = _one("colibri-*.run")
    env = _env(tmp_path)
    home = Path(env["HOME"])
    result = subprocess.run(["sh", str(run_file), "--quiet"], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    prefix = home / ".local" / "opt" / "colibri"
    launcher = home / ".local" / "bin" / "colibri"
    assert launcher.resolve() == (prefix / "colibri").resolve()
    assert f'Exec="{prefix}/colibri"' in (home / ".local" / "share" / "applications" / "colibri.desktop").read_text()
    out = _self_test([str(launcher)], env, tmp_path)
    assert f"bundled in {prefix}" in out
    removed = subprocess.run([str(prefix / "uninstall.sh")], env=env, capture_output=True, text=True)
    assert removed.returncode == 0, removed.stderr
    assert not prefix.exists() and not launcher.exists()
    assert not (home / ".local" / "share" / "applications" / "colibri.desktop").exists()
    assert (home / ".local" / "state" / "colibri" / "logs" / "self-test.txt").is_file()  # the user's files stay


def test_run_installs_into_a_relative_prefix_and_never_over_a_foreign_folder(tmp_path):
    """A relative --prefix is the user's (not makeself's temporary folder); a folder that
    holds something else is refused, so the uninstaller can never delete it."""
    run_file = _one("colibri-*.run")
    env = _env(tmp_path)
    result = subprocess.run(["sh", str(run_file), "--quiet", "--", "--prefix", "apps/colibri"], env=env,
                            cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "apps" / "colibri" / "colibri").is_file()
    foreign = tmp_path / "Documents"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    refused = subprocess.run(["sh", str(run_file), "--quiet", "--", "--prefix", str(foreign)], env=env,
                             cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert refused.returncode == 2 and "is not a Colibri install" in refused.stderr
    assert (foreign / "notes.txt").read_text() == "mine" and not (foreign / "colibri").exists()
