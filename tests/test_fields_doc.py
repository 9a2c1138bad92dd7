"""The field declarations are the one source: the README's table and the CLI say the same."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from cspnet.config import FIELDS, family_fields
from cspnet.fields import field_table

ROOT = Path(__file__).resolve().parents[1]


def test_readme_field_table_is_the_generated_one():
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- fields:start[^\n]*-->\n(.*?)\n<!-- fields:end -->", text, flags=re.S)
    assert m, "README.md lost its generated field table markers"
    assert m.group(1) == field_table(FIELDS), ("README field table is stale: regenerate it with "
                                               "python -m explorer fields --markdown")


def test_cli_fields_lists_what_a_family_reads():
    out = subprocess.run([sys.executable, "-m", "explorer", "fields", "--family", "resnext", "--markdown"],
                         cwd=ROOT, capture_output=True, text=True, check=True).stdout
    listed = re.findall(r"^\| `(\w+)` \|", out, flags=re.M)
    assert listed == [n for n in FIELDS if n in family_fields("resnext") or FIELDS[n].families is None]
    assert "growth_rate" not in listed and "groups" in listed


def test_every_field_has_words_and_a_known_kind():
    for name, f in FIELDS.items():
        assert f.name == name and f.label and f.help.endswith((".", ")")), name
        if f.is_number:
            assert f.lo is not None and f.hi is not None and f.lo < f.hi, name
        if f.kind == "choice":
            assert f.allowed_choices(), name
