"""A network is parts (issue 19, item 1): backbone, neck and head, each with its stages.

``summary --json``'s ``parts`` (``explorer.counts.analysis.plan_summary``) must cover every stage once, in
forward order, and add up to the totals in params, MACs and every registered convention: on every preset,
on imported Darknet cfgs and on a plan whose stages are marked as a neck.  The CLI prints a line per part and
a ``part`` column, the Design page a parts table, and the diagram draws parts as clusters when there is a neck.
"""
from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import re
from pathlib import Path

import pytest

from cfg_samples import TINY_CFG
from cspnet import get_preset, plan_network, preset_names
from cspnet.plan import NetPlan
from explorer.cli import main
from explorer.counts.analysis import (
    PART_SHARE_COLUMN,
    PARTS,
    part_table,
    plan_summary,
    stage_span,
    stage_table,
    stage_view,
    summarize,
)
from explorer.counts.conventions import REGISTRY, count
from explorer.io.darknet import parse_cfg, summarize_net
from explorer.io.darknet_export import export_cfg
from test_darknet_cfg import KINDS, PLAIN, UNEVEN, csdarknet53_like

NECK = ("stages.2", "stages.3")   # the stages a test marks as a neck


def check_parts(s: dict) -> None:
    """The parts of summary ``s`` cover every stage once, in forward order, agree with the stage rows' ``part``
    and add up to the totals in params, MACs and every convention; each part's counts are its stages' sums."""
    parts = s["parts"]
    names = [p["name"] for p in parts]
    assert len(set(names)) == len(names) and set(names) <= set(PARTS), names
    order = {st["name"]: i for i, st in enumerate(s["stages"])}
    flat = [st for p in parts for st in p["stages"]]
    assert sorted(flat, key=order.__getitem__) == list(order), "a stage lost or counted twice"
    for p in parts:   # forward order: within a part, and the parts by their first stage
        assert p["stages"] == sorted(p["stages"], key=order.__getitem__), p["name"]
    assert [order[p["stages"][0]] for p in parts] == sorted(order[p["stages"][0]] for p in parts)
    by_name = {st["name"]: st for st in s["stages"]}
    for p in parts:
        assert all(by_name[n]["part"] == p["name"] for n in p["stages"]), p["name"]
        assert p["params"] == sum(by_name[n]["params"] for n in p["stages"]), p["name"]
        assert p["macs"] == sum(by_name[n]["macs"] for n in p["stages"]), p["name"]
        assert list(p["conventions"]) == list(REGISTRY), p["name"]
    assert sum(p["params"] for p in parts) == s["params"]
    assert sum(p["macs"] for p in parts) == s["macs"]
    for key in REGISTRY:
        assert sum(p["conventions"][key] for p in parts) == s["conventions"][key]["value"], key
        for p in parts:
            assert p["conventions"][key] == sum(by_name[n]["conventions"][key] for n in p["stages"]), (p["name"], key)


def _necked_plan(name: str, neck=NECK) -> NetPlan:
    """The plan of preset ``name`` with the stages ``neck`` marked as its neck (a copy: the memoized plan stays)."""
    plan = plan_network(get_preset(name))
    return NetPlan(plan.input_shape, [dataclasses.replace(sp, part="neck") if sp.name in neck else sp
                                      for sp in plan.stages])


# --------------------------------------------------------------------------- the engine
@pytest.mark.parametrize("name", preset_names())
def test_every_preset_s_parts_add_up_to_the_totals(name):
    s = summarize(get_preset(name))
    check_parts(s)
    cfg = get_preset(name)
    detector = cfg.is_detector or cfg.family in ("yolo_yaml", "darknet_cfg")   # (opened files' presets: detectors)
    assert [p["name"] for p in s["parts"]] == (["backbone", "neck", "head"] if detector else ["backbone", "head"])
    assert s["parts"][-1]["stages"] == ["head"]
    plan = plan_network(get_preset(name))
    assert s["parts"][-1]["conventions"]["fvcore"] == count(plan.stage("head"), "fvcore")


