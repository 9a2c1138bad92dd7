"""Darknet cfg export (explorer.io.darknet_export): every preset that exports round-trips through the importer
(explorer.io.darknet.parse_cfg) to the design's parameters, its count in every counting convention and its stage
tap shapes; what Darknet has no layer for is refused with one clear error; the importer's additions
([batchnorm], [activation], [local_avgpool], sliced CSP splits into equal or unequal parts, CSPNeXt's channel
attention after the concat) and the CLI's `export` command.

Analytic, but for a few small real models (darknet_torch)."""
from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cspnet import all_presets, get_preset, plan_network
from cspnet.errors import ConfigError
from cspnet.plan import TOTALS
from explorer.counts.conventions import REGISTRY, count
from explorer.design.text import apply_overrides
from explorer.io.darknet import _fusion, parse_cfg
from explorer.io.darknet_export import ATTENTION_NOTE, cfg_from_config, extra_biases, slice_chunks

# presets Darknet cannot express, and the field their error names
REFUSED = {f"yolo11{k}_cls": "format" for k in "nsmlx"}     # psa: matrix products and a softmax over positions
# detectors: the anchor-free Detect head (DFL) has no Darknet layer ([yolo] is anchor-based)
REFUSED.update({n: "format" for n in all_presets() if get_preset(n).is_detector})
# opened detection YAMLs (yolo_yaml): their repository's modules, not Darknet sections
REFUSED.update({n: "format" for n in all_presets() if get_preset(n).family == "yolo_yaml"})
# (an opened Darknet cfg's preset, darknet_cfg, goes out as itself: tests/test_yolo_yaml_family.py)
EXPORTED = [n for n in all_presets() if n not in REFUSED and get_preset(n).family != "darknet_cfg"]

# design stages the importer cuts elsewhere (README "Export to Darknet cfg"); every other stage is read as
# the design has it
OTHER_CUT = {
    "peleenet": {"stem", "stages.0"},     # the two-branch stem block reads as two stages of its own
    "yolov7": {"stem", "stages.0"},       # a stride-1 first stage after a strided stem conv: that conv opens it
    "yolov4csp": {"stem"},                # the stem's residual block after its strided conv reads as a stage
    "yolov5": {"stages.3", "head"},       # the head's 1x1 conv (1280) ends the last stage
    "yolov8": {"stages.3", "head"},
    "yolo11": {"stages.3", "stages.4", "head"},   # its stride-1 last stage is read with the one before it
}

# design stages the importer labels with another fusion (every tap still compared): CSPNeXt's last stage has
# no residual add, so its last block ends in a 1x1 conv, which reads as a partial transition (csp, not
# fusion_first)
OTHER_LABEL = {"cspnext": {"stages.3"},
               # a C3k block ends in a 1x1 conv, which the importer reads as the partial transition (the same
               # graph, labelled csp) now that C3k2's one concat reads every tap itself
               "yolo11": {f"stages.{i}" for i in range(5)}}


def _key(stage):
    return stage.taps.get("input"), stage.taps["output"], stage.macs


def _expected_fusion(stage) -> str:
    """The label the importer gives a stage from its structure (the design's fusion, less what its last
    stage leaves out: DenseNet's last stage has no transition)."""
    if stage.fusion in ("none", "fusion_last"):
        return stage.fusion
    taps = stage.taps
    return _fusion({"partial_transition": "partial_transition" in taps, "transition": "transition" in taps})


def check_round_trip(cfg, other_cut=frozenset(), other_label=frozenset()):
    text = cfg_from_config(cfg)
    net = parse_cfg(text)
    plan = plan_network(cfg)
    assert net.input_shape == (3, cfg.input_size, cfg.input_size)
    assert net.params == net.plan.params == plan.params + extra_biases(cfg)
    for key in REGISTRY:      # macs, fvcore, flops, bflops, mmcv, darknet, thop, ultralytics
        assert count(net.plan, key) == count(plan, key), key
    assert net.plan.output_shape == plan.output_shape == (cfg.num_classes, 1, 1)
    imported = {_key(s): s for s in net.plan.stages}
    for stage in plan.stages:
        if stage.name in other_cut:
            continue
        got = imported.get(_key(stage))
        assert got is not None, f"{stage.name} {stage.taps} not among {[s.taps for s in net.plan.stages]}"
        assert got.kind == stage.kind
        shared = set(stage.taps) & set(got.taps)
        assert {"input", "output"} <= shared
        if stage.kind == "stage" and stage.fusion != "none":
            assert {"part1", "part2", "concat"} <= shared, (stage.name, got.taps)
            assert got.fusion == _expected_fusion(stage) or stage.name in other_label, stage.name
        assert {t: got.taps[t] for t in shared} == {t: stage.taps[t] for t in shared}, stage.name
    return net


