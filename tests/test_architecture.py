"""The package layout: sub-packages in layers, imports point down only (issue: layout that shows the architecture).

core < catalog < perf < economics < search < {planning, market, bench} < render < api < ui < cli (the CLI launches
the dashboard). A module may import from its own sub-package and from any lower layer, never from a higher one or from
a sibling of its layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "tokenfab"
LAYERS = {
    "core": 0,
    "catalog": 1,
    "perf": 2,
    "economics": 3,
    "search": 4,
    "planning": 5,
    "market": 5,
    "bench": 5,
    "render": 6,
    "api": 7,
    "cli": 9,
    "ui": 8,
}


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "tokenfab" or len(parts) < 2:
        return None
    return parts[1]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}:{node.lineno}: use absolute imports (tokenfab.<package>.<module>)"
            if node.module == "tokenfab":
                out += [(node.lineno, f"tokenfab.{a.name}") for a in node.names]
            elif node.module:
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
    return out


MODULES = sorted(p for p in SRC.rglob("*.py") if p.parent != SRC)


def test_every_subpackage_has_a_layer():
    pkgs = {p.relative_to(SRC).parts[0] for p in MODULES}
    assert pkgs <= set(LAYERS), f"sub-packages without a layer: {sorted(pkgs - set(LAYERS))}"


def test_no_top_level_modules_but_the_package_init():
    loose = sorted(p.name for p in SRC.glob("*.py") if p.name != "__init__.py")
    assert not loose, f"modules outside a sub-package: {loose}"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down(path: Path):
    own = path.relative_to(SRC).parts[0]
    bad = []
    for line, mod in _imports(path):
        pkg = _package_of(mod)
        if pkg is None or pkg == own:
            continue
        if pkg not in LAYERS:
            if mod in ("tokenfab.__version__",):
                continue
            bad.append(f"line {line}: {mod} (not a layered sub-package)")
        elif LAYERS[pkg] >= LAYERS[own]:
            bad.append(f"line {line}: {mod} (layer {LAYERS[pkg]} from layer {LAYERS[own]})")
    assert not bad, f"{path.relative_to(SRC)} imports upward or sideways: " + "; ".join(bad)


def test_the_rule_catches_an_upward_import(tmp_path):
    """The check itself can fail: an upward import is reported."""
    p = tmp_path / "x.py"
    p.write_text("from tokenfab.cli.common import console\n")
    assert [m for _, m in _imports(p)] == ["tokenfab.cli.common"]
    assert LAYERS["cli"] > LAYERS["core"]