def test_a_part_row_that_drops_or_miscounts_a_stage_is_caught():
    s = summarize(get_preset("cspdarknet53"))
    check_parts(s)
    dropped = copy.deepcopy(s)
    dropped["parts"][0]["stages"].remove("stages.1")
    with pytest.raises(AssertionError, match="a stage lost or counted twice"):
        check_parts(dropped)
    short = copy.deepcopy(s)
    short["parts"][0]["conventions"]["mmcv"] -= 1
    with pytest.raises(AssertionError):
        check_parts(short)
    moved = copy.deepcopy(s)
    moved["stages"][1]["part"] = "neck"
    with pytest.raises(AssertionError):
        check_parts(moved)
    twice = copy.deepcopy(s)
    twice["parts"][1]["stages"].insert(0, "stages.4")
    with pytest.raises(AssertionError, match="a stage lost or counted twice"):
        check_parts(twice)


@pytest.mark.parametrize("name,neck", [("cspdarknet53", NECK), ("yolo11n_cls", ("stages.3", "stages.4")),
                                       ("cspdensenet121", ("stages.3",))])
def test_a_neck_is_its_own_part_in_forward_order(name, neck):
    """A neck between backbone stages (stages.2-3 of cspdarknet53, before stages.4) or after them: the parts
    are grouped by name, in the order of their first stage."""
    plan = _necked_plan(name, neck)
    totals, stages = plan_summary(plan)
    s = {"family": get_preset(name).family, **totals, "stages": stages}
    check_parts(s)
    assert [p["name"] for p in s["parts"]] == ["backbone", "neck", "head"]
    assert s["parts"][1]["stages"] == list(neck)
    assert s["parts"][1]["macs"] == sum(plan.stage(n).macs for n in neck) > 0
    assert s["parts"][1]["params"] == sum(plan.stage(n).params for n in neck) > 0
    assert [r["part"] for r in stage_table(s)] == [sp.part_name for sp in plan.stages]
    assert plan_network(get_preset(name)).stage(neck[0]).part_name == "backbone"   # the memoized plan is intact


def test_stage_span_joins_runs_of_numbered_stages():
    assert stage_span(["stem", "stages.0", "stages.1", "stages.2", "stages.3"]) == "stem, stages.0-3"
    assert stage_span(["stages.2", "stages.4", "stages.5", "head"]) == "stages.2, stages.4-5, head"
    assert stage_span(["head"]) == "head"


@pytest.mark.parametrize("key", list(REGISTRY))
def test_part_table_in_every_convention(key):
    s = summarize(get_preset("cspresnet50"))
    rows = part_table(s, key)
    label = REGISTRY[key].label
    assert [r["part"] for r in rows] == ["backbone", "head"]
    assert rows[0]["stages"] == "stem, stages.0-3" and rows[1]["stages"] == "head"
    assert sum(r[label] for r in rows) == s["conventions"][key]["value"]
    assert sum(r[PART_SHARE_COLUMN] for r in rows) == pytest.approx(1.0, abs=2e-4)
    assert rows[0][PART_SHARE_COLUMN] > 0.99


def test_part_table_refuses_an_unknown_convention():
    from cspnet import ConfigError

    with pytest.raises(ConfigError, match="convention"):
        part_table(summarize(get_preset("resnet50")), "gflops")


def test_both_stage_views_say_each_stage_s_part():
    s = summarize(get_preset("cspresnet50"))
    rows = stage_table(s, "macs")
    assert [r["part"] for r in rows] == ["backbone"] * 5 + ["head"]
    counts, _ = stage_view(rows, "counts", "macs")
    shapes, _ = stage_view(rows, "shapes")
    assert list(counts.columns)[:4] == ["stage", "fusion", "repeats", "part"]
    assert list(shapes.columns)[:2] == ["stage", "part"]
    assert counts["part"].tolist() == shapes["part"].tolist() == [r["part"] for r in rows]


# --------------------------------------------------------------------------- imported Darknet cfgs
def _exported(name: str) -> bytes:
    return export_cfg(get_preset(name))[0].encode()


