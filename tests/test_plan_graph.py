"""The plan is a graph: every layer says which layers it reads, and the real model's dataflow agrees.

``cspnet.plan.graph_problems`` checks the graph on its own (every read names an earlier op or the input,
within its channels; no layer is left unread); ``explorer.real.dataflow.compare`` runs the built model on
the meta device, records what every op really reads, and compares it with the plan op by op.
"""
from __future__ import annotations

import pytest
from hypothesis import given

from cspnet import ConfigError, CSPConfig, build_model, get_preset, plan_network, preset_names
from cspnet.plan import INPUT, NetPlan, PlanBuilder, Tensor, clear_plan_memo, graph_problems
from explorer.real.dataflow import compare
from oracle import build_oracle
from test_config_properties import FAST, small_designs


def _agree(cfg, oracle: bool = True):
    """The plan's graph is sound, and what the generated model and the hand-written twin (tests/oracle, for a
    design family) really compute, op by op."""
    plan = plan_network(cfg)
    assert graph_problems(plan) == [], cfg.name
    assert compare(plan, build_model(cfg, device="meta")) == [], cfg.name
    if oracle:
        assert compare(plan, build_oracle(cfg, device="meta")) == [], cfg.name
    return plan


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_plans_the_dataflow_its_model_runs(name):
    cfg = get_preset(name)
    # a detector's neck and head have no hand-written twin: benchmarks/reference_outputs.py checks the generated
    # detectors against Ultralytics' own modules, output for output
    _agree(cfg, oracle=not cfg.is_detector and cfg.family not in ("yolo_yaml", "darknet_cfg"))   # (opened files)


@FAST
@given(small_designs())
def test_random_designs_plan_the_dataflow_their_models_run(kw):
    try:
        cfg = CSPConfig(**kw)
    except ConfigError:
        return
    _agree(cfg)


@pytest.mark.parametrize("name", ["cspresnet50", "cspdensenet121_fusion_last", "csppeleenet", "cs3sedarknet_l",
                                  "cspnext_s", "yolov4_csp_backbone", "yolov7_backbone"])
def test_imported_darknet_cfgs_plan_the_dataflow_their_models_run(name):
    import explorer.io  # noqa: F401  (registers the darknet_cfg family)
    from explorer.io.darknet_export import cfg_from_config

    preset = get_preset(name)
    cfg = CSPConfig(family="darknet_cfg", network=cfg_from_config(preset), input_size=64, fusion=preset.fusion)
    plan = _agree(cfg, oracle=False)
    # routes read earlier layers by reference, as the cfg's own layer indices say
    assert any(len(op.reads) > 1 and op.kind == "cat" for op in plan.ops)


def test_a_split_is_two_channel_slices_of_one_tensor():
    plan = plan_network(get_preset("cspresnet50"))
    st = plan.stage("stages.1")
    c = st.taps["expand"][0]
    p1, p2 = st.taps["part1"], st.taps["part2"]
    src = "stages.1.expand.bn"   # (timm's CSPResNet: a linear expansion, no activation)
    assert (p1.src, p1.lo, p2.src, p2.lo) == (src, 0, src, p1[0]) and st.taps["expand"].src == src
    assert p1[0] + p2[0] == c
    first = next(op for op in st.ops if op.path == "stages.1.block.0.conv1.conv")
    assert first.reads == ((src, p1[0], c),)
    concat = next(op for op in st.ops if op.path == "stages.1.concat")
    assert concat.reads[0] == (src, 0, p1[0])
    # the network input is read by the stem, and a stage reads the stage before it
    assert plan.stages[0].ops[0].reads == ((INPUT, 0, 3),)
    assert st.taps["input"].src == plan.stage("stages.0").ops[-1].path


def test_residuals_and_gates_read_both_their_inputs():
    plan = plan_network(get_preset("cs3sedarknet_l"))
    ops = {op.path: op for op in plan.ops}
    add = ops["stages.1.block.0"]
    assert add.kind == "add" and {r[0] for r in add.reads} == {"stages.1.block.0.conv2.act",
                                                               plan.stage("stages.1").taps["part2"].src}
    scale = ops["stages.1.block.0.attn.scale"]
    assert scale.kind == "mul" and [r[0] for r in scale.reads] == ["stages.1.block.0.conv1.act",
                                                                   "stages.1.block.0.attn.gate"]


