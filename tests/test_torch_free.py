"""Planning never imports torch, and every module class sits in a parallel file next to its plan twin.

``import cspnet``, configs, presets, validation and the analytic plan are pure Python (the app's
Design page and its start-up need only them); torch is imported by ``cspnet/nn/*`` and
``cspnet/model.py`` only, when a model is built.  See ``cspnet/families/__init__.py``.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CSPNET = os.path.join(ROOT, "cspnet")

PLAN_EVERYTHING = (
    "import cspnet, sys; from cspnet import get_preset, plan_network, all_presets; "
    "[plan_network(get_preset(n)) for n in all_presets()]; "
    "from explorer.counts.analysis import compare_with_twin; compare_with_twin(get_preset('cspresnet50')); "
    "assert 'torch' not in sys.modules"
)


def _run(code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_planning_every_preset_does_not_import_torch():
    r = _run(PLAN_EVERYTHING)
    assert r.returncode == 0, r.stderr


def test_validation_and_family_metadata_do_not_import_torch():
    r = _run(
        "import sys; from cspnet import CSPConfig, ConfigError, family_fields, get_preset\n"
        "from cspnet.families import FAMILIES, get_family\n"
        "for f in FAMILIES:\n"
        "    fam = get_family(f); CSPConfig(family=f, **fam.defaults); family_fields(f)\n"
        "    for fusion in ('none', 'csp', 'fusion_first', 'fusion_last'):\n"
        "        try: CSPConfig(family=f, **dict(fam.defaults, fusion=fusion, split_ratio=0.01))\n"
        "        except ConfigError: pass\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
        "import cspnet; m = cspnet.build_model(get_preset('cspresnet50'), device='meta')\n"
        "assert 'torch' in sys.modules and cspnet.count_params(m) == 21_616_168\n"
        "assert isinstance(m, cspnet.CSPNetModel)\n")
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("module", ["cspnet.families", "cspnet.config", "cspnet.plan", "cspnet.presets",
                                    "cspnet.families.densenet", "cspnet.families.resnet", "cspnet.graph_model",
                                    "cspnet.model"])
def test_every_module_imports_on_its_own(module):
    r = _run(f"import {module}")
    assert r.returncode == 0, r.stderr


def _py_files(folder: str) -> list:
    return sorted(f for f in os.listdir(folder) if f.endswith(".py"))


def test_only_the_generated_model_imports_torch_at_module_level():
    for dirpath, _, files in os.walk(CSPNET):
        rel = os.path.relpath(dirpath, CSPNET)
        if rel.split(os.sep)[0] == "__pycache__":
            continue
        for f in files:
            if not f.endswith(".py") or (rel == "." and f in ("model.py", "graph_model.py")):
                continue
            tree = ast.parse(open(os.path.join(dirpath, f), encoding="utf-8").read())
            for node in tree.body:   # module level only: a function may import the model when it builds
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""] if isinstance(node, ast.ImportFrom) else []
                for name in names:
                    root = name.split(".")[0]
                    assert root != "torch" and not re.match(r"^(cspnet\.)?(graph_model|model)\b", name), (rel, f, name)
                    if isinstance(node, ast.ImportFrom) and node.level:
                        assert not (node.module or "").startswith(("graph_model", "model")), (rel, f, node.module)


def test_the_oracle_modules_name_their_plan_twins():
    """The hand-written twin (tests/oracle) names, per class, the plan it is the twin of."""
    from torch import nn

    oracle = os.path.join(os.path.dirname(__file__), "oracle")
    files = [f for f in _py_files(oracle) if f != "__init__.py"]
    assert files
    for f in files:
        assert os.path.exists(os.path.join(CSPNET, "families", f)), f"tests/oracle/{f} has no cspnet/families/{f}"
        mod = importlib.import_module(f"oracle.{f[:-3]}")
        classes = [c for _, c in inspect.getmembers(mod, inspect.isclass)
                   if issubclass(c, nn.Module) and c.__module__ == mod.__name__]
        assert classes, f
        for cls in classes:
            doc = inspect.getdoc(cls) or ""
            m = re.search(r"Plan twin: ``([\w.]+)``", doc)
            assert m, f"{mod.__name__}.{cls.__name__} does not name its plan twin"
            target = m.group(1)
            if target.startswith("cspnet.plan."):
                obj = importlib.import_module("cspnet.plan")
                rest = target[len("cspnet.plan."):].split(".")
            else:
                assert target.startswith(f"cspnet.families.{f[:-3]}."), (cls, target)
                obj = importlib.import_module(f"cspnet.families.{f[:-3]}")
                rest = target[len(f"cspnet.families.{f[:-3]}."):].split(".")
            for part in rest:
                obj = getattr(obj, part)
            assert callable(obj), target


def test_every_block_type_is_one_registry_entry():
    """A block type is its plan and one entry: the product has no module class for it (the model is generated);
    the tests' hand-written twin of each names that plan."""
    from cspnet.families._blocks import BLOCK_TYPES
    from oracle._blocks import ORACLE_BLOCKS

    assert set(ORACLE_BLOCKS) == set(BLOCK_TYPES)
    for name, bt in BLOCK_TYPES.items():
        assert callable(bt.plan) and not hasattr(bt, "module")
        assert f"cspnet.families._blocks.{bt.plan.__name__}" in inspect.getdoc(ORACLE_BLOCKS[name])
