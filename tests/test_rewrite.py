"""Rewriting an imported cfg's CSP stages to another fusion (explorer.io.rewrite), and the darknet_cfg family
that carries an imported network as a design (explorer.io.family): CSPDarknet53's stages switch between
csp, fusion_first and fusion_last and back, the text is re-parsed, indices are renumbered, the model still
builds with the plan's parameters and shapes; split ratios change, of two-conv splits and of exported sliced
splits (new [route] groups slices); a stage with CSPNeXt's channel attention keeps it on the concat; every CSP
stage rewritten as a plain stage is the design's plain twin (fusion none), the design families' own twin."""
from __future__ import annotations

import pytest

import explorer.io  # noqa: F401 - registers darknet_cfg
from cspnet import ConfigError, CSPConfig, plan_network
from explorer.io.darknet import parse_cfg
from explorer.io.family import EXAMPLE_CFG, design_from_cfg, net_of, with_stage_fusion
from explorer.io.rewrite import csp_stages, network_fusion, plain_twin, rewrite_fusion, rewrite_plain
from test_darknet_cfg import csdarknet53_like

FUSIONS = ("csp", "fusion_first", "fusion_last")


def fusions(text) -> list:
    return [s.fusion for s in parse_cfg(text).stages if s.kind == "stage"]


@pytest.mark.parametrize("to", FUSIONS)
@pytest.mark.parametrize("stage", ["stages.0", "stages.2", "stages.4"])
def test_a_csdarknet53_stage_switches_fusion_and_back(stage, to):
    text = csdarknet53_like(256)
    before = parse_cfg(text)
    out = rewrite_fusion(text, stage, to)
    after = parse_cfg(out)
    k = int(stage.split(".")[1])
    assert fusions(out) == ["csp"] * k + [to] + ["csp"] * (4 - k)
    info_a = next(s for s in after.stages if s.name == stage)
    # the stages before are untouched; this one lost / kept its transitions as the paper's Fig. 3 says
    assert [s.taps for s in after.plan.stages[:k + 1]] == [s.taps for s in before.plan.stages[:k + 1]]
    assert bool(info_a.roles["partial_transition"]) == (to in ("csp", "fusion_last"))
    assert bool(info_a.roles["transition"]) == (to in ("csp", "fusion_first"))
    if to == "fusion_first":   # the concat takes the block's output; the transition keeps the stage width
        assert after.plan.stage(stage).output_shape == before.plan.stage(stage).output_shape
        assert after.params < before.params
    if to == "fusion_last":    # nothing after the concat: the stage's output is the concat
        assert after.plan.stage(stage).output_shape == after.plan.stage(stage).taps["concat"]
    back = rewrite_fusion(out, stage, "csp")
    again = parse_cfg(back)
    assert fusions(back) == ["csp"] * 5
    if to == "fusion_first":   # the partial transition comes back width-keeping: csdarknet53's own
        assert again.params == before.params
        assert [s.taps for s in again.plan.stages] == [s.taps for s in before.plan.stages]
    assert len(again.layers) == len(before.layers)


def test_every_stage_cycles_csp_first_last_csp_with_the_transition_width_kept():
    text = csdarknet53_like(256)
    before = parse_cfg(text)
    for k in range(5):
        text = rewrite_fusion(text, f"stages.{k}", "fusion_first")
    assert fusions(text) == ["fusion_first"] * 5
    for k in range(5):
        text = rewrite_fusion(text, f"stages.{k}", "fusion_last")
    assert fusions(text) == ["fusion_last"] * 5
    # fusion_first -> fusion_last adds a width-keeping partial transition and drops the transition
    for k in range(5):
        text = rewrite_fusion(text, f"stages.{k}", "fusion_first")
    for k in range(5):
        text = rewrite_fusion(text, f"stages.{k}", "csp")
    again = parse_cfg(text)
    assert fusions(text) == ["csp"] * 5
    # stages 1-4: the concat is the stage width, so every width comes back; stage 0 (part 1 + partial
    # transition = 128, transition to 64) keeps the concat's 128 from fusion last on: the added transition
    # keeps the stage's output width as it was
    outs = [s.output_shape for s in again.plan.stages]
    assert outs[2:] == [s.output_shape for s in before.plan.stages][2:]
    assert outs[1] == (128, 128, 128) and before.plan.stages[1].output_shape == (64, 128, 128)


