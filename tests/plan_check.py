"""Shared checks that a family's analytic plan matches the model it builds."""
from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from cspnet import build_model, count_params, plan_network
from cspnet.plan import tap_module


def hooked_tap_shapes(model, plan, x):
    """Run ``x`` through ``model`` with hooks on every planned tap point; return name -> {tap: CHW}."""
    seen: dict = {}
    handles = []
    for sp in plan.stages:
        if sp.kind != "stage":
            continue
        stage_mod = model.get_submodule(sp.name)
        for tap in sp.taps:
            if tap in ("input", "output"):
                continue
            mod_name, idx = tap_module(tap)
            mod = stage_mod.get_submodule(mod_name)

            def hook(_m, _inp, out, key=(sp.name, tap), idx=idx):
                t = out[idx] if idx is not None else out
                seen.setdefault(key[0], {})[key[1]] = tuple(t.shape[1:])

            handles.append(mod.register_forward_hook(hook))
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    return seen, out


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