CFGS = {"tiny": TINY_CFG, "plain": PLAIN, "kinds_yolo_head": KINDS, "uneven": UNEVEN,
        "csdarknet53_like": csdarknet53_like(64)}


@pytest.mark.parametrize("name", list(CFGS) + ["export:cspdarknet53", "export:cspresnet50", "export:darknet53"])
def test_an_imported_cfg_s_parts_add_up_and_cover_its_layers(name):
    text = _exported(name.split(":")[1]) if name.startswith("export:") else CFGS[name]
    net = parse_cfg(text)
    s = summarize_net(net)
    check_parts(s)
    assert [p["name"] for p in s["parts"]] == ["backbone", "head"]
    spans = [p["layers"] for p in s["parts"] if p["layers"]]
    assert spans[0][0] == 0 and spans[-1][1] == len(net.layers) - 1
    assert all(a[1] + 1 == b[0] for a, b in zip(spans, spans[1:]))   # the parts' layers follow one another
    json.dumps(s)


# --------------------------------------------------------------------------- the CLI
def _run(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_summary_prints_a_line_per_part_before_the_stage_table(capsys):
    rc, out, err = _run(capsys, "summary", "cspresnet50", "--convention", "fvcore")
    assert rc == 0, err
    lines = out.splitlines()
    s = summarize(get_preset("cspresnet50"))
    part_lines = [i for i, line in enumerate(lines) if line.startswith("part ")]
    assert len(part_lines) == 2
    table_at = next(i for i, line in enumerate(lines) if line.split()[:2] == ["stage", "fusion"])
    assert max(part_lines) < table_at
    back, head = (lines[i] for i in part_lines)
    fv = s["parts"][0]["conventions"]["fvcore"]
    assert back.startswith("part backbone") and f"params {s['parts'][0]['params']:,}" in back
    assert f"fvcore / timm MACs {fv:,} MAC" in back and "stages: stem, stages.0-3" in back
    assert head.startswith("part head") and "stages: head" in head


def test_cli_csv_has_a_part_column_and_json_has_parts(capsys):
    rc, out, _ = _run(capsys, "summary", "cspdarknet53", "--csv")
    assert rc == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["part"] for r in rows] == ["backbone"] * 6 + ["head"]
    rc, out, _ = _run(capsys, "summary", "cspdarknet53", "--json")
    assert rc == 0
    s = json.loads(out)
    check_parts(s)
    assert set(s["parts"][0]) == {"name", "params", "macs", "conventions", "stages"}


def test_cli_summary_of_a_cfg_has_parts(capsys, tmp_path):
    path = tmp_path / "tiny.cfg"
    path.write_bytes(TINY_CFG)
    rc, out, err = _run(capsys, "summary", str(path), "--json")
    assert rc == 0, err
    s = json.loads(out)
    check_parts(s)
    assert s["parts"][0]["layers"] == [0, 19] and s["parts"][1]["layers"] == [20, 22]
    rc, out, _ = _run(capsys, "summary", str(path))
    assert rc == 0 and re.search(r"^part backbone .*stages: stem, stages\.0-1$", out, re.M)
    rc, out, _ = _run(capsys, "summary", str(path), "--csv")
    assert [r["part"] for r in csv.DictReader(io.StringIO(out))] == ["backbone"] * 3 + ["head"]


# --------------------------------------------------------------------------- the diagram
NODE = re.compile(r"^\s+(\w+) \[")


def _clusters(dot: str) -> dict:
    """cluster name -> (the clusters it is inside, the nodes defined directly in it); edges inside any cluster."""
    stack, out, edges_inside = [], {}, []
    for line in dot.splitlines()[1:-1]:
        m = re.match(r"^\s+subgraph (cluster_\w+) \{$", line)
        if m:
            stack.append(m.group(1))
            out[m.group(1)] = (tuple(stack[:-1]), [])
        elif line.strip() == "}":
            stack.pop()
        elif " -> " in line.split("[", 1)[0]:
            if stack:
                edges_inside.append(line)
        elif stack and NODE.match(line):
            out[stack[-1]][1].append(NODE.match(line).group(1))
    return out, edges_inside