def test_every_op_belongs_to_a_group_of_part_stage_component():
    plan = plan_network(get_preset("cspdarknet53"))
    for sp in plan.stages:
        for op in sp.ops:
            assert op.group[:2] == (sp.part_name, sp.name)
            assert op.group[0] == ("head" if sp.kind == "head" else "backbone")
    comps = [op.group[2] for op in plan.stage("stages.2").ops]
    assert list(dict.fromkeys(comps)) == ["down", "expand", "block", "partial_transition", "concat", "transition"]
    # every CSP tap but the split's parts (slices, not layers) is the output of its component's last layer
    sp = plan.stage("stages.2")
    for tap in ("down", "expand", "block", "partial_transition", "concat", "transition"):
        last = [op for op in sp.ops if op.group[2] == tap][-1]
        assert sp.taps[tap].src == last.path and tuple(sp.taps[tap]) == tuple(last.out_shape)


def _plan_of(record) -> NetPlan:
    b = PlanBuilder("stages.0", "stage")
    x = b.tap("input", (8, 4, 4))
    record(b, x)
    return NetPlan(input_shape=(8, 4, 4), stages=[b.stage])


def test_graph_problems_finds_a_forgotten_edge_a_bad_slice_and_a_foreign_read():
    def dangling(b, x):   # a gate computed and never applied
        t = b.act("gate", b.mean("pool", x))
        b.conv("conv", x, 8, 1)
        return t

    assert any("stages.0.gate (act) is read by no later op" in p
               for p in graph_problems(_plan_of(lambda b, x: (dangling(b, x), b.act("out", x)))))

    def bad_slice(b, x):
        b.conv("conv", Tensor((4, 4, 4), INPUT, 6), 8, 1)

    assert graph_problems(_plan_of(bad_slice)) == ["stages.0.conv reads channels 6..10 of input, which has 8"]

    def foreign(b, x):
        b.conv("conv", Tensor((8, 4, 4), "stages.9.nowhere"), 8, 1)

    assert graph_problems(_plan_of(foreign)) == ["stages.0.conv reads 'stages.9.nowhere', which is no earlier op "
                                                 "nor the input"]


@pytest.fixture
def forgetful(monkeypatch):
    """A dark block's plan twin that forgets its shortcut read (the module still adds it); plans made while it
    is in force are forgotten before and after (a config plans itself when it is made: the memo)."""
    from cspnet.families import _blocks

    monkeypatch.setattr(_blocks, "_residual", lambda b, path, x, s, residual: (
        b.add(path, s) if residual and x[0] == s[0] and x[1:] == s[1:] else s))
    clear_plan_memo()
    yield monkeypatch
    monkeypatch.undo()
    clear_plan_memo()


def test_compare_catches_a_plan_that_forgets_a_shortcut(forgetful):
    """Drift between the plan and the modules is caught: a dark block planned without its shortcut read."""
    cfg = get_preset("cs3darknet_s").replace(input_size=64, name="forgets a shortcut")
    problems = compare(plan_network(cfg, memo=False), build_oracle(cfg, device="meta"))
    assert problems and "stages.0.block.0 (add): the plan reads" in problems[0]
    forgetful.undo()
    assert compare(plan_network(cfg, memo=False), build_oracle(cfg, device="meta")) == []


def _traced_agreement(cfg):
    from explorer.counts.analysis import summarize
    from explorer.real.agreement import trace_agreement
    from explorer.real.trace import live_trace

    return trace_agreement(summarize(cfg), live_trace(cfg, with_fvcore=False))


def test_the_live_trace_checks_the_dataflow():
    agr = _traced_agreement(get_preset("cs3darknet_s").replace(input_size=64, name="traced"))
    row = next(r for r in agr["rows"] if r["quantity"].startswith("dataflow"))
    assert agr["agree"] and row["agree"] and row["analytic"] == row["live trace"] > 0


def test_the_live_trace_says_where_the_dataflow_differs(forgetful):
    """A model that does not run its plan (here the hand-written twin against a plan that forgot a shortcut):
    the trace's dataflow row disagrees and names the layer."""
    import explorer.real.trace as trace

    forgetful.setattr(trace, "build_model", build_oracle)
    agr = _traced_agreement(get_preset("cs3darknet_s").replace(input_size=64, name="drifted"))
    assert not agr["agree"] and any(m.startswith("dataflow: stages.0.block.0 (add)") for m in agr["shape_mismatches"])