def test_relative_and_absolute_indices_are_renumbered_as_written():
    text = csdarknet53_like(64)
    out = rewrite_fusion(text, "stages.1", "fusion_first")
    # a later stage's routes still read their own layers (relative indices renumbered across the deletion)
    a, b = parse_cfg(text), parse_cfg(out)
    assert len(b.layers) == len(a.layers) - 1
    for la, lb in zip(a.layers[-30:], b.layers[-30:]):
        assert (la.kind, la.out_shape) == (lb.kind, lb.out_shape)
    # an absolute index (written absolute) after the rewritten stage is shifted and stays absolute
    n = len(a.layers)
    absolute = text + f"\n[route]\nlayers={n - 2}\n"
    got = rewrite_fusion(absolute, "stages.1", "fusion_first")
    assert got.rstrip().endswith(f"layers={n - 3}")
    assert parse_cfg(got).layers[-1].inputs == (n - 3,)


def test_what_cannot_be_rewritten_says_why():
    text = csdarknet53_like(64)
    with pytest.raises(ConfigError, match="no recognised CSP stage"):
        rewrite_fusion(text, "head", "csp")
    with pytest.raises(ConfigError, match="or none"):
        rewrite_fusion(text, "stages.0", "dense")
    assert rewrite_fusion(text, "stages.0", "none") == rewrite_plain(text, "stages.0")   # a plain stage
    assert rewrite_fusion(text, "stages.0", "csp") == text


def test_the_darknet_cfg_family_is_a_design_like_any_other():
    import cspnet
    from explorer.counts.analysis import compare_with_twin
    from explorer.real.agreement import trace_agreement
    from explorer.real.trace import live_trace

    cfg = design_from_cfg(csdarknet53_like(128), "csdarknet53_like")
    assert cfg.family == "darknet_cfg" and cfg.fusion == "csp" and cfg.input_size == 128
    assert plan_network(cfg).params == 27_642_184   # timm's cspdarknet53, as the importer's own test
    assert plan_network(cfg).params == net_of(cfg).params
    # its plain twin: every CSP stage rewritten as a plain stage (below)
    cmp = compare_with_twin(cfg)
    assert cmp["twin"]["params"] == plan_network(cfg.twin()).params != cmp["design"]["params"]
    # the model: CSPNetModel parts, parameters and every tap shape as the plan
    model = cspnet.build_model(cfg, device="meta")
    assert isinstance(model, cspnet.CSPNetModel) and cspnet.count_params(model) == plan_network(cfg).params
    small = design_from_cfg(EXAMPLE_CFG, "example")
    agr = trace_agreement(compare_with_twin(small)["design"], live_trace(small))
    assert agr["agree"] and not agr["shape_mismatches"]
    # a stage switch is a new design; JSON carries the network
    last = with_stage_fusion(cfg, "stages.3", "fusion_last")
    assert [f for _, f in csp_stages(net_of(last))] == ["csp"] * 3 + ["fusion_last", "csp"]
    assert CSPConfig.from_json(last.to_json()) == last
    assert network_fusion(net_of(last)) == "csp"


def test_darknet_cfg_validation_names_the_network_field_and_the_line():
    with pytest.raises(ConfigError) as e:
        design_from_cfg("[net]\nwidth=64\nheight=64\nchannels=3\n[convolutional]\nfilters=0\n")
    assert e.value.field == "network" and "line 6 [convolutional] (layer 0)" in str(e.value)
    with pytest.raises(ConfigError, match="channels=3"):
        design_from_cfg("[net]\nwidth=64\nheight=64\nchannels=1\n[convolutional]\nfilters=4\n")
    cfg = design_from_cfg(EXAMPLE_CFG)
    with pytest.raises(ConfigError) as e:
        cfg.replace(fusion="fusion_last")
    assert e.value.field == "fusion" and "CSP stages are csp (or 'none': its plain twin)" in e.value.detail
    with pytest.raises(ConfigError) as e:
        cfg.replace(network="")
    assert e.value.field == "network"
    # only input_size is read of the fields every family reads
    from cspnet.config import family_fields
    from explorer.counts.sweep import sweep_knobs

    assert family_fields("darknet_cfg") == ("family", "name", "input_size", "network")
    assert sweep_knobs(cfg) == ["input_size"]
    assert plan_network(cfg.replace(input_size=256)).stages[1].taps["input"] == (16, 256, 256)