@pytest.mark.parametrize("name", EXPORTED)
def test_every_exportable_preset_round_trips(name):
    cfg = get_preset(name)
    check_round_trip(cfg, OTHER_CUT.get(cfg.family, set()), other_label=OTHER_LABEL.get(cfg.family, set()))
    # Darknet's conv has a bias wherever it has no BatchNorm: only DenseNet's pre-activation convs and
    # BottleneckCSP's bare convs lack one in the design
    assert (extra_biases(cfg) > 0) == (cfg.family in ("densenet", "yolov4csp"))


def test_extra_biases_are_the_bare_convs():
    cfg = get_preset("densenet121")
    # every dense layer's 3x3 conv (growth 32) and the three transitions' 1x1 convs
    assert extra_biases(cfg) == 32 * sum(cfg.repeats) + (128 + 256 + 512)
    # BottleneckCSP: the bare cross conv and partial transition of each of the four stages (part 1 and part 2
    # each half the width)
    assert extra_biases(get_preset("yolov4_csp_backbone")) == sum(2 * w // 2 for w in (128, 256, 512, 1024))


@pytest.mark.parametrize("name,biases", [("densenet121", 2752), ("yolov4_csp_backbone", 1920), ("cspdarknet53", 0)])
def test_the_known_differences_are_stated_in_the_header_and_the_check(name, biases):
    """The documented differences are stated, not tolerated: the writer's check result lists them per stage
    (explorer.io.check), the cfg's header says them, and the file has exactly them."""
    from explorer.io.darknet_export import export_cfg

    cfg = get_preset(name)
    text, result = export_cfg(cfg)
    header = text.split("[net]")[0]
    stated = {a.reason for a in result.allowed}
    assert stated == ({"bias", "softmax"} if biases else {"softmax"})
    assert sum(a.deltas[TOTALS.index("params")] for a in result.allowed if a.reason == "bias") == biases \
        == extra_biases(cfg)
    assert ("#   conv +" + f"{biases:,} params (" in header) == bool(biases)
    assert "#   softmax +1 layers, +1,000 in elements, +1,000 out elements (head)" in header
    assert parse_cfg(text).params == plan_network(cfg).params + biases


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["cspdensenet121", "csppeleenet", "cs3darknet_s"]), st.integers(1, 19),
       st.integers(17, 140), st.sampled_from(["csp", "fusion_first", "fusion_last"]))
def test_random_split_ratios_and_widths_round_trip_or_are_refused(name, twentieths, stem, fusion):
    """Any split ratio on any width: the export round-trips exactly, or is refused naming split_ratio
    (a part needs more aligned slices than one route takes); never a wrong network."""
    sets = [f"split_ratio={twentieths / 20:g}", f"fusion={fusion}", "input_size=64"]
    if name == "cs3darknet_s":
        sets += ["split_convs=slice", f"widths={stem * 2},{stem * 4},{stem * 6},{stem * 8}"]
    else:
        sets += [f"stem_channels={stem}"]
    try:
        cfg = apply_overrides(get_preset(name), sets)
    except ConfigError:
        assume(False)   # no valid design (e.g. a part of no channels)
    try:
        text = cfg_from_config(cfg)
    except ConfigError as exc:
        assert exc.field == "split_ratio" and "aligned slices" in str(exc), str(exc)
        return
    assert parse_cfg(text)
    check_round_trip(cfg, OTHER_CUT.get(cfg.family, set()), other_label=OTHER_LABEL.get(cfg.family, set()))


@pytest.mark.parametrize("name", sorted(n for n in REFUSED if not get_preset(n).is_detector
                                         and get_preset(n).family != "yolo_yaml"))
def test_refused_presets_name_the_field(name):
    with pytest.raises(ConfigError) as exc:
        cfg_from_config(get_preset(name))
    assert exc.value.field == REFUSED[name]
    msg = str(exc.value)
    assert "stage 4's attention block (block_type psa" in msg and "has no Darknet layer" in msg
    # where YOLO11 goes instead, and what does export
    assert "exports as an Ultralytics YAML (--format ultralytics)" in msg
    cfg = get_preset(name)
    hint = "block_type=" + ",".join("c3k" if b == "psa" else b for b in cfg.block_type)   # only stage 4 changes
    assert f"--set {hint} (stage 4 without attention, the other stages as they are) exports to Darknet" in msg
    assert "exportable to a Darknet cfg" in msg and "channel attention ([scale_channels]; a hard sigmoid as " \
        "logistic)" in msg and "not self-attention" in msg
    cfg_from_config(apply_overrides(cfg, [hint]))     # as the message says


