"""The plain Python modules setup.py compiles as they are (COMPILED_PY) run compiled, and
from a build no older than their source: an edited .py whose build was not redone would
otherwise run the old code without a word."""
from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compiled_py() -> list[str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "COMPILED_PY" for t in node.targets):
            return list(ast.literal_eval(node.value))
    raise AssertionError("setup.py has no COMPILED_PY")


def test_every_listed_module_runs_compiled_from_a_current_build() -> None:
    listed = compiled_py()
    assert listed and all((ROOT / rel).is_file() for rel in listed)
    stale, interpreted = [], []
    for rel in listed:
        module = importlib.import_module(".".join(Path(rel).with_suffix("").parts))
        built = Path(module.__file__)
        if built.suffix != ".so":
            interpreted.append(rel)
        elif built.stat().st_mtime_ns < (ROOT / rel).stat().st_mtime_ns:
            stale.append(rel)
    assert not interpreted, f"not compiled (run `make build`): {', '.join(interpreted)}"
    assert not stale, f"built before their last edit (run `make build`): {', '.join(stale)}"


def test_compiled_code_keeps_python_semantics() -> None:
    """Annotations do not type the compiled code: an int-annotated argument still takes a
    numpy integer, and negative indices still count from the end."""
    import numpy as np

    from app.domain import BTC_USDT
    from app.domain.order import _base36
    from strategies.quoting import no_self_cross

    assert BTC_USDT.notional(np.int64(6_000_000), np.int64(200)) == BTC_USDT.notional(6_000_000, 200)
    assert _base36(36**6 + 35, 6) == "00000z"
    assert no_self_cross([], [1, 2], [5, 3]) == []