def test_diagram_has_no_part_clusters_without_a_neck():
    from explorer.counts.diagram import to_dot

    assert "cluster_part_" not in to_dot(get_preset("cspdarknet53"))


@pytest.mark.parametrize("expand", [(), ("all",)])
def test_diagram_draws_parts_as_clusters_around_their_stages_with_a_neck(monkeypatch, expand):
    import explorer.counts.diagram as diagram

    cfg = get_preset("cspdarknet53")
    plain = diagram.to_dot(cfg, expand=expand)
    necked = _necked_plan("cspdarknet53")
    monkeypatch.setattr(diagram, "plan_network", lambda c: necked)
    dot = diagram.to_dot(cfg, expand=expand)
    clusters, edges_inside = _clusters(dot)
    assert [c for c in clusters if c.startswith("cluster_part_")] == [
        "cluster_part_backbone", "cluster_part_neck", "cluster_part_head"]
    assert not edges_inside                                          # every edge after the clusters
    inside = {name: parents for name, (parents, _) in clusters.items()}
    assert inside["cluster_s0"] == inside["cluster_s1"] == inside["cluster_s4"] == ("cluster_part_backbone",)
    assert inside["cluster_s2"] == inside["cluster_s3"] == ("cluster_part_neck",)   # stages.2-3
    assert "stem" in clusters["cluster_part_backbone"][1] and "head" in clusters["cluster_part_head"][1]
    # the same nodes and edges as the diagram without parts, only grouped
    def edges(text):
        return sorted(line.strip() for line in text.splitlines() if " -> " in line.split("[", 1)[0])

    assert edges(dot) == edges(plain) and len(edges(dot)) > 30
    defined = [m.group(1) for line in dot.splitlines() if (m := NODE.match(line)) and m.group(1) not in
               ("graph", "node", "edge")]
    assert len(defined) == len(set(defined))
    assert sorted(defined) == sorted(m.group(1) for line in plain.splitlines() if (m := NODE.match(line))
                                     and m.group(1) not in ("graph", "node", "edge"))


def test_a_part_cluster_diagram_renders(monkeypatch, tmp_path):
    import shutil
    import subprocess

    import explorer.counts.diagram as diagram

    if shutil.which("dot") is None:
        pytest.skip("Graphviz dot is not installed")
    monkeypatch.setattr(diagram, "plan_network", lambda c: _necked_plan("yolo11n_cls", ("stages.3", "stages.4")))
    res = subprocess.run(["dot", "-Tsvg"], input=diagram.to_dot(get_preset("yolo11n_cls")), capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 0 and not res.stderr.strip(), res.stderr
    assert "neck" in res.stdout and "backbone" in res.stdout


# --------------------------------------------------------------------------- the Design page
def test_design_page_shows_a_parts_table_and_a_part_column():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "app.py"), default_timeout=60)
    at.query_params["preset"] = "cspresnet50"
    at.run()
    assert not at.exception and not at.error
    parts = next(d.value for d in at.dataframe if "part" in d.value.columns and "stage" not in d.value.columns)
    stages = next(d.value for d in at.dataframe if "stage" in d.value.columns)
    s = summarize(get_preset("cspresnet50"))
    assert parts["part"].tolist() == ["backbone", "head"]
    assert list(parts.columns)[-3:] == [PART_SHARE_COLUMN, "params vs twin %", "MACs vs twin %"]
    assert parts[REGISTRY["macs"].label].sum() == s["macs"]
    assert stages["part"].tolist() == ["backbone"] * 5 + ["head"]
    at.radio(key="convention").set_value("mmcv").run()
    parts = next(d.value for d in at.dataframe if "part" in d.value.columns and "stage" not in d.value.columns)
    assert parts[REGISTRY["mmcv"].label].sum() == s["conventions"]["mmcv"]["value"]
