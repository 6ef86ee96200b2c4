"""Builds every Cython module found under the Qt-free packages, and compiles the plain
Python modules of the bots' per-order path as they are (COMPILED_PY below).

Kept as a plain setuptools script (not meson-python) because setuptools' editable install
builds the extensions in place with no extra tools, and PyInstaller sees ordinary modules.
Generated C and build trees go to .build/, never into build/ (packaging sources only).
"""
import os
import sys
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, setup

ROOT = Path(__file__).parent
PACKAGES = ("app", "connectors", "strategies")
OPTIMISE = ["/O2"] if sys.platform == "win32" else ["-O3"]  # MSVC's flag on Windows, GCC's and Clang's elsewhere
# Plain Python modules also compiled as they are (Cython's pure-Python mode, Python
# semantics kept: no C typing from annotations, bounds and negative indices checked): the
# per-order and per-requote path of every bot (the simulated venues' one settlement path,
# own orders, the bot's event handling, clocks, orders and ledger, the quoting strategies'
# Python side). Each runs about a quarter faster than under the interpreter; the .py file
# stays the source (tests/test_compiled_modules.py fails while a build is older than it).
COMPILED_PY = (
    "app/domain/events.py", "app/domain/fill.py", "app/domain/frozen.py", "app/domain/instrument.py",
    "app/domain/ledger.py", "app/domain/order.py", "app/domain/validation.py",
    "app/engine/bot.py", "app/engine/own_orders.py", "app/engine/pnl.py", "app/engine/risk_guard.py",
    "app/interfaces/clock.py", "app/interfaces/strategy.py", "app/interfaces/venue.py",
    "connectors/paper/connector.py", "connectors/paper/liquidity.py", "connectors/simulated.py",
    "strategies/avellaneda_model.py", "strategies/avellaneda_stoikov.py", "strategies/estimators.py",
    "strategies/pmm/gating.py", "strategies/pmm/quotes.py", "strategies/pure_market_making.py",
    "strategies/quoting.py", "strategies/reconcile.py", "strategies/simple_quoter.py",
)
PY_DIRECTIVES = {"language_level": "3", "annotation_typing": False, "binding": True}
# Developers may build a subset while other modules are being edited: COLIBRI_ONLY=app/book
ONLY = tuple(p for p in os.environ.get("COLIBRI_ONLY", "").split(",") if p)


def _extensions() -> list[Extension]:
    found = []
    for package in PACKAGES:
        for pyx in sorted((ROOT / package).rglob("*.pyx")):
            rel = pyx.relative_to(ROOT)
            if ONLY and not any(rel.as_posix().startswith(prefix) for prefix in ONLY):
                continue
            module = ".".join(rel.with_suffix("").parts)
            found.append(
                Extension(
                    module,
                    [str(rel)],
                    include_dirs=[numpy.get_include()],
                    define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                    extra_compile_args=OPTIMISE,
                    language="c++",
                )
            )
    return found


def _compiled_py() -> list[Extension]:
    # No fused multiply-add: a product then a sum round twice, as in numpy and the
    # interpreter (strategies/estimators.py sums its fit bit for bit as numpy does).
    flags = ["/O2", "/fp:precise"] if sys.platform == "win32" else ["-O2", "-ffp-contract=off"]
    return [Extension(".".join(Path(rel).with_suffix("").parts), [rel], extra_compile_args=flags)
            for rel in COMPILED_PY if not ONLY or any(rel.startswith(prefix) for prefix in ONLY)]


setup(
    ext_modules=cythonize(_compiled_py(), build_dir=".build/cython", compiler_directives=PY_DIRECTIVES, quiet=True)
    + cythonize(
        _extensions(),
        build_dir=".build/cython",
        compiler_directives={
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
        quiet=True,
    ),
    options={"build": {"build_base": ".build"}},
)
