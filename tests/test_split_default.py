"""The default split (CSPNet's half: ``cspnet.fields.SPLIT_RATIO_DEFAULT``) is declared once and read
everywhere; a literal ``split_ratio=0.5`` / ``"split_ratio": 0.5`` is allowed only where the value is a
preset's or a format's own data (listed below, with why)."""
from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

from cspnet import CSPConfig
from cspnet.families import FAMILIES, PLUGINS, get_family
from cspnet.fields import SPLIT_RATIO_DEFAULT

ROOT = Path(__file__).resolve().parents[1]
CODE = ("cspnet", "explorer", "app_ui", "pages")
DATA = {   # file -> why its literal split is data, not the default
    "cspnet/families/densenet.py": "presets: the CSPNet paper's gamma 0.5 on torchvision's DenseNets",
    "cspnet/families/lineage.py": "presets: the lineage's halves, fixed by its reference networks",
    "explorer/io/ultralytics.py": "the format: Ultralytics' blocks split in two equal halves",
}


def split_literals(source: str, filename: str = "<code>") -> list:
    """Lines where ``split_ratio`` is given a number literal (keyword argument or dict entry)."""
    out = []
    for n in ast.walk(ast.parse(source, filename=filename)):
        pairs = []
        if isinstance(n, ast.keyword) and n.arg == "split_ratio":
            pairs.append(n.value)
        elif isinstance(n, ast.Dict):
            pairs += [v for k, v in zip(n.keys, n.values) if isinstance(k, ast.Constant) and k.value == "split_ratio"]
        out += [v.lineno for v in pairs if isinstance(v, ast.Constant) and isinstance(v.value, (int, float))]
    return sorted(out)


def test_the_field_default_is_the_declared_one():
    field = next(f for f in dataclasses.fields(CSPConfig) if f.name == "split_ratio")
    assert field.default == SPLIT_RATIO_DEFAULT == 0.5
    assert CSPConfig().split_ratio == SPLIT_RATIO_DEFAULT


# (an imported network's split is its file's)
@pytest.mark.parametrize("family", [f for f in FAMILIES if f not in PLUGINS])
def test_a_switch_to_csp_starts_from_the_default_split(family):
    assert get_family(family).defaults["split_ratio"] == SPLIT_RATIO_DEFAULT


def test_the_lesson_starts_from_the_default_split():
    from explorer.lesson.designs import BASE, LINEAGE_BASE

    assert BASE["split_ratio"] == LINEAGE_BASE["split_ratio"] == SPLIT_RATIO_DEFAULT


def test_no_literal_split_outside_data():
    found = []
    for path in sorted(p for d in CODE for p in (ROOT / d).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel not in DATA:
            found += [f"{rel}:{line}" for line in split_literals(path.read_text(encoding="utf-8"), rel)]
    assert not found, "read cspnet.fields.SPLIT_RATIO_DEFAULT instead of a literal split:\n" + "\n".join(found)


def test_the_check_sees_keywords_and_dict_entries():
    src = 'a = dict(split_ratio=0.5)\nb = {"split_ratio": 0.75, "x": 1}\nc = f(split_ratio=DEFAULT)\n'
    assert split_literals(src) == [1, 2]
