"""Builds every Cython module found under the Qt-free packages.

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


setup(
    ext_modules=cythonize(
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
