"""Darknet cfg export (explorer.io.darknet_export): every preset that exports round-trips through the importer
(explorer.io.darknet.parse_cfg) to the design's parameters, its count in every counting convention and its stage
tap shapes; what Darknet has no layer for is refused with one clear error; the importer's additions
([batchnorm], [activation], [local_avgpool], sliced CSP splits) and the CLI's `export` command.

Analytic only, but for two small real models (darknet_torch)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from cspnet import all_presets, get_preset, plan_network
from cspnet.errors import ConfigError
from explorer.counts.conventions import REGISTRY, count
from explorer.design.text import apply_overrides
from explorer.io.darknet import _fusion, parse_cfg
from explorer.io.darknet_export import cfg_from_config, extra_biases

# presets Darknet cannot express, and the field their error names
REFUSED = {
    **{f"yolo11{k}_cls": "format" for k in "nsmlx"},                                          # psa: attention
    **{f"cspnext_{k}": "format" for k in ("tiny", "s", "m", "l", "x")},                       # channel attention
    # split into unequal parts (odd widths, split_ratio 0.75): Darknet's route groups halve evenly
    **{n: "split_ratio" for n in ("cspdensenet121_fusion_last", "cspdensenet169_fusion_last",
                                  "cspdensenet201_fusion_last", "cspdensenet_walkthrough", "csppeleenet_gamma025",
                                  "csppeleenet_fusion_last_gamma025")},
}
EXPORTED = [n for n in all_presets() if n not in REFUSED]

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


def _key(stage):
    return stage.taps.get("input"), stage.taps["output"], stage.macs


def _expected_fusion(stage) -> str:
    """The label the importer gives a stage from its structure (the design's fusion, less what its last
    stage leaves out: DenseNet's last stage has no transition)."""
    if stage.fusion in ("none", "fusion_last"):
        return stage.fusion
    taps = stage.taps
    return _fusion({"partial_transition": "partial_transition" in taps, "transition": "transition" in taps})


def check_round_trip(cfg, other_cut=frozenset(), labels=True):
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
            assert got.fusion == _expected_fusion(stage) or not labels, stage.name
        assert {t: got.taps[t] for t in shared} == {t: stage.taps[t] for t in shared}, stage.name
    return net


@pytest.mark.parametrize("name", EXPORTED)
def test_every_exportable_preset_round_trips(name):
    cfg = get_preset(name)
    check_round_trip(cfg, OTHER_CUT.get(cfg.family, set()))
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


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_presets_name_the_field(name):
    with pytest.raises(ConfigError) as exc:
        cfg_from_config(get_preset(name))
    assert exc.value.field == REFUSED[name]
    msg = str(exc.value)
    if REFUSED[name] == "format":
        assert "has no Darknet layer" in msg and "exportable to a Darknet cfg" in msg
        assert any(w in msg for w in ("squeeze-and-excitation", "attention"))
    else:
        assert "groups=2 halves evenly" in msg


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
])
def test_custom_designs_round_trip(name, sets):
    cfg = apply_overrides(get_preset(name), sets)
    # CSPNeXt's last stage has no residual add: its last block ends in a 1x1 conv, which reads as a partial
    # transition (the stage imports as csp, not fusion_first)
    check_round_trip(cfg, OTHER_CUT.get(cfg.family, set()), labels=name != "cspnext_s")


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
    (("export", "cspresnet50", "--format", "darknet", "--set", "split_ratio=0.3"), "error: split_ratio: "),
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
