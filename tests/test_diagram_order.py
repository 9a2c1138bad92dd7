"""The diagram draws every stage in the order the model runs it (issue 10, part 1, item 1).

For every family and every fusion, the chain of nodes along a stage's block path in the DOT text
(``explorer.counts.diagram.to_dot``) must be the order in which the real model calls the stage's
submodules (forward hooks on a model built on the ``meta`` device: shapes only, no memory), and the
shape on every edge must be the analytic plan's tap shape of what feeds it (and the real output
shape).  Fusion first is block -> concat -> transition; fusion last is block -> transition on the
block path -> concat with nothing after; full CSP is block -> partial transition -> concat ->
transition.  (Before the fix, fusion last was drawn block -> concat -> transition.)
"""
from __future__ import annotations

import re

import pytest
import torch

from cspnet import CSPConfig, build_model, get_preset, plan_network
from cspnet.families import FAMILIES, PLUGINS, get_family
from explorer.counts.diagram import to_dot

FUSIONS = ("none", "csp", "fusion_first", "fusion_last")
EDGE = re.compile(r"^  (\S+) -> (\S+)(?: \[(.*)\])?;$")
LABEL = re.compile(r'label="([^"]*)"')
# DOT node name suffix -> the stage submodule it draws (b0, b1, ...: the expanded block's units)
NODE_MODULE = {"down": "down", "expand": "expand", "split": "split", "block": "block", "ptrans": "partial_transition",
               "trans": "transition", "concat": "concat", "spp": "spp", "post": "post"}
# what follows the block along its path, by fusion, in both layouts (dense: DenseNet/PeleeNet, whose
# fusion-last transition is named ``transition``; cross-stage: ResNet/ResNeXt/Darknet, ``partial_transition``)
AFTER_BLOCK = {
    "csp": [("partial_transition", "concat", "transition"), ("partial_transition", "concat", "post", "transition")],
    "fusion_first": [("concat", "transition"), ("concat", "post", "transition")],
    "fusion_last": [("transition", "concat"), ("partial_transition", "concat"),
                    ("partial_transition", "concat", "post")],
    "none": [(), ("transition",)],
}
# a dense family's last stage has no transition unless ``last_transition`` (torchvision's layout)
LAST_DENSE = {"csp": [("partial_transition", "concat")], "fusion_first": [("concat",)]}


def _shape(s) -> str:
    return "\u00d7".join(str(d) for d in s)


def _cases():
    for fam in FAMILIES:
        for fusion in FUSIONS:
            if fam == "yolo_yaml":
                break     # an opened detection YAML's stages are its layers: no split, block, transition to order
            if fam in PLUGINS and fusion != get_family(fam).defaults["fusion"]:
                continue  # an imported network's fusion is its file's (explorer.io.family)
            yield pytest.param(fam, fusion, None, id=f"{fam}-{fusion}")
    for fam in ("densenet", "peleenet"):  # split ratio 1.0: part 1 is empty (no bypass to draw)
        for fusion in ("csp", "fusion_first", "fusion_last"):
            yield pytest.param(fam, fusion, 1.0, id=f"{fam}-{fusion}-split1")


def _config(fam: str, fusion: str, split_ratio) -> CSPConfig:
    data = dict(get_family(fam).defaults, fusion=fusion)
    if split_ratio is not None:
        data["split_ratio"] = split_ratio
    return CSPConfig(family=fam, **data)


def model_order(cfg: CSPConfig) -> list:
    """Per stage: [(submodule name, output shape on the block path)] in the order forward calls them."""
    model = build_model(cfg, device="meta")
    calls: list = []
    hooks = []
    for i, stage in enumerate(model.stages):
        calls.append([])
        for name, child in stage.named_children():
            if child is None:
                continue

            def hook(mod, inp, out, i=i, name=name):
                y = out[1] if isinstance(out, tuple) else out  # the split: part 2 goes on through the block
                calls[i].append((name, tuple(y.shape[1:])))
            hooks.append(child.register_forward_hook(hook))
    with torch.no_grad():
        model(torch.empty(1, 3, cfg.input_size, cfg.input_size, device="meta"))
    for h in hooks:
        h.remove()
    return calls


def diagram_chains(dot: str, n_stages: int) -> list:
    """Per stage: the nodes along the block path (part 1's dashed edge left out) as
    [(submodule name, label of the edge into it)], then ("<out>", label of the edge leaving the stage)."""
    edges = []
    for line in dot.splitlines():
        m = EDGE.match(line)
        if m:
            a, b, attrs = m.group(1), m.group(2), m.group(3) or ""
            lab = LABEL.search(attrs)
            edges.append((a, b, lab.group(1) if lab else None, "style=dashed" in attrs))
    chains = []
    for i in range(n_stages):
        pre = f"s{i}_"
        inside = lambda n: n.startswith(pre)  # noqa: E731
        entry = [e for e in edges if inside(e[1]) and not inside(e[0])]
        assert len(entry) == 1, (i, entry)
        chain, (a, cur, lab, _) = [], entry[0]
        while inside(cur):
            suffix = cur[len(pre):]
            module = "block" if re.fullmatch(r"b\d+", suffix) else NODE_MODULE[suffix]
            if not chain or chain[-1][0] != module or module != "block":
                chain.append((module, lab))
            out = [e for e in edges if e[0] == cur and not e[3]]
            assert len(out) == 1, (cur, out)  # one solid edge leaves every node: a path, no fork
            _, cur, lab, _ = out[0]
        chain.append(("<out>", lab))
        chains.append(chain)
    return chains


