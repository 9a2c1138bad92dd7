"""The README's "Where to add" recipe for a block type is true: its plan and one ``BLOCK_TYPES`` entry (here a
toy block from tests/toy_block.py), and the block is in the design field, the plan, the real model (generated
from the plan: same parameters, same dataflow op by op, the same outputs as its hand-written module), the
diagram and the CLI; the writers either write it (the Darknet cfg, from the plan's graph) or refuse it by
name (the layer or block type they have no equivalent for)."""
from __future__ import annotations

import pytest

import toy_block
from cspnet import ConfigError, build_model, count_params, get_preset, plan_network
from cspnet.config import FIELDS
from cspnet.families._blocks import BLOCK_TYPES
from cspnet.plan import graph_problems
from explorer.cli import main
from explorer.counts.diagram import to_dot
from explorer.real.dataflow import compare


@pytest.fixture
def toy(monkeypatch):
    from oracle._blocks import ORACLE_BLOCKS

    monkeypatch.setitem(BLOCK_TYPES, "toy", toy_block.TOY)
    monkeypatch.setitem(ORACLE_BLOCKS, "toy", toy_block.ToyBlock)   # the tests' hand-written twin
    return get_preset("yolov8n_cls").replace(block_type="toy", name="toy design")


def test_a_registered_block_type_is_offered_planned_built_and_drawn(toy):
    assert "toy" in FIELDS["block_type"].allowed_choices()
    plan = plan_network(toy)
    assert any(op.path == "stages.1.block.0.body.dw.conv" and op.groups == op.in_shape[0] for op in plan.ops)
    model = build_model(toy, device="meta")
    assert count_params(model) == plan.params
    assert graph_problems(plan) == [] and compare(plan, model) == []
    # the generated model computes what the block's hand-written module computes
    import torch

    from oracle import build_oracle

    small = toy.replace(input_size=64)
    ref, gen = build_oracle(small), build_model(small)
    gen.load_state_dict(ref.state_dict(), strict=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(gen(x), ref(x))
    dot = to_dot(toy)
    assert "toy \u00d72" in dot   # its name, until its entry says words=...


def test_the_darknet_writer_writes_a_block_of_its_layers_and_ultralytics_refuses_it_by_name(toy, capsys):
    """The Darknet cfg is written from the plan's graph: a block type made of layers Darknet has (a depthwise
    conv, a pointwise conv, a residual add) writes itself, read back as the design; the Ultralytics YAML names
    the block type it has no module for."""
    from explorer.io import check
    from explorer.io.darknet import parse_cfg

    text, result = check.export(toy, "darknet")
    assert {a.reason for a in result.allowed} == {"softmax"}
    back = parse_cfg(text).plan
    assert back.params == plan_network(toy).params and back.macs == plan_network(toy).macs
    # the toy's depthwise 3x3 is a grouped [convolutional] (groups = its channels), its add a [shortcut]
    assert "size=3\nstride=1\npad=1\ngroups=16\nactivation=swish" in text and "[shortcut]" in text
    with pytest.raises(ConfigError) as exc:
        check.export(toy, "ultralytics")
    assert exc.value.field == "format" and "block_type toy" in str(exc.value)
    assert main(["summary", "yolov8n_cls", "--set", "block_type=toy", "--json"]) == 0
    capsys.readouterr()
    assert main(["export", "yolov8n_cls", "--set", "block_type=toy", "--format", "darknet"]) == 0
    assert "[shortcut]" in capsys.readouterr().out


def _plan_ceil_pool(b, path, s, out_ch, mid, stride, groups, residual=True, se_ratio=0.0):
    from cspnet.families._blocks import _residual

    t = b.conv_bn_act(f"{path}.cv", s, out_ch, 1)
    t = b.maxpool(f"{path}.pool", t, 3, 1, 1, ceil_mode=True)   # rounding up: no Darknet [maxpool] does
    return _residual(b, path, s, t, residual)


def test_the_darknet_writer_refuses_the_layer_it_has_no_equivalent_for_by_name(monkeypatch, capsys):
    from cspnet.families._blocks import BlockType
    from explorer.io import check

    monkeypatch.setitem(BLOCK_TYPES, "ceil_pool", BlockType(_plan_ceil_pool, "1x1 conv -> max pool rounding up"))
    cfg = get_preset("yolov8n_cls").replace(block_type="ceil_pool")
    with pytest.raises(ConfigError) as exc:
        check.export(cfg, "darknet")
    msg = str(exc.value)
    assert exc.value.field == "format" and "stage 0's layer stages.0.block.0.pool" in msg
    assert "ceil_mode" in msg and "has no Darknet layer" in msg
    assert main(["export", "yolov8n_cls", "--set", "block_type=ceil_pool", "--format", "darknet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "stages.0.block.0.pool" in err


def test_without_registration_the_field_names_the_allowed_block_types():
    with pytest.raises(ConfigError) as exc:
        get_preset("yolov8n_cls").replace(block_type="toy2")
    assert exc.value.field == "block_type" and "allowed: dark" in str(exc.value)
