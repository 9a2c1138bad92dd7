"""The tiers stay apart: explorer/ and cspnet/ never import Streamlit or Plotly, at any depth."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UI_PACKAGES = ("streamlit", "plotly")


def imported_modules(path: Path) -> set:
    """Every module an import statement in ``path`` names (module level or inside functions)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", ["explorer", "cspnet"])
def test_no_ui_import_in_engine_or_library(package):
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for name in imported_modules(path):
            if name.split(".")[0] in UI_PACKAGES + ("app_ui",):
                offenders.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_importing_every_engine_module_loads_no_ui_package():
    modules = sorted(".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                     for p in (ROOT / "explorer").rglob("*.py") if p.name != "__main__.py")
    code = ("import importlib, sys\n"
            f"for m in {modules!r}: importlib.import_module(m)\n"
            f"bad = [m for m in sys.modules if m.split('.')[0] in {UI_PACKAGES!r}]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_the_walker_sees_function_level_imports(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n    import plotly.graph_objects as go\n    from streamlit import cache_data\n")
    assert {"plotly.graph_objects", "streamlit"} <= imported_modules(f)


def module_level_imports(path: Path) -> list:
    """The import statements at the top level of ``path`` (what loads when the file runs), as source."""
    tree = ast.parse(path.read_text(), filename=str(path))
    return [ast.unparse(n) for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))
            and not (isinstance(n, ast.ImportFrom) and n.module == "__future__")]


def test_the_first_view_does_not_import_torch():
    """The router and the Design page (the app's first view) import, and compute the numbers they
    show, without torch (1.5 s to import here; only a real model needs it: the live trace, Latency,
    ONNX)."""
    lines = module_level_imports(ROOT / "app.py") + module_level_imports(ROOT / "pages" / "Design.py")
    assert any("app_ui" in line for line in lines) and any("explorer" in line for line in lines)
    code = "\n".join(["import sys", *lines,
                      "from cspnet import get_preset",
                      "from explorer.counts.analysis import compare_with_twin",
                      "compare_with_twin(get_preset('densenet201'))",
                      "bad = sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'torchvision', 'fvcore'})",
                      "assert not bad, bad"])
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]


# --------------------------------------------------------------------------- the engine's tiers
# explorer/counts (analytic, from the config alone) < explorer/paper (the published data and the comparison
# with this tool's counts) < explorer/real (real models: trace, latency, roofline). A tier imports only
# itself and the tiers below it, at any depth; a measured paper claim gets its measurer from the caller
# (explorer.paper.reproduce.claims(measure=explorer.real.measure.measure_latency)).
TIERS = ("counts", "paper", "real")


def absolute_imports(path: Path, root: Path = ROOT) -> set:
    """Every module an import statement in ``path`` names, relative imports resolved (any depth)."""
    package = list(path.relative_to(root).with_suffix("").parts)[:-1]   # the package the file is in
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            names.add(mod)
            if not node.module:   # from . import x: x is a module of the package
                names.update(f"{mod}.{a.name}" for a in node.names)
    return names


def tier_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "explorer" and parts[1] in TIERS else None


def tier_offenders(root: Path = ROOT) -> list:
    out = []
    for tier in TIERS:
        for path in sorted((root / "explorer" / tier).rglob("*.py")):
            for name in absolute_imports(path, root):
                other = tier_of(name)
                if other is not None and TIERS.index(other) > TIERS.index(tier):
                    out.append(f"{path.relative_to(root)} ({tier}) imports {name} ({other})")
    return out


def test_the_engine_tiers_import_only_downwards():
    offenders = tier_offenders()
    assert not offenders, "\n".join(offenders)


def test_the_tier_walker_catches_every_kind_of_import(tmp_path):
    for tier in TIERS:
        (tmp_path / "explorer" / tier).mkdir(parents=True)
    (tmp_path / "explorer" / "counts" / "a.py").write_text("def f():\n    from explorer.real.latency import x\n")
    (tmp_path / "explorer" / "paper" / "b.py").write_text("def g():\n    from ..real import latency\n")
    (tmp_path / "explorer" / "paper" / "c.py").write_text("import explorer.real.roofline\nfrom . import d\n")
    (tmp_path / "explorer" / "real" / "e.py").write_text("from explorer.paper.speed import DATA_PATH\n"
                                                         "from ..counts import sweep\n")
    got = tier_offenders(tmp_path)
    assert got == ["explorer/counts/a.py (counts) imports explorer.real.latency (real)",
                   "explorer/paper/b.py (paper) imports explorer.real (real)",
                   "explorer/paper/c.py (paper) imports explorer.real.roofline (real)"]
