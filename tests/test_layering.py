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