def test_the_family_is_known_without_importing_the_engine_first():
    """Declared in cspnet.families.PLUGINS (tests/test_family_registry.py): an empty network is refused
    naming the field ``network``, never as an unknown family."""
    import subprocess
    import sys

    code = ("from cspnet import CSPConfig, ConfigError\n"
            "try:\n    CSPConfig(family='darknet_cfg')\nexcept ConfigError as e:\n    print(e.field, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("network") and "empty" in out


# --------------------------------------------------------------------------- split ratio
@pytest.mark.parametrize("ratio", [0.25, 0.75])
def test_a_two_conv_split_takes_another_ratio_and_comes_back(ratio):
    from explorer.io.rewrite import rewrite_split, stage_split

    text = csdarknet53_like(64)
    net = parse_cfg(text)
    stage = csp_stages(net)[1][0]
    assert stage_split(net, stage) == 0.5
    new = rewrite_split(text, stage, ratio)
    again = parse_cfg(new)
    taps = again.plan.stage(stage).taps
    c = taps["part1"][0] + taps["part2"][0]
    assert taps["part2"][0] == int(c * ratio) and stage_split(again, stage) == taps["part2"][0] / c
    assert taps["block"][0] == taps["part2"][0]                      # the block path follows part 2
    assert taps["output"] == net.plan.stage(stage).taps["output"]     # the next stage reads the same input
    back = parse_cfg(rewrite_split(new, stage, 0.5))
    assert back.plan.params == net.plan.params and back.plan.macs == net.plan.macs


def test_a_split_that_empties_a_part_names_part2_share():
    from explorer.io.rewrite import rewrite_split

    text = csdarknet53_like(64)
    stage = csp_stages(parse_cfg(text))[1][0]
    with pytest.raises(ConfigError) as err:
        rewrite_split(text, stage, 0.001)
    assert err.value.field == "part2_share" and "0.001 splits" in str(err.value)
    with pytest.raises(ConfigError) as err:
        rewrite_split(text, stage, part2_share=1.0)
    assert err.value.field == "part2_share" and "both parts need at least 1 channel" in str(err.value)


# --------------------------------------------------------------------------- sliced splits, channel attention
def _export(name, *sets):
    from cspnet import get_preset
    from explorer.design.text import apply_overrides
    from explorer.io.darknet_export import cfg_from_config

    return cfg_from_config(apply_overrides(get_preset(name), list(sets)))


@pytest.mark.parametrize("ratio,extra_layers", [(0.25, 2), (0.75, 2), (0.3, 7)])
def test_a_sliced_split_takes_another_ratio_as_new_slices_and_comes_back(ratio, extra_layers):
    from explorer.io.rewrite import rewrite_split, stage_split

    text = _export("cspdarknet53", "input_size=64")      # every stage: groups=2 halves of its expansion
    net = parse_cfg(text)
    stage = "stages.2"
    assert stage_split(net, stage) == 0.5 and net.stages[3].roles["sliced"]
    new = rewrite_split(text, stage, ratio)
    again = parse_cfg(new)
    info = next(s for s in again.stages if s.name == stage)
    taps = again.plan.stage(stage).taps
    c = 256
    assert taps["part2"][0] == int(c * ratio) and taps["part1"][0] == c - int(c * ratio)
    assert info.roles["sliced"] and info.fusion == "csp" and stage_split(again, stage) == taps["part2"][0] / c
    assert taps["block"][0] == taps["part2"][0] and taps["output"] == net.plan.stage(stage).taps["output"]
    # 0.25: 192 + 64 = [128 + 64] + [64], one slice more and their concat; 0.3: 180 + 76 = 4 + 3 slices
    assert len(again.layers) == len(net.layers) + extra_layers
    # the later stages' routes and shortcuts still read their own layers (indices renumbered)
    later = len(net.layers) - net.stages[3].end
    assert later > 40 and info.end == net.stages[3].end + extra_layers
    for la, lb in zip(net.layers[-later:], again.layers[-later:]):
        assert (la.kind, la.out_shape, [la.index - j for j in la.inputs]) == \
            (lb.kind, lb.out_shape, [lb.index - j for j in lb.inputs])
    back = parse_cfg(rewrite_split(new, stage, 0.5))
    assert back.params == net.params and back.plan.macs == net.plan.macs and len(back.layers) == len(net.layers)
    assert [s.taps for s in back.plan.stages] == [s.taps for s in net.plan.stages]


def test_the_model_of_a_resliced_cfg_runs():
    torch = pytest.importorskip("torch")
    from explorer.io.darknet_torch import build_model, count_params
    from explorer.io.rewrite import rewrite_split

    net = parse_cfg(rewrite_split(_export("cspdarknet53", "input_size=64"), "stages.1", 0.3))
    model = build_model(net)
    assert count_params(model) == net.params
    with torch.no_grad():
        assert tuple(model(torch.randn(1, 3, 64, 64)).shape) == (1, 1000, 1, 1)


def test_a_sliced_split_that_cannot_be_rewritten_says_why():
    from explorer.io.rewrite import rewrite_split

    # a dense stage: its output width changes with the ratio, and the next stage's slices no longer divide it
    dense = _export("cspdensenet121_fusion_last", "input_size=64")
    with pytest.raises(ConfigError) as err:
        rewrite_split(dense, "stages.0", 0.75)
    assert err.value.field == "network" and "does not read" in str(err.value) and "groups=" in str(err.value)
    back = parse_cfg(rewrite_split(rewrite_split(dense, "stages.3", 0.75), "stages.3", 0.5))   # the last stage
    assert back.params == parse_cfg(dense).params
    # 113 channels (prime) into 85 + 28: part 1 would need 85 one-channel slices, a route takes 64
    prime = _export("cspdensenet121", "stem_channels=113", "input_size=64")
    with pytest.raises(ConfigError) as err:
        rewrite_split(prime, "stages.0", 0.25)
    assert err.value.field == "part2_share" and "part 1 needs 85" in str(err.value)
    # a fusion rewrite that changes a stage's output width under the next stage's slices: said, not a parse error
    walk = _export("cspdensenet_walkthrough", "input_size=64")
    with pytest.raises(ConfigError) as err:
        rewrite_fusion(walk, "stages.0", "fusion_last")
    assert err.value.field == "network" and "as fusion_last the rewritten cfg does not read" in str(err.value)


@pytest.mark.parametrize("to", ["csp", "fusion_last"])
def test_a_stage_with_channel_attention_switches_fusion_and_back(to):
    text = _export("cspnext_tiny", "input_size=64")
    before = parse_cfg(text)
    out = rewrite_fusion(text, "stages.1", to)
    after = parse_cfg(out)
    assert fusions(out) == ["fusion_first", to, "fusion_first", "csp"]    # (the last stage reads as csp)
    info = after.stages[2]
    post, cat = info.roles["post"], info.roles["concat"][0]
    assert [after.layers[j].kind for j in post] == ["avgpool", "conv", "scale_channels"]
    assert after.layers[post[-1]].inputs == (post[-1] - 1, cat)             # still scales the concat
    assert bool(info.roles["transition"]) == (to == "csp") and info.roles["transition"][:1] in ([], [post[-1] + 1])
    back = parse_cfg(rewrite_fusion(out, "stages.1", "fusion_first"))
    assert back.params == before.params and [s.taps for s in back.plan.stages] == [s.taps for s in before.plan.stages]


def test_the_plain_twin_of_csdarknet53_is_the_design_familys_twin():
    """csdarknet53 (the CSPNet authors' cfg pattern) with its CSP stages rewritten as plain stages has, stage by
    stage, the parameters of the darknet design family's cspdarknet53 with fusion none (planned apart, by
    ``cspnet.families._crossstage``), and is what the twin design plans, builds and exports."""
    from cspnet.presets import get_preset
    from explorer.io.darknet_export import export_cfg

    cfg = design_from_cfg(csdarknet53_like(128), "csdarknet53_like")
    text = plain_twin(cfg.network)
    assert csp_stages(parse_cfg(text)) == [] and fusions(text) == ["none"] * 5
    twin = cfg.twin()
    assert twin.fusion == "none" and twin.network == cfg.network and twin.name == "csdarknet53_like (plain twin)"
    family_twin = get_preset("cspdarknet53", input_size=128).twin()
    assert [(s.name, s.params) for s in plan_network(twin).stages] == \
        [(s.name, s.params) for s in plan_network(family_twin).stages]
    assert net_of(twin).params == parse_cfg(text).params
    exported = parse_cfg(export_cfg(twin)[0])      # the export of the twin is the rewritten text
    assert [(x.kind, x.out_shape) for x in exported.layers] == [(x.kind, x.out_shape) for x in parse_cfg(text).layers]


def test_yolov4_csp_twin_per_part():
    """YOLOv4-CSP's plain twin: its backbone is Darknet-53's layout with CSPDarknet-53's blocks (1x1 and 3x3 at the
    stage width: the blocks keep their ratio), counted by hand; the head is untouched; the CLI says it."""
    from cspnet.presets import get_preset
    from explorer.counts.analysis import compare_with_twin

    parts = {p["name"]: p["params"] for p in compare_with_twin(get_preset("yolov4_csp"))["part_deltas"]}

    def conv(c_in, c_out, k):   # weights + BatchNorm's scale and shift
        return c_in * c_out * k * k + 2 * c_out

    backbone = conv(3, 32, 3) + conv(32, 64, 3) + conv(64, 32, 1) + conv(32, 64, 3)   # stem, the plain stage 0
    c = 64
    for width, n in ((128, 2), (256, 8), (512, 8), (1024, 4)):    # down conv c -> width, n blocks at width
        backbone += conv(c, width, 3) + n * (conv(width, width, 1) + conv(width, width, 3))
        c = width
    assert parts["backbone"]["twin"] == backbone
    assert parts["head"]["twin"] == parts["head"]["design"] and parts["neck"]["twin"] != parts["neck"]["design"]


def test_fusion_none_only_where_a_plain_twin_is_meaningful(capsys, tmp_path):
    from cspnet.presets import get_preset
    from explorer.cli import main
    from explorer.io.darknet_export import export_cfg

    plain = design_from_cfg(plain_twin(EXAMPLE_CFG), "plain")     # no CSP stage: its own twin
    assert plain.fusion == "none" and plain.twin() == plain
    dense = design_from_cfg(export_cfg(get_preset("cspdensenet_walkthrough"))[0], "dense")
    with pytest.raises(ConfigError) as e:     # a dense stage's pooled transition: no plain stage here
        dense.twin()
    assert e.value.field == "fusion" and "no plain twin" in e.value.detail and "stages.0" in e.value.detail
    assert main(["summary", "yolov4_csp"]) == 0
    out = capsys.readouterr().out
    assert "vs plain twin (fusion=none): Parameters -" in out and "part backbone" in out and "vs twin: params" in out
    path = tmp_path / "twin.cfg"        # the twin's export: the rewritten text
    assert main(["export", "yolov4_csp", "--format", "darknet", "--set", "fusion=none", "-o", str(path)]) == 0
    assert "plain twin" in path.read_text() and csp_stages(parse_cfg(path.read_text())) == []
    capsys.readouterr()
    assert main(["summary", "yolov7", "--set", "growth_rate=16"]) != 0     # a detection YAML reads fusion, not this
    assert "growth_rate" in capsys.readouterr().err


@pytest.mark.parametrize("preset", ["cs3darknet_s", "yolov5n_cls", "yolov8n_cls"])
def test_the_plain_twin_of_an_export_is_the_export_of_the_twin(preset):
    """A lineage design's Darknet export with its CSP stages rewritten as plain stages has, stage by stage, the
    parameters and Darknet BFLOPs of the export of the design's own plain twin (fusion none: a fusion-first
    stage with an expand conv, C3's split convs, C2f's sliced split and concat of every block's output)."""
    from cspnet.presets import get_preset
    from explorer.io.darknet import darknet_bflops
    from explorer.io.darknet_export import cfg_from_config

    cfg = get_preset(preset)
    got, want = parse_cfg(plain_twin(cfg_from_config(cfg))), parse_cfg(cfg_from_config(cfg.twin()))

    def per_stage(net):
        return [(s.name, sum(net.layers[j].params for j in s.layers)) for s in net.stages]

    assert csp_stages(got) == [] and per_stage(got) == per_stage(want)
    assert darknet_bflops(got) == darknet_bflops(want)
