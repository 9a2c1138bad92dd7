"""A plug-in family (``darknet_cfg``, an imported Darknet cfg) is declared in ``cspnet.families.PLUGINS``:
a design naming it is read the same in a fresh process whether or not ``explorer.io`` was imported first,
and importing ``explorer`` registers nothing (no registration by import side effect)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cspnet.families import FAMILIES, PLUGINS, register_family

ROOT = Path(__file__).resolve().parents[1]

# What a fresh process sees of the darknet_cfg family: the registry, the fields it reads, a design's
# dict and planned parameters, and the message of a refused design.
PROBE = """
import json, sys
{first}
from cspnet import CSPConfig, ConfigError, family_fields, plan_network
from cspnet.families import FAMILIES
from cspnet.fields import GENERIC_READS
text = sys.stdin.read()
cfg = CSPConfig(family="darknet_cfg", network=text, input_size=96, fusion="csp")
try:
    CSPConfig(family="darknet_cfg", network=text, fusion="fusion_last")   # (none: its plain twin)
    refused = None
except ConfigError as exc:
    refused = str(exc)
print(json.dumps({"families": list(FAMILIES), "fields": list(family_fields("darknet_cfg")),
                  "reads": sorted(GENERIC_READS.get("darknet_cfg", ())), "design": cfg.to_dict(),
                  "params": plan_network(cfg).params, "refused": refused,
                  "explorer_loaded_by_import": {loaded}}))
"""


def _probe(first: str, loaded: str) -> dict:
    from explorer.io.family import EXAMPLE_CFG

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = PROBE.replace("{first}", first).replace("{loaded}", loaded)
    r = subprocess.run([sys.executable, "-c", code], input=EXAMPLE_CFG, cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def test_a_plugin_family_is_the_same_whatever_was_imported_first():
    # cspnet alone: "explorer" must not be loaded by importing cspnet (only by naming the family)
    alone = _probe("import cspnet; _before = 'explorer' in sys.modules", "_before")
    after_io = _probe("import explorer.io", "False")
    assert alone["explorer_loaded_by_import"] is False
    assert alone == after_io
    assert alone["families"][-2:] == ["darknet_cfg", "yolo_yaml"] and alone["reads"] == ["input_size"]
    assert alone["fields"] == ["family", "name", "input_size", "network"]
    assert alone["design"]["family"] == "darknet_cfg" and alone["params"] > 0
    assert alone["refused"] and "fusion" in alone["refused"]


def test_importing_the_engine_registers_nothing():
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    code = ("from cspnet.families import FAMILIES; before = dict(FAMILIES)\n"
            "import explorer, explorer.io, explorer.io.family, explorer.cli\n"
            "assert dict(FAMILIES) == before, set(FAMILIES) ^ set(before)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


def test_plugins_are_in_the_registry_by_name():
    for name, (module, attr, _reads) in PLUGINS.items():
        assert FAMILIES[name] == (module, attr)
    register_family("darknet_cfg", *PLUGINS["darknet_cfg"][:2], reads=PLUGINS["darknet_cfg"][2])  # idempotent
    with pytest.raises(ValueError, match="already registered"):
        register_family("darknet_cfg", "somewhere.else", "FAMILY")


def test_an_unknown_family_is_refused_naming_the_allowed_ones_plugins_included():
    from cspnet import ConfigError, CSPConfig

    with pytest.raises(ConfigError) as exc:
        CSPConfig(family="not_a_family")
    assert exc.value.field == "family" and "allowed" in str(exc.value) and "darknet_cfg" in str(exc.value)
