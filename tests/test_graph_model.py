"""Modules generated from the plan's graph (cspnet.graph_model: ``build_model``'s parts, and the flat
GraphModel) compute what the hand-written modules (tests/oracle) compute: the same parameter names and shapes
(the hand-written model's weights load strictly), the same outputs, and the same tensors at every tap point."""
from __future__ import annotations

import pytest
import torch
from hypothesis import given

from cspnet import ConfigError, CSPConfig, build_model, count_params, get_preset, plan_network
from cspnet.graph_model import GraphModel, build_graph_model
from oracle import build_oracle
from plan_check import hooked_tap_shapes, perturb_batchnorm
from test_config_properties import FAST, small_designs

# one preset per family and per feature the graph model runs: dense blocks (every fusion), PeleeNet's stem,
# ResNet's projection shortcut, grouped convs, Darknet, SE gates, channel attention, SPP, YOLOv7's max-pool
# down-sampling, ELAN's taps, C2f, YOLO11's attention, BottleneckCSP's bare convs, the Focus-style stem
PRESETS = ["densenet121", "cspdensenet121_fusion_last", "cspdensenet121_fusion_first", "csppeleenet",
           "peleenet", "resnet50", "cspresnext50", "cspdarknet53", "cs3sedarknet_l", "cspnext_tiny",
           "yolov7_backbone", "yolov8n_cls", "yolo11n_cls", "yolov4_csp_backbone", "cs3darknet_focus_s"]


def _same_outputs(cfg, size: int = 64, batch: int = 2) -> None:
    torch.manual_seed(0)
    ref = build_oracle(cfg)
    perturb_batchnorm(ref)   # (a wrong wire or fold shows only away from BatchNorm's defaults)
    x = torch.randn(batch, 3, size, size)
    with torch.no_grad():
        want = ref(x)
    plan = plan_network(cfg)
    seen_ref, _ = hooked_tap_shapes(ref, plan, x)
    for generated in (build_model(cfg), build_graph_model(cfg).eval()):
        generated.load_state_dict(ref.state_dict(), strict=True)   # the same names and shapes, no more, no less
        assert count_params(generated) == plan.params
        with torch.no_grad():
            got = generated(x)
        assert got.shape == want.shape == (batch, cfg.num_classes)
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    seen, _ = hooked_tap_shapes(build_model(cfg), plan, x)     # the generated stages call their taps
    assert seen == seen_ref


@pytest.mark.parametrize("name", PRESETS)
def test_the_graph_model_computes_what_the_hand_written_model_computes(name):
    _same_outputs(get_preset(name, input_size=64))


@FAST
@given(small_designs())
def test_random_designs_graph_model_matches(kw):
    try:
        cfg = CSPConfig(**kw)
    except ConfigError:
        return
    _same_outputs(cfg, size=cfg.input_size, batch=1)


def test_a_wrong_wire_in_the_graph_changes_the_output(monkeypatch):
    """The comparison can fail: a plan whose part 1 reads the wrong channels (the split's halves swapped)
    builds a graph model with the same weights whose outputs differ."""
    cfg = get_preset("cs3darknet_s", input_size=64)
    plan = plan_network(cfg)
    ops = list(plan.ops)
    concat = next(op for op in ops if op.path == "stages.1.concat")
    src, lo, hi = concat.reads[0]
    monkeypatch.setattr(concat, "reads", ((src, hi, 2 * hi - lo),) + concat.reads[1:])   # part 2's channels
    graph = GraphModel(plan, act=cfg.activation).eval()
    torch.manual_seed(0)
    ref = build_oracle(cfg)
    perturb_batchnorm(ref)   # (a wrong wire or fold shows only away from BatchNorm's defaults)
    graph.load_state_dict(ref.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert not torch.allclose(graph(x), ref(x))


def test_an_unknown_activation_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown activation 'gelu2'; allowed: relu"):
        GraphModel(plan_network(get_preset("resnet50", input_size=64)), act="gelu2")