@pytest.mark.parametrize("name,sets", [
    ("darknet53", ["fusion=fusion_last", "input_size=64"]),
    ("darknet53", ["fusion=fusion_first", "input_size=96", "activation=mish"]),
    ("resnet50", ["fusion=fusion_first", "input_size=64"]),
    ("resnext50_32x4d", ["fusion=csp", "input_size=64"]),
    ("cspresnet50", ["fusion=fusion_last", "input_size=64"]),
    ("densenet121", ["fusion=fusion_last", "growth_rate=16", "stem_channels=32", "input_size=64"]),
    ("densenet121", ["stem_norm=false", "head_norm=false", "input_size=64"]),
    ("peleenet", ["fusion=csp", "last_transition=false", "head_norm=true"]),
    ("yolov8n_cls", ["fusion=none"]),
    ("cs3darknet_s", ["split_convs=slice", "fusion=csp"]),
    ("cs3darknet_s", ["activation=relu", "block_type=cspnext"]),
    ("yolov7_backbone", ["fusion=csp"]),
    ("cspnext_s", ["post_concat=none"]),            # CSPNeXt without its channel attention: SPP, depthwise 5x5
    ("yolov5s_cls", ["fusion=fusion_last"]),
    ("yolo11n_cls", ["block_type=c3k"]),            # YOLO11 without its attention stage
    ("yolov4_csp_backbone", ["fusion=fusion_first"]),
    # uneven splits: of an expansion (0.3 of 128: 90 + 38), of the stage input, of C2f's expansion, of odd widths
    ("cspresnet50", ["split_ratio=0.3", "input_size=64"]),
    ("cspdarknet53", ["split_ratio=0.75", "input_size=64"]),
    ("cs3darknet_s", ["split_convs=slice", "fusion=csp", "split_ratio=0.25"]),
    ("yolov8n_cls", ["split_ratio=0.25"]),
    ("cspdensenet121_fusion_last", ["input_size=64", "growth_rate=8", "repeats=2,2,2,3", "stem_channels=31"]),
    ("cspnext_s", ["fusion=fusion_last"]),          # the attention after the concat, no transition after it
])
def test_custom_designs_round_trip(name, sets):
    cfg = apply_overrides(get_preset(name), sets)
    # (CSPNeXt's last stage: OTHER_LABEL; with or without the channel attention)
    check_round_trip(cfg, OTHER_CUT.get(cfg.family, set()), other_label=OTHER_LABEL.get(cfg.family, set()))


def test_cfg_text_activations_and_notes():
    text = cfg_from_config(get_preset("cspdarknet53"))
    assert text.startswith("# cspdarknet53: exported by CSPNet Explorer")
    assert "leaky slope is 0.1" in text and "timm's 0.01" in text
    assert "activation=leaky" in text and "[connected]\noutput=1000\nactivation=linear" in text
    assert "width=256\nheight=256\nchannels=3" in text and text.rstrip().endswith("[softmax]\ngroups=1")
    yolo = cfg_from_config(get_preset("yolov8n_cls"))
    assert "activation=swish" in yolo and "leaky" not in yolo
    assert "groups=2\ngroup_id=1" in yolo                     # C2f's split: the expansion's two halves
    assert "padding=2" in cfg_from_config(get_preset("yolov5n_cls"))   # the 6x6 focus conv pads 2, not 3
    dense = cfg_from_config(get_preset("densenet121"))
    assert "[batchnorm]" in dense and "[activation]\nactivation=relu" in dense
    assert "[local_avgpool]\nsize=2\nstride=2\npadding=0" in dense and "more than the design" in dense
    groups = cfg_from_config(get_preset("resnext50_32x4d"))
    assert "groups=32" in groups and "activation=relu" in groups


def test_imported_csp_roles_of_an_export():
    net = parse_cfg(cfg_from_config(get_preset("cspdarknet53")))
    info = net.stages[1]
    assert info.fusion == "csp" and info.roles["sliced"]
    split = info.roles["split"][0]
    layers = net.layers
    assert layers[split].attrs == {"groups": 2, "group_id": 1} and info.roles["part2"] == []
    assert [layers[j].attrs["group_id"] for j in info.roles["part1"]] == [0]
    assert [net.plan.stage(f"stages.{i}").repeats for i in range(5)] == [1, 2, 8, 8, 4]


