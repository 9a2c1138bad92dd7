"""Training cost (explorer/counts/training.py): one step's FLOPs (forward + backward) and the activations it
keeps for the backward pass, by hand, against PyTorch (autograd's saved tensors, FlopCounterMode) on the
CPU, and in the summary (JSON, stage table)."""
from __future__ import annotations

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from cspnet import CSPConfig, build_model, get_preset, plan_network
from cspnet.plan import Op
from explorer.cli import main
from explorer.counts.analysis import TRAIN_FLOPS_COLUMN, TRAIN_SAVED_COLUMN, stage_table, summarize
from explorer.counts.training import training_cost, training_text

SIZE = 64   # small inputs: the models run on the CPU in well under a second each


class _Plan:
    """A two-conv plan by hand: conv a (reads the image) -> relu -> conv b."""

    def __init__(self):
        a = Op("conv", "a", (3, 8, 8), (4, 8, 8), params=4 * 3 * 9, macs=4 * 3 * 9 * 64, kernel=3,
               reads=(("input", 0, 3),))
        r = Op("act", "r", (4, 8, 8), (4, 8, 8), reads=(("a", 0, 4),))
        b = Op("conv", "b", (4, 8, 8), (2, 8, 8), params=2 * 4, macs=2 * 4 * 64, kernel=1, reads=(("r", 0, 4),))
        self.ops = [a, r, b]
        self.input_shape = (3, 8, 8)
        self.stages = [type("S", (), {"name": "stem", "ops": self.ops})()]


def test_by_hand_backward_is_twice_the_forward_except_the_image_s_gradient():
    t = training_cost(_Plan(), "relu")["total"]
    fa, fb = 2 * 4 * 3 * 9 * 64, 2 * 2 * 4 * 64
    assert t["forward_flops"] == fa + fb
    assert t["backward_flops"] == fa + 2 * fb          # conv a: weight gradient only
    assert t["step_flops"] == 3 * (fa + fb) - fa
    # saved: the image (conv a's input) and the ReLU's output (conv b's input), each once
    assert t["saved_elements"] == 3 * 64 + 4 * 64
    leaky = training_cost(_Plan(), "leaky_relu")["total"]  # a leaky ReLU saves its input (conv a's output)
    assert leaky["saved_elements"] == 3 * 64 + 4 * 64 + 4 * 64


def _autograd_saved(cfg) -> tuple:
    """(float elements, int64 bytes) of the tensors autograd saves in one training forward (batch 1),
    parameters and buffers left out, each storage once."""
    model = build_model(cfg).train()
    skip = {p.untyped_storage().data_ptr() for p in list(model.parameters()) + list(model.buffers())}
    seen = {}

    def pack(t):
        s = t.untyped_storage()
        if s.data_ptr() not in skip:
            seen[s.data_ptr()] = (s.nbytes(), t.dtype)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(torch.randn(1, 3, cfg.input_size, cfg.input_size))
    return (sum(n // 4 for n, dt in seen.values() if dt == torch.float32),
            sum(n for n, dt in seen.values() if dt == torch.int64))


@pytest.mark.parametrize("name", ["resnet50", "cspresnet50", "densenet121", "cs3sedarknet_l", "yolo11n_cls"])
def test_kept_for_backward_is_what_autograd_saves(name):
    """ReLU, leaky ReLU, SiLU; max-pool indices; DenseNet's concats; an SE gate; attention."""
    cfg = get_preset(name, input_size=SIZE)
    t = training_cost(plan_network(cfg), cfg.activation)["total"]
    assert (t["saved_elements"], t["index_bytes"]) == _autograd_saved(cfg)


@pytest.mark.parametrize("name", ["resnet50", "cspresnet50", "densenet121"])
def test_step_flops_are_flop_counter_mode_s_forward_and_backward(name):
    """Dense convs: exactly torch's FlopCounterMode over forward + backward.  (For grouped and depthwise
    convs FlopCounterMode counts the weight gradient as if the conv were dense, e.g. 64 x for a 64-channel
    depthwise conv; the backward here is 2 x the forward, as for every conv.)"""
    cfg = get_preset(name, input_size=SIZE)
    model = build_model(cfg).train()
    with FlopCounterMode(display=False) as fc:
        model(torch.randn(2, 3, SIZE, SIZE)).sum().backward()
    assert fc.get_total_flops() == 2 * training_cost(plan_network(cfg), cfg.activation)["total"]["step_flops"]


def test_grouped_convs_count_twice_their_forward_backward():
    cfg = get_preset("resnext50_32x4d", input_size=SIZE)
    plan = plan_network(cfg)
    t = training_cost(plan, cfg.activation)["total"]
    first = next(op for op in plan.ops if op.kind == "conv")
    assert t["backward_flops"] == 2 * t["forward_flops"] - 2 * first.macs


def test_summary_json_and_stage_table_carry_the_training_figures(capsys):
    assert main(["summary", "cspresnet50", "--batch", "8", "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    t = s["training"]
    assert t["batch"] == 8 and t["step_flops_batch"] == 8 * t["step_flops"]
    assert t["step_flops"] == t["forward_flops"] + t["backward_flops"] and t["forward_flops"] == s["flops"]
    assert t["saved_bytes"]["fp32"] == 8 * (4 * t["saved_elements"] + t["index_bytes"])
    assert {"step_flops", "saved"} == set(t["conventions"])
    for k in ("step_flops", "saved_elements", "index_bytes"):
        assert sum(st["training"][k] for st in s["stages"]) == t[k]
    rows = stage_table(summarize(get_preset("cspresnet50")))
    assert sum(r[TRAIN_FLOPS_COLUMN] for r in rows) == t["step_flops"]
    assert sum(r[TRAIN_SAVED_COLUMN] for r in rows) == t["saved_elements"]
    text = training_text(summarize(get_preset("cspresnet50"), 64))
    assert "one step at batch 64" in text and "backward" in text and "MiB" in text


def test_a_csp_split_keeps_its_whole_source():
    """Part 2 is a channel slice of the expansion's output: saving it keeps the whole tensor, once."""
    cfg = CSPConfig(family="densenet", name="t", repeats=(2,), growth_rate=8, stem_channels=16, input_size=32,
                    fusion="csp", num_classes=10)
    t = training_cost(plan_network(cfg), cfg.activation)["total"]
    assert t["saved_elements"] == _autograd_saved(cfg)[0]
