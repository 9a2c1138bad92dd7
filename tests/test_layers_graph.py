"""The graph as a table (explorer.counts.graph, ``python -m explorer layers``) and its readers: the roofline's
bytes and the diagram's edges come from the layers' reads."""
from __future__ import annotations

import csv
import io
import json

import pytest

from cspnet import get_preset, plan_network
from explorer.cli import main
from explorer.counts.conventions import REGISTRY, count
from explorer.counts.diagram import to_dot
from explorer.counts.graph import edges, layer_rows


def run_cli(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("name", ["densenet121", "cspresnet50", "yolo11n_cls", "cspnext_s"])
def test_every_conventions_layer_column_adds_up_to_its_total(name):
    plan = plan_network(get_preset(name))
    rows = layer_rows(plan)
    assert len(rows) == len(list(plan.ops)) and [r["index"] for r in rows] == list(range(len(rows)))
    assert sum(r["params"] for r in rows) == plan.params
    for key in REGISTRY:
        assert sum(r[key] for r in rows) == count(plan, key), key


def test_from_names_layers_by_index_and_split_parts_by_channels():
    plan = plan_network(get_preset("cspresnet50"))
    rows = {r["path"]: r for r in layer_rows(plan, ["macs"])}
    expand = rows["stages.1.expand.bn"]["index"]
    c = rows["stages.1.expand.bn"]["out_shape"][0]
    assert rows["stages.1.block.0.conv1.conv"]["from"] == [f"{expand}[{c // 2}:{c}]"]     # part 2
    assert rows["stages.1.concat"]["from"][0] == f"{expand}[0:{c // 2}]"                   # part 1
    add = rows["stages.1.block.0"]
    assert add["kind"] == "add" and len(add["from"]) == 2                                   # + the shortcut
    assert rows["stem.conv"]["from"] == ["input"]
    assert (add["part"], add["stage"], add["component"]) == ("backbone", "stages.1", "block")
    graph = edges(plan)
    assert sum(len(r["from"]) for r in layer_rows(plan, [])) == len(graph)
    to = rows["stages.1.block.0.conv1.conv"]["index"]
    h = rows["stages.1.expand.bn"]["out_shape"][1]
    assert [e for e in graph if e["to"] == to] == [{"from": expand, "to": to, "channels": [c // 2, c],
                                                    "shape": [c // 2, h, h]}]


def test_layers_cli_table_csv_json_and_bad_input(capsys, tmp_path):
    rc, out, _ = run_cli(capsys, "layers", "cspdarknet53", "--stage", "stages.1", "--convention", "fvcore")
    assert rc == 0 and "stages.1.down.conv" in out and "fvcore (MAC)" in out and "stages.2." not in out
    rc, out, _ = run_cli(capsys, "layers", "cspdarknet53", "--csv", "--convention", "macs")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert sum(int(r["macs"]) for r in rows) == count(plan_network(get_preset("cspdarknet53")), "macs")
    rc, out, _ = run_cli(capsys, "layers", "yolo11n_cls", "--json")
    data = json.loads(out)
    assert set(data["conventions"]) == set(REGISTRY) and len(data["edges"]) > len(data["layers"])
    rc, _, err = run_cli(capsys, "layers", "cspdarknet53", "--stage", "stages.9")
    assert rc == 2 and err.count("\n") == 1 and "allowed: stem, stages.0" in err
    rc, _, err = run_cli(capsys, "layers", str(tmp_path / "missing.cfg"))
    assert rc == 2 and err.strip().endswith("missing.cfg: no such file")
    rc, _, err = run_cli(capsys, "summary", str(tmp_path))
    assert rc == 2 and "is a directory" in err and "internal error" not in err
    # an opened Darknet cfg: its layers by the cfg's routes
    rc, out, _ = run_cli(capsys, "export", "cspresnet50", "--format", "darknet")
    path = tmp_path / "net.cfg"
    path.write_text(out)
    rc, out, _ = run_cli(capsys, "layers", str(path), "--json", "--input-size", "64")
    data = json.loads(out)
    assert rc == 0 and data["input_shape"] == [3, 64, 64]
    assert any(len(r["from"]) == 2 and r["kind"] == "cat" for r in data["layers"])


def test_the_roofline_reads_a_shortcut_from_the_graph():
    """A Darknet shortcut from a wider layer reads only the channels it adds (Darknet's min(c, from)): the
    roofline's bytes follow the graph's edge, not the output's size."""
    from cspnet import build_model
    from explorer.io.family import design_from_cfg
    from explorer.real.dataflow import compare
    from explorer.real.roofline import op_traffic

    conv = "[convolutional]\nbatch_normalize=1\nfilters={f}\nsize={k}\nstride={s}\npad=1\nactivation=leaky\n\n"
    text = ("[net]\nwidth=32\nheight=32\nchannels=3\n\n" + conv.format(f=16, k=3, s=4) + conv.format(f=8, k=1, s=1)
            + "[shortcut]\nfrom=-2\nactivation=linear\n\n")
    cfg = design_from_cfg(text, name="wide shortcut")
    plan = plan_network(cfg)
    add = next(op for op in plan.ops if op.kind == "add")
    assert add.reads[1][1:] == (0, 8) and plan.read_elements(add.reads[1]) == 8 * 8 * 8
    assert compare(plan, build_model(cfg, device="meta")) == []     # the module slices the same channels
    assert op_traffic(add, 2, 4, plan)["read"] == 2 * 8 * 8 * 8 * 4


def test_the_diagrams_edges_are_the_graphs_reads():
    """Every edge of a stage cluster joins the components of a layer and of a layer it reads (or the split)."""
    cfg = get_preset("cspdarknet53")
    dot = to_dot(cfg)
    assert "s1_down -> s1_expand" in dot and "s1_expand -> s1_split" in dot and "s1_split -> s1_block" in dot
    assert "s1_block -> s1_ptrans" in dot and "s1_ptrans -> s1_concat" in dot and "s1_concat -> s1_trans" in dot
    assert 's1_split -> s1_concat [label="part 1: 64\u00d764\u00d764"' in dot
