# Colibri: `make run` starts the app, `make test` runs the whole test suite.
# Both set up everything from a fresh clone: system libraries (Debian/Ubuntu), a virtual
# environment, the Python dependencies and the compiled Cython modules.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.colibri-installed

QT_DEBS := libgl1 libegl1 libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0
TEST_DEBS := dbus gnome-keyring xvfb xauth libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0

.PHONY: run test bench setup system-deps test-system-deps build clean screenshots bundle dist dist-test

run: setup
	$(PY) main.py $(ARGS)

test: setup test-system-deps
	QT_QPA_PLATFORM=offscreen dbus-run-session -- sh -c 'echo -n colibri | gnome-keyring-daemon --unlock --components=secrets >/dev/null; $(PY) -m pytest $(PYTEST_ARGS)'

bench: setup $(VENV)/.colibri-peers
	$(PY) -m bench

# The benchmarks' peers (hftbacktest for the replay bench): only `make bench` needs them.
$(VENV)/.colibri-peers: pyproject.toml $(STAMP)
	$(PY) -m pip install -q -e '.[peers]'
	touch $@

setup: system-deps $(STAMP) build

system-deps:
	@sh build/system_deps.sh $(QT_DEBS)

test-system-deps:
	@sh build/system_deps.sh $(TEST_DEBS)

$(STAMP): pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 'setuptools>=77' wheel
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# Rebuilds the Cython modules when a .pyx changed (pip install -e does the first build).
build: $(STAMP)
	@$(PY) setup.py -q build_ext --inplace

# Installers (docs/install.md): `make bundle` is the PyInstaller folder dist/colibri (build/colibri.spec),
# `make dist` adds dist/*.deb and dist/*.run, `make dist-test` runs their self-tests (tests/test_dist.py).
DIST_DEBS := makeself dpkg-dev binutils

# The `dist` extra's packages alone (pip install -e '.[dist]' would rebuild every Cython module).
$(VENV)/.colibri-dist: pyproject.toml $(STAMP)
	$(PY) -m pip install -q $$($(PY) -c "import tomllib; print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['dist']))")
	touch $@

bundle: setup $(VENV)/.colibri-dist
	@sh build/system_deps.sh $(DIST_DEBS)
	$(PY) -m PyInstaller --noconfirm --log-level WARN --distpath dist --workpath .build/pyinstaller build/colibri.spec
	sh build/linux/strip_bundle.sh dist/colibri

dist: bundle
	sh build/linux/make_deb.sh
	sh build/linux/make_run.sh

dist-test: dist test-system-deps
	QT_QPA_PLATFORM=offscreen COLIBRI_DIST_TESTS=1 dbus-run-session -- sh -c 'echo -n colibri | gnome-keyring-daemon --unlock --components=secrets >/dev/null; $(PY) -m pytest tests/test_dist.py $(PYTEST_ARGS)'

clean:
	rm -rf .build dist $(VENV)
	find app connectors strategies -name '*.so' -delete

# Documentation screenshots of the real window on the demo exchange, under a virtual X server.
screenshots: setup test-system-deps
	xvfb-run -a -s "-screen 0 1600x1000x24" $(PY) tools/screenshots.py docs/screenshots
