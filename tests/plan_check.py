"""Shared checks that a family's analytic plan matches the model it builds."""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from cspnet import build_model, count_params, plan_network
from explorer.real.trace import hooked_shapes


def perturb_batchnorm(model) -> None:
    """Every BatchNorm's statistics and affine terms away from their defaults (seeded by the caller): with the
    defaults a network's logits barely depend on its input, and a wrong wire or a wrong fold would not show."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)


def hooked_tap_shapes(model, plan, x):
    """Run ``x`` through ``model`` with hooks on every planned tap point; return (name -> {tap: CHW}, out)."""
    return hooked_shapes(model, plan, x, return_output=True)


def assert_plan_matches_model(cfg, check_macs: bool = True):
    """Params, tap shapes, output shape and conv+linear MACs agree between plan and model."""
    plan = plan_network(cfg)
    model = build_model(cfg, device="meta")
    assert count_params(model) == plan.params, (cfg.name, count_params(model), plan.params)
    x = torch.empty(1, 3, cfg.input_size, cfg.input_size, device="meta")
    if check_macs:
        with FlopCounterMode(display=False) as fc:
            seen, out = hooked_tap_shapes(model, plan, x)
        assert fc.get_total_flops() == 2 * plan.macs, (cfg.name, fc.get_total_flops() // 2, plan.macs)
    else:
        seen, out = hooked_tap_shapes(model, plan, x)
    assert tuple(out.shape) == (1, cfg.num_classes)
    for sp in plan.stages:
        if sp.kind != "stage":
            continue
        for tap, shape in sp.taps.items():
            if tap in ("input", "output"):
                continue
            assert seen[sp.name][tap] == tuple(shape), (cfg.name, sp.name, tap, seen[sp.name][tap], shape)
    return plan, model