@pytest.mark.parametrize("fam,fusion,split_ratio", list(_cases()))
def test_diagram_follows_the_models_module_order_with_the_plans_shapes(fam, fusion, split_ratio):
    cfg = _config(fam, fusion, split_ratio)
    plan = plan_network(cfg)
    stages = [sp for sp in plan.stages if sp.kind == "stage"]
    calls = model_order(cfg)
    for expand in ((), ("all",)):
        chains = diagram_chains(to_dot(cfg, expand=expand), len(stages))
        prev_out = plan.stages[0].output_shape  # the stem's
        for sp, called, chain in zip(stages, calls, chains):
            on_path = [(n, s) for n, s in called if n != "part1_pool"]  # part 1's own pool is off the block path
            names = [n for n, _ in on_path]
            # the diagram's nodes are the model's modules, in the model's order, nothing after the last
            assert [n for n, _ in chain[:-1]] == names, (sp.name, expand, chain, names)
            after = tuple(names[names.index("block") + 1:])
            allowed = list(AFTER_BLOCK[fusion])
            if sp is stages[-1] and fam in ("densenet", "peleenet") and not cfg.last_transition:
                allowed += LAST_DENSE.get(fusion, [])
            assert after in allowed, (sp.name, after)
            # the edge into each node carries what feeds it: the plan's tap shape (= the real shape)
            feeds = [prev_out] + [s for _, s in on_path]
            for k, (module, label) in enumerate(chain):
                if module == "block" and expand:
                    continue  # expanded: the edge into the first unit; checked by the stage-level pass
                assert label == _shape(feeds[k]), (sp.name, expand, module, label, feeds[k])
            taps = {("split" if t == "part2" else t): s for t, s in sp.taps.items() if t not in ("part1", "input")}
            for n, s in on_path:
                assert taps[n] == s, (sp.name, n, taps[n], s)  # plan taps = the real modules' outputs
            assert chain[-1] == ("<out>", _shape(sp.output_shape))
            prev_out = sp.output_shape


def test_fusion_last_is_drawn_transition_then_concat():
    """The reported case: CSPDenseNet-121 fusion last, stage 1: 224 -> 112 channels on the block
    path (with the 2x2 pool), concat 32 + 112 = 144, nothing after the concat."""
    dot = to_dot(get_preset("cspdensenet121_fusion_last"))
    assert "s0_concat -> s0_trans" not in dot
    assert 's0_block -> s0_trans [label="224\u00d756\u00d756"' in dot
    assert 's0_trans -> s0_concat [label="112\u00d728\u00d728"' in dot
    assert 's0_concat -> s1_split [label="144\u00d728\u00d728"]' in dot
    pelee = to_dot(get_preset("csppeleenet_fusion_last"))
    assert "s0_concat -> s0_trans" not in pelee and "s0_trans -> s0_concat" in pelee
    dark = to_dot(get_preset("cspdarknet53").replace(fusion="fusion_last"))
    assert "s1_ptrans -> s1_concat" in dark and "s1_concat -> s1_trans" not in dark and "s1_trans" not in dark


def test_split_ratio_one_draws_no_bypass_and_says_why():
    dot = to_dot(get_preset("cspdensenet121").replace(split_ratio=1.0))
    assert "part 1 empty" in dot and "part 1:" not in dot


def test_plain_words_captions():
    cfg = get_preset("cspdensenet121_fusion_last")
    assert "stage 1 (stages.0) \u2014 fusion_last" in to_dot(cfg)
    plain = to_dot(cfg, plain_words=True)
    assert "stage 1 \u2014 fusion last" in plain and "stages.0" not in plain and "fusion_last" not in plain.split(
        "subgraph", 1)[1]


def test_what_follows_the_concat_is_named_for_designs_and_imported_cfgs():
    """Channel attention after the concat (a mul among the ops after the stage's last concat) or BN + act,
    for a design and for the same network exported to a Darknet cfg and opened again."""
    from explorer.io.darknet_export import cfg_from_config
    from explorer.io.family import design_from_cfg

    for name, words, other in (("cspnext_tiny", "channel attention", "BN + activation"),
                               ("yolov4_csp_backbone", "BN + activation", "channel attention")):
        design = get_preset(name)
        for cfg in (design, design_from_cfg(cfg_from_config(design), name=name)):
            dot = to_dot(cfg)
            assert words in dot and other not in dot, (name, cfg.family)