# --------------------------------------------------------------------------- the importer's additions
def test_batchnorm_activation_local_avgpool_sections():
    text = ("[net]\nwidth=9\nheight=9\nchannels=4\n\n[batchnorm]\n\n[activation]\nactivation=mish\n\n"
            "[local_avgpool]\nsize=2\nstride=2\n\n[local_avg]\nsize=3\nstride=1\npadding=0\n\n[activation]\n")
    net = parse_cfg(text)
    assert [layer.kind for layer in net.layers] == ["batchnorm", "activation", "local_avgpool", "local_avgpool",
                                                    "activation"]
    assert [layer.out_shape for layer in net.layers] == [(4, 9, 9), (4, 9, 9), (4, 5, 5), (4, 3, 3), (4, 3, 3)]
    assert net.params == 8
    kinds = [op.kind for op in net.plan.ops]
    assert kinds.count("bn") == 1 and kinds.count("act") == 1 and kinds.count("avgpool") == 2
    assert net.layers[2].flops == 4 * 4 * 5 * 5           # Darknet's pooling term: size^2 x c x out_h x out_w
    with pytest.raises(ConfigError, match="unknown option 'size'"):
        parse_cfg("[net]\nwidth=8\nheight=8\nchannels=3\n\n[batchnorm]\nsize=2\n")


@pytest.mark.parametrize("name", ["csppeleenet_fusion_last", "csppeleenet_gamma025", "cspnext_tiny"])
def test_live_trace_of_an_imported_export_sees_every_tap(name):
    """The imported network opened as a design (family darknet_cfg) and traced for real: every tap the
    plan records (part 1 of a fusion-last dense stage is its slice, before its pool; the channel
    attention's output is the stage's post tap) has the traced shape, and the counts agree."""
    pytest.importorskip("torch")
    from explorer.counts.analysis import summarize
    from explorer.io.family import design_from_cfg
    from explorer.real.agreement import trace_agreement
    from explorer.real.trace import live_trace

    cfg = design_from_cfg(cfg_from_config(apply_overrides(get_preset(name), ["input_size=64"])), name=name)
    agr = trace_agreement(summarize(cfg), live_trace(cfg, with_fvcore=False))
    assert agr["agree"] and not agr["shape_mismatches"], agr["shape_mismatches"]
    taps = {t for st in plan_network(cfg).stages for t in st.taps}
    assert {"part1", "part2", "concat"} <= taps
    assert ("post" in taps) == name.startswith("cspnext")


def test_real_models_of_small_exports():
    torch = pytest.importorskip("torch")
    from explorer.io.darknet_torch import build_model, count_params

    for name, sets in (("cspdarknet53", ["input_size=32", "widths=16,32,64,64,64", "repeats=1,1,1,1,1"]),
                       ("cspdensenet121", ["input_size=32", "growth_rate=8", "repeats=2,2,2,2", "stem_channels=32"])):
        cfg = apply_overrides(get_preset(name), sets)
        net = parse_cfg(cfg_from_config(cfg))
        model = build_model(net)
        assert count_params(model) == plan_network(cfg).params + extra_biases(cfg)
        with torch.no_grad():
            y = model(torch.randn(2, 3, 32, 32))
        assert tuple(y.shape) == (2, cfg.num_classes, 1, 1)
        assert torch.allclose(y.sum((1, 2, 3)), torch.ones(2))        # the softmax


def test_local_avgpool_averages_inside_the_map():
    torch = pytest.importorskip("torch")
    from explorer.io.darknet_torch import build_model

    net = parse_cfg("[net]\nwidth=3\nheight=3\nchannels=1\n\n[local_avgpool]\nsize=2\nstride=2\n")
    x = torch.arange(9.0).view(1, 1, 3, 3)
    y = build_model(net)(x)
    # padding 1 (Darknet's default size - 1) after: the edge windows average only their pixels in the map
    assert y.flatten().tolist() == [2.0, 3.5, 6.5, 8.0]


# --------------------------------------------------------------------------- the CLI
def _cli(*args):
    return subprocess.run([sys.executable, "-m", "explorer", *args], capture_output=True, text=True, timeout=120)


def test_cli_export_darknet(tmp_path):
    out = tmp_path / "d.cfg"
    r = _cli("export", "cspresnet50", "--format", "darknet", "-o", str(out), "--set", "num_classes=10")
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr
    net = parse_cfg(out.read_text())
    cfg = apply_overrides(get_preset("cspresnet50"), ["num_classes=10"])
    assert net.params == plan_network(cfg).params and net.output_shape == (10, 1, 1)
    r = _cli("summary", str(out), "--json")
    assert r.returncode == 0, r.stderr
    r = _cli("export", "resnet50", "--format", "darknet")
    assert r.returncode == 0 and r.stdout.startswith("# resnet50")


