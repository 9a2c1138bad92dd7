"""pyproject.toml's dependencies cover every third-party module that the project's code imports, at any
depth (module level or inside a function, ``__import__``/``importlib.import_module`` of a constant name
included), so that ``pip install .`` gives a working CLI and app; requirements.txt lists the same."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = ("cspnet", "explorer", "app_ui", "pages")       # the folders that are installed or run
FIRST_PARTY = {"cspnet", "explorer", "app_ui", "pages", "app"}
# import name -> distribution name, where they differ
DISTRIBUTIONS = {"yaml": "pyyaml", "PIL": "pillow", "sklearn": "scikit-learn", "cv2": "opencv-python"}


def imported_top_names(path: Path) -> set:
    """The top-level module of every absolute import in ``path``, at any depth."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            fn = node.func
            called = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
            if called in ("__import__", "import_module"):
                names.add(node.args[0].value.split(".")[0])
    return names


def third_party(paths) -> dict:
    """distribution name -> the files importing it (stdlib and first-party modules left out)."""
    out: dict = {}
    for path in paths:
        for name in imported_top_names(path):
            if name in FIRST_PARTY or name in sys.stdlib_module_names or name == "__future__":
                continue
            out.setdefault(_norm(DISTRIBUTIONS.get(name, name)), []).append(str(path.relative_to(ROOT)))
    return out


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(line: str) -> str:
    return _norm(re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line).group(1))


def declared() -> set:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_requirement_name(d) for d in project["dependencies"]}


def code_files() -> list:
    return [ROOT / "app.py"] + sorted(p for d in CODE for p in (ROOT / d).rglob("*.py"))


def test_pyproject_dependencies_cover_every_third_party_import():
    used = third_party(code_files())
    missing = {dist: files[:3] for dist, files in used.items() if dist not in declared()}
    assert not missing, f"imported but not in pyproject.toml's dependencies: {missing}"
    assert "pyyaml" in used and "torch" in used   # the walker sees function-level imports (yaml, torch)


def test_requirements_txt_lists_the_same_packages():
    lines = [ln for ln in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert {_requirement_name(ln) for ln in lines} == declared()


def test_the_walker_sees_nested_and_dynamic_imports_and_maps_distribution_names(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("import os\nfrom . import x\n\ndef f():\n    import yaml\n    from PIL import Image\n"
                 "    __import__('pandas.core')\n    importlib.import_module('cspnet.families')\n")
    assert imported_top_names(f) == {"os", "yaml", "PIL", "pandas", "cspnet"}
    used = {_norm(DISTRIBUTIONS.get(n, n)) for n in imported_top_names(f)
            if n not in FIRST_PARTY and n not in sys.stdlib_module_names}
    assert used == {"pyyaml", "pillow", "pandas"}