@pytest.mark.parametrize("args,needle", [
    (("export", "yolo11n_cls", "--format", "darknet"), "error: format: "),
    (("export", "cspdensenet121", "--format", "darknet", "--set", "stem_channels=131"), "error: split_ratio: "),
    (("export", "cspresnet50", "--format", "onnx"), "invalid choice"),
])
def test_cli_export_errors_are_one_line(args, needle):
    r = _cli(*args)
    assert r.returncode == 2 and r.stdout == ""
    assert needle in r.stderr and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_cli_export_ultralytics():
    pytest.importorskip("explorer.io.ultralytics")
    r = _cli("export", "yolov8n_cls", "--format", "ultralytics")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip()


def test_squeeze_excitation_exports_as_scale_channels_and_builds():
    """SE (timm's cs3sedarknet) is [avgpool], two biased 1x1 convs (act, logistic) and AlexeyAB's
    [scale_channels]: the import reads the pool as SE's mean, so every convention comes back identical,
    and the torch model of the cfg agrees with its plan."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from explorer.io.darknet_torch import build_model, count_params

    cfg = get_preset("cs3sedarknet_l", input_size=64, width_multiple=0.25, depth_multiple=0.34)
    text = cfg_from_config(cfg)
    assert text.count("[scale_channels]") == sum(
        1 for op in plan_network(cfg).ops if op.kind == "mul")
    net = parse_cfg(text)
    assert {k: count(net.plan, k) for k in REGISTRY} == {k: count(plan_network(cfg), k) for k in REGISTRY}
    model = build_model(net)
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        model(torch.randn(1, 3, 64, 64))
    assert count_params(model) == net.plan.params == plan_network(cfg).params
    assert fc.get_total_flops() == 2 * count(net.plan, "macs")


def test_scale_channels_needs_a_c_by_1_by_1_input():
    text = ("[net]\nwidth=32\nheight=32\nchannels=3\n\n[convolutional]\nbatch_normalize=1\nfilters=8\nsize=3\n"
            "stride=1\npad=1\nactivation=leaky\n\n[convolutional]\nfilters=4\nsize=1\nstride=1\npad=1\n"
            "activation=logistic\n\n[scale_channels]\nfrom=-2\n")
    with pytest.raises(ConfigError) as err:
        parse_cfg(text)
    assert "scale_channels" in str(err.value) and "8x1x1" in str(err.value)


# --------------------------------------------------------------------------- splits into unequal parts
def _bfs_fewest(c, lo, hi):
    """Fewest aligned slices covering [lo, hi) of c channels, by breadth-first search (the reference)."""
    frontier, seen, n = {lo}, {lo}, 0
    while hi not in frontier:
        n += 1
        frontier = {p + s for p in frontier for s in range(1, c + 1)
                    if c % s == 0 and p % s == 0 and p + s <= hi} - seen
        seen |= frontier
    return n


def test_slice_chunks_cover_each_part_with_the_fewest_aligned_slices():
    # 609 = 3 x 7 x 29 (cspdensenet121_fusion_last's stage 3 input) into 305 + 304
    assert slice_chunks(609, 0, 305) == [(3, 0), (21, 7), (21, 8), (21, 9), (609, 290), (203, 97), (87, 42),
                                         (609, 301), (609, 302), (609, 303), (609, 304)]
    assert slice_chunks(609, 305, 609) == [(609, 305), (203, 102), (203, 103), (203, 104), (29, 15), (29, 16),
                                           (29, 17), (29, 18), (87, 57), (3, 2)]
    assert slice_chunks(32, 0, 8) == [(4, 0)] and slice_chunks(32, 8, 32) == [(4, 1), (2, 1)]   # split_ratio 0.75
    assert slice_chunks(64, 0, 32) == [(2, 0)] and slice_chunks(64, 32, 64) == [(2, 1)]        # equal halves
    assert slice_chunks(83, 0, 42) == [(83, k) for k in range(42)]                           # a prime width
    for c in (12, 30, 57, 64, 96, 100, 128, 131, 609):
        for c1 in range(1, c):
            for lo, hi in ((0, c1), (c1, c)):
                chunks = slice_chunks(c, lo, hi)
                pos = lo
                for g, k in chunks:          # contiguous, aligned, equal slices of c
                    assert c % g == 0 and k * (c // g) == pos
                    pos += c // g
                assert pos == hi
                if c <= 100 or c1 in (1, c // 2, c - 1):
                    assert len(chunks) == _bfs_fewest(c, lo, hi), (c, lo, hi)
    with pytest.raises(ValueError):
        slice_chunks(8, 4, 9)


def _routes(text):
    """The [route] sections of an exported cfg, as option dicts."""
    out = []
    for sec in text.split("\n\n"):
        if sec.startswith("[route]"):
            out.append(dict(line.split("=", 1) for line in sec.splitlines()[1:]))
    return out


def test_an_uneven_split_exports_as_slices_and_a_concat_and_imports_its_parts():
    cfg = get_preset("csppeleenet_gamma025")            # split_ratio 0.75: 32 -> 8 + 24, 128 -> 32 + 96, ...
    text = cfg_from_config(cfg)
    # stage 0's split of its 32-channel input: part 1 one slice, part 2 two slices and their concat
    assert ("[route]\nlayers=-1\ngroups=4\ngroup_id=0\n\n[route]\nlayers=-2\ngroups=4\ngroup_id=1\n\n"
            "[route]\nlayers=-3\ngroups=2\ngroup_id=1\n\n[route]\nlayers=-2,-1\n") in text
    net = parse_cfg(text)
    design = [s for s in plan_network(cfg).stages if "part1" in s.taps]
    infos = [i for i in net.stages if i.roles]
    assert len(infos) == len(design) == 4
    for info, stage in zip(infos, design):
        taps = net.plan.stage(info.name).taps
        assert (taps["part1"][0], taps["part2"][0]) == (stage.taps["part1"][0], stage.taps["part2"][0])
        assert info.fusion == "csp" and info.roles["sliced"]
        split, cat = info.roles["split"][0], info.roles["part2"][0]
        assert net.layers[cat].inputs == (split, split + 1)                 # part 2: two slices, concatenated
        assert info.roles["part1"] == info.roles["part1_slice"] == [split - 1]
    assert [(t["part1"][0], t["part2"][0]) for t in (net.plan.stage(i.name).taps for i in infos)] == \
        [(8, 24), (32, 96), (64, 192), (128, 384)]


def test_odd_widths_split_with_many_slices_and_equal_halves_stay_one_route_each():
    cfg = get_preset("cspdensenet121_fusion_last")
    text = cfg_from_config(cfg)
    net = parse_cfg(text)
    infos = [i for i in net.stages if i.roles]
    assert [i.fusion for i in infos] == ["fusion_last"] * 4
    # stages 0-2 split 64, 144 and 300 channels: one groups=2 route per part, as before
    for info in infos[:3]:
        first, split = info.roles["part1"][0], info.roles["split"][0]
        assert net.layers[first].attrs == {"groups": 2, "group_id": 0}
        assert net.layers[split].attrs == {"groups": 2, "group_id": 1} and info.roles["part2"] == []
        assert net.layers[info.roles["part1"][-1]].kind == "local_avgpool"     # part 1's pool, before part 2
    # stage 3: 609 channels into 305 (11 slices + concat) and 304 (10 slices + concat); no pool in the last
    last = infos[3]
    p1, split, p2 = last.roles["part1_slice"][0], last.roles["split"][0], last.roles["part2"][0]
    assert last.roles["part1"] == list(range(p1 - 11, p1 + 1)) and split == p1 + 1 and p2 == split + 10
    assert net.layers[p1].inputs == tuple(range(p1 - 11, p1)) and net.layers[p2].inputs == tuple(range(split, p2))
    taps = net.plan.stage(last.name).taps
    assert taps["part1"] == (305, 7, 7) and taps["part2"] == (304, 7, 7) and taps["concat"] == (713, 7, 7)
    assert sum(1 for r in _routes(text) if r.get("groups") == "609") == 6    # its 1-channel slices
    # the worst preset: cspdensenet201_fusion_last's 993 channels (3 x 331) into 497 + 496 take 59 + 58 slices
    assert len(slice_chunks(993, 0, 497)) == 59 and len(slice_chunks(993, 497, 993)) == 58
    assert len(parse_cfg(cfg_from_config(get_preset("cspdensenet201_fusion_last"))).layers) == 644


def test_a_part_needing_more_slices_than_a_route_takes_is_refused():
    # a prime stem width: 131 channels into 66 + 65, each only 1-channel slices; a route takes 64 inputs
    cfg = apply_overrides(get_preset("cspdensenet121"), ["stem_channels=131"])
    with pytest.raises(ConfigError) as exc:
        cfg_from_config(cfg)
    assert exc.value.field == "split_ratio"
    msg = str(exc.value)
    assert "stage 0's 131 channels into 66 + 65" in msg and "part 1 needs 66 aligned slices" in msg
    assert "more than the 64 inputs one [route] may take" in msg
    # 113 (prime) into 57 + 56: 57 slices fit one route
    assert len(slice_chunks(113, 0, 57)) == 57
    check_round_trip(apply_overrides(get_preset("cspdensenet121"), ["stem_channels=113", "input_size=64"]))


def test_too_many_layers_are_refused_naming_what_made_them(monkeypatch):
    import explorer.io.darknet as darknet

    with pytest.raises(ConfigError) as exc:   # DenseNet at 64 layers per stage: no split involved
        cfg_from_config(apply_overrides(get_preset("densenet121"), ["repeats=64,64,64,64", "input_size=32"]))
    assert exc.value.field == "format" and "1299 layers" in str(exc.value) and "at most 1024" in str(exc.value)
    walk = get_preset("cspdensenet_walkthrough")     # 427 layers, 96 of them slices beyond equal halves
    monkeypatch.setattr(darknet, "MAX_LAYERS", 400)
    with pytest.raises(ConfigError) as exc:
        cfg_from_config(walk)
    assert exc.value.field == "split_ratio" and "427 layers, 96 more than equal halves" in str(exc.value)
    monkeypatch.setattr(darknet, "MAX_LAYERS", 300)
    with pytest.raises(ConfigError) as exc:
        cfg_from_config(walk)
    assert exc.value.field == "format"


def test_real_model_of_an_uneven_split_export_slices_as_the_design():
    torch = pytest.importorskip("torch")
    from explorer.io.darknet_torch import build_model, count_params

    # 31 channels (prime) into 16 + 15 in every stage, part 1 pooled before part 2 (fusion last)
    cfg = apply_overrides(get_preset("cspdensenet121_fusion_last"),
                          ["input_size=64", "growth_rate=8", "repeats=2,2,2,3", "stem_channels=31"])
    net = parse_cfg(cfg_from_config(cfg))
    model = build_model(net)
    assert count_params(model) == plan_network(cfg).params + extra_biases(cfg)
    outs = {}
    for i, layer in enumerate(model.layers):
        layer.register_forward_hook(lambda m, a, y, i=i: outs.__setitem__(i, y))
    with torch.no_grad():
        y = model(torch.randn(2, 3, 64, 64))
    assert tuple(y.shape) == (2, cfg.num_classes, 1, 1) and torch.allclose(y.sum((1, 2, 3)), torch.ones(2))
    for info in net.stages:
        if not info.roles:
            continue
        x = outs[net.layers[info.roles["split"][0]].inputs[0]]
        p1, p2 = outs[info.roles["part1_slice"][0]], outs[info.roles["part2"][0]]
        assert (p1.shape[1], p2.shape[1]) == (16, 15)
        assert torch.equal(p1, x[:, :16]) and torch.equal(p2, x[:, 16:])     # the slices are the channels


# --------------------------------------------------------------------------- CSPNeXt's channel attention
def test_channel_attention_exports_as_scale_channels_with_logistic_and_a_note():
    cfg = get_preset("cspnext_tiny")
    text = cfg_from_config(cfg)
    header = text.split("[net]")[0]
    assert ATTENTION_NOTE in header and "hard sigmoid" in header and "logistic" in header
    assert ATTENTION_NOTE not in cfg_from_config(get_preset("cs3sedarknet_l"))      # SE's sigmoid is logistic
    # one trio per stage: global pool, biased 1x1 conv C -> C with logistic, scale from the concat
    assert text.count("[scale_channels]") == 4
    assert "[avgpool]\n\n[convolutional]\nfilters=48\nsize=1\nstride=1\npad=1\nactivation=logistic\n\n" \
           "[scale_channels]\nfrom=-3\nactivation=linear" in text
    net = parse_cfg(text)
    for info in net.stages[1:5]:
        post, cat = info.roles["post"], info.roles["concat"][0]
        assert [net.layers[j].kind for j in post] == ["avgpool", "conv", "scale_channels"]
        assert post[0] == cat + 1 and net.layers[post[-1]].inputs[1] == cat
        assert net.layers[post[0]].attrs["squeeze"]                       # a mean, as the design's
        assert info.roles["transition"] == [post[-1] + 1]                  # the transition after it
        assert net.layers[post[-1]].out_shape == plan_network(cfg).stage(info.name).taps["post"]


def test_real_model_of_the_cspnext_tiny_export():
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    from explorer.io.darknet_torch import build_model, count_params

    cfg = get_preset("cspnext_tiny", input_size=64)
    net = parse_cfg(cfg_from_config(cfg))
    model = build_model(net)
    assert count_params(model) == net.plan.params == plan_network(cfg).params == 2_733_700
    with FlopCounterMode(display=False) as fc, torch.no_grad():
        y = model(torch.randn(2, 3, 64, 64))
    assert tuple(y.shape) == (2, 1000, 1, 1) and torch.allclose(y.sum((1, 2, 3)), torch.ones(2))
    assert fc.get_total_flops() == 2 * 2 * count(plan_network(cfg), "macs")      # batch 2
    gates = [m for i, m in enumerate(model.layers) if net.layers[i].kind == "conv"
             and net.layers[i].attrs["activation"] == "logistic"]
    assert len(gates) == 4 and all(isinstance(g.act, torch.nn.Sigmoid) for g in gates)


# --------------------------------------------------------------------------- written from the plan's graph
def _sections(text: str) -> list:
    """(name, {key: value}) per layer section of a cfg written here ([net] left out)."""
    out = []
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if line and not line.startswith("#")]
        if lines and lines[0].startswith("[") and lines[0] != "[net]":
            out.append((lines[0].strip("[]"), dict(line.split("=", 1) for line in lines[1:])))
    return out


@pytest.mark.parametrize("name", EXPORTED)
def test_every_op_of_the_graph_is_written_as_its_darknet_layer(name):
    """The writer walks the plan's ops: each conv one [convolutional] (its BN and activation folded in or
    written on their own), each add one [shortcut], each gate product one [scale_channels], each pool and
    linear its layer; every BN and every activation of the graph is in the file exactly once."""
    cfg = get_preset(name)
    ops = list(plan_network(cfg).ops)
    kinds = {}
    for op in ops:
        kinds[op.kind] = kinds.get(op.kind, 0) + 1
    layers = _sections(cfg_from_config(cfg))
    n = {k: sum(1 for s, _ in layers if s == k) for k in {s for s, _ in layers}}
    assert n.get("convolutional", 0) == kinds.get("conv", 0)
    assert n.get("shortcut", 0) == kinds.get("add", 0) and n.get("scale_channels", 0) == kinds.get("mul", 0)
    assert n.get("maxpool", 0) == kinds.get("maxpool", 0) and n.get("local_avgpool", 0) == kinds.get("avgpool", 0)
    assert n.get("avgpool", 0) == kinds.get("mean", 0) + kinds.get("gap", 0)
    assert n["connected"] == kinds["linear"] == 1 and n["softmax"] == 1 and layers[-1][0] == "softmax"
    folded_bn = sum(1 for s, o in layers if s == "convolutional" and o.get("batch_normalize") == "1")
    assert n.get("batchnorm", 0) + folded_bn == kinds.get("bn", 0)
    acted = sum(1 for s, o in layers if s in ("convolutional", "shortcut") and o["activation"] != "linear")
    assert n.get("activation", 0) + acted == kinds.get("act", 0)


def test_the_writer_reads_the_graph_not_the_families_layouts():
    """No second description of a stage's wiring: the writer imports nothing of cspnet.families (their
    layouts, stems, blocks) and reads the plan's ops (cspnet.plan)."""
    import ast
    import inspect

    import explorer.io.darknet_export as writer

    tree = ast.parse(inspect.getsource(writer))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | \
        {a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names}
    assert "cspnet.plan" in imported and not any(m and m.startswith("cspnet.families") for m in imported)
    names = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)} | \
        {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"layouts", "StageLayout", "stem_layers", "all_stage_channels", "get_family"}


def test_a_part_read_only_by_its_own_op_is_written_before_the_next_part():
    """Fusion last on a dense network: part 1's own 2x2 pool comes after the block in the plan, but right
    after part 1's slice in the cfg (the importer reads part 1 as the layers before part 2's route)."""
    cfg = get_preset("cspdensenet121_fusion_last", input_size=64)
    layers = _sections(cfg_from_config(cfg))
    first = next(k for k, (s, o) in enumerate(layers) if s == "route" and o.get("group_id") == "0")
    assert [s for s, _ in layers[first:first + 3]] == ["route", "local_avgpool", "route"]
    assert layers[first + 2][1]["group_id"] == "1" and layers[first + 2][1]["layers"] == "-3"


@pytest.mark.parametrize("name", ["yolov8n", "yolo11n", "yolov5nu"])
def test_a_detector_is_refused_with_where_it_goes_instead(name):
    with pytest.raises(ConfigError) as exc:
        cfg_from_config(get_preset(name))
    assert exc.value.field == "format"
    msg = str(exc.value)
    assert "Detect head" in msg and "--format ultralytics" in msg and "task=classify" in msg
