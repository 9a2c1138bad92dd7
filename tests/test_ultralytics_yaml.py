"""Ultralytics model YAML import and export (explorer/io/ultralytics.py): presets exact, round trips,
errors that name the layer, hostile files (hypothesis)."""
from __future__ import annotations

import subprocess
import sys

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cspnet import ConfigError, CSPConfig, get_preset, plan_network
from cspnet.config import MAX_PARAMS
from cspnet.families.lineage import REFERENCE_PARAMS
from explorer.io.ultralytics import (
    MAX_YAML_CHARS,
    SUPPORTED_MODULES,
    config_from_yaml,
    load_yaml,
    scale_from_filename,
    yaml_from_config,
)

LETTERS = "nsmlx"
LINEAGE_PRESETS = [f"{fam}{k}_cls" for fam in ("yolov5", "yolov8", "yolo11") for k in LETTERS]

# YAMLs written for these tests in the structure of Ultralytics' cfg/models files (not copies of them)
V8_CLS = """\
# a YOLOv8 classification model, Ultralytics' layout
nc: 1000 # classes
scales: # [depth, width, max_channels]
  n: [0.33, 0.25, 1024]
  s: [0.33, 0.50, 1024]
  m: [0.67, 0.75, 1024]
  l: [1.00, 1.00, 1024]
  x: [1.00, 1.25, 1024]

backbone:
  # [from, repeats, module, args]
  - [-1, 1, Conv, [64, 3, 2]] # 0-P1/2
  - [-1, 1, Conv, [128, 3, 2]] # 1-P2/4
  - [-1, 3, C2f, [128, True]]
  - [-1, 1, Conv, [256, 3, 2]] # 3-P3/8
  - [-1, 6, C2f, [256, True]]
  - [-1, 1, Conv, [512, 3, 2]] # 5-P4/16
  - [-1, 6, C2f, [512, True]]
  - [-1, 1, Conv, [1024, 3, 2]] # 7-P5/32
  - [-1, 3, C2f, [1024, True]]

head:
  - [-1, 1, Classify, [nc]]
"""

V11_CLS = """\
nc: 1000
scales:
  n: [0.50, 0.25, 1024]
  s: [0.50, 0.50, 1024]
  m: [0.50, 1.00, 512]
  l: [1.00, 1.00, 512]
  x: [1.00, 1.50, 512]
backbone:
  - [-1, 1, Conv, [64, 3, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
  - [-1, 2, C3k2, [256, False, 0.25]]
  - [-1, 1, Conv, [256, 3, 2]]
  - [-1, 2, C3k2, [512, False, 0.25]]
  - [-1, 1, Conv, [512, 3, 2]]
  - [-1, 2, C3k2, [512, True]]
  - [-1, 1, Conv, [1024, 3, 2]]
  - [-1, 2, C3k2, [1024, True]]
  - [-1, 2, C2PSA, [1024]]
head:
  - [-1, 1, Classify, [nc]]
"""

V5_STYLE = """\
nc: 1000
depth_multiple: {d}
width_multiple: {w}
backbone:
  [[-1, 1, Conv, [64, 6, 2, 2]],
   [-1, 1, Conv, [128, 3, 2]],
   [-1, 3, C3, [128]],
   [-1, 1, Conv, [256, 3, 2]],
   [-1, 6, C3, [256]],
   [-1, 1, Conv, [512, 3, 2]],
   [-1, 9, C3, [512]],
   [-1, 1, Conv, [1024, 3, 2]],
   [-1, 3, C3, [1024]],
  ]
head:
  [[-1, 1, Classify, [nc]]]
"""
V5_SCALES = {"n": (0.33, 0.25), "s": (0.33, 0.50), "m": (0.67, 0.75), "l": (1.0, 1.0), "x": (1.33, 1.25)}

V8_DETECT = V8_CLS.replace("""head:
  - [-1, 1, Classify, [nc]]
""", """  - [-1, 1, SPPF, [1024, 5]]
head:
  - [-1, 1, nn.Upsample, [None, 2, "nearest"]]
  - [[-1, 6], 1, Concat, [1]]
  - [-1, 3, C2f, [512]]
  - [[15, 18, 21], 1, Detect, [nc]]
""")


def _same_plan(a: CSPConfig, b: CSPConfig, input_size: int | None = None):
    """Identical params, every op kind's totals (so every counting convention) and every stage's taps."""
    pa, pb = plan_network(a, input_size=input_size), plan_network(b, input_size=input_size)
    assert pa.params == pb.params and pa.macs == pb.macs
    assert pa.by_kind == pb.by_kind
    assert [(s.name, s.taps, s.by_kind) for s in pa.stages] == [(s.name, s.taps, s.by_kind) for s in pb.stages]


def _refused(text, *words, scale=None, field="yaml"):
    with pytest.raises(ConfigError) as exc:
        config_from_yaml(text, scale=scale)
    assert exc.value.field == field
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))
    return str(exc.value)


# --------------------------------------------------------------------------- import: the presets, exactly
@pytest.mark.parametrize("k", LETTERS)
def test_yolov8_cls_yaml_is_the_preset(k):
    cfg = config_from_yaml(V8_CLS, scale=k)
    preset = get_preset(f"yolov8{k}_cls")
    assert cfg.family == "yolov8" and cfg.replace(name=preset.name) == preset
    assert plan_network(cfg).params == REFERENCE_PARAMS[f"yolov8{k}_cls"]


@pytest.mark.parametrize("k", LETTERS)
def test_yolo11_cls_yaml_is_the_preset(k):
    """C3k2's c3k is forced on at scales m, l and x, as Ultralytics' parse_model does."""
    cfg = config_from_yaml(V11_CLS, scale=k)
    preset = get_preset(f"yolo11{k}_cls")
    assert cfg.family == "yolo11" and cfg.replace(name=preset.name) == preset
    assert plan_network(cfg).params == REFERENCE_PARAMS[f"yolo11{k}_cls"]
    assert cfg.block_type[:2] == (("c3k",) * 2 if k in "mlx" else ("bottleneck_3x3",) * 2)


@pytest.mark.parametrize("k", LETTERS)
def test_yolov5_style_yaml_is_the_preset(k):
    d, w = V5_SCALES[k]
    cfg = config_from_yaml(V5_STYLE.format(d=d, w=w))
    preset = get_preset(f"yolov5{k}_cls")
    assert cfg.family == "yolov5" and cfg.max_channels == 0 and cfg.replace(name=preset.name) == preset
    assert plan_network(cfg).params == REFERENCE_PARAMS[f"yolov5{k}_cls"]


def test_scale_selection():
    assert config_from_yaml(V8_CLS).width_multiple == 0.25                     # the first scale, as Ultralytics
    assert config_from_yaml(V8_CLS, scale="x").width_multiple == 1.25
    assert config_from_yaml("scale: m\n" + V8_CLS).width_multiple == 0.75      # the YAML's own scale key
    assert config_from_yaml("scale: m\n" + V8_CLS, scale="s").width_multiple == 0.5   # the argument wins
    assert config_from_yaml(V8_CLS, scale="s", name="mine").name == "mine"
    _refused(V8_CLS, "scale 'q'", "n, s, m, l, x", scale="q")
    _refused(V5_STYLE.format(d=0.33, w=0.5), "no 'scales'", scale="s")
    assert scale_from_filename("/a/yolov8s-cls.yaml") == "s" and scale_from_filename("yolo11x.yaml") == "x"
    assert scale_from_filename("my.yaml") is None


def test_load_yaml_guesses_the_scale_from_the_file_name(tmp_path):
    p = tmp_path / "yolo11m-cls.yaml"
    p.write_text(V11_CLS)
    cfg = load_yaml(str(p))
    assert cfg.replace(name="yolo11m_cls") == get_preset("yolo11m_cls") and "scale m" in cfg.name
    q = tmp_path / "yolov5s.yaml"   # a guessed scale the YAML has no scales for: its own multiples
    q.write_text(V5_STYLE.format(d=0.33, w=0.5))
    assert plan_network(load_yaml(str(q))).params == REFERENCE_PARAMS["yolov5s_cls"]
    assert load_yaml(str(p), scale="n").width_multiple == 0.25


def test_supported_modules_and_options():
    assert set(SUPPORTED_MODULES) == {"Conv", "C3", "C2f", "C3k2", "C2PSA", "Classify"}
    relu = config_from_yaml("activation: nn.ReLU()\n" + V8_CLS)
    assert relu.activation == "relu"
    ten = config_from_yaml(V8_CLS.replace("nc: 1000", "nc: 10"))
    assert ten.num_classes == 10
    plain = config_from_yaml(V8_CLS.replace("[128, True]", "[128]"))     # C2f's shortcut defaults to False
    assert plain.residual[0] is False and plain.residual[1] is True
    v5 = config_from_yaml(V5_STYLE.format(d=1, w=1).replace("[-1, 3, C3, [128]]", "[-1, 3, C3, [128, False]]"))
    assert v5.residual == (False, True, True, True)


# --------------------------------------------------------------------------- export and round trips
@pytest.mark.parametrize("name", LINEAGE_PRESETS)
def test_every_cls_preset_round_trips(name):
    cfg = get_preset(name)
    text = yaml_from_config(cfg)
    back = config_from_yaml(text)
    assert back.replace(name=name) == cfg
    _same_plan(cfg, back)
    assert "Classify, [nc]" in text and f"nc: {cfg.num_classes}" in text


@pytest.mark.parametrize("name", LINEAGE_PRESETS)
def test_every_cls_export_is_checked_exact(name):
    """yaml_from_config runs the one export check (explorer.io.check) and is allowed no difference."""
    from explorer.io.ultralytics import export_yaml

    text, result = export_yaml(get_preset(name))
    assert result.exact and result.read_otherwise == [] and text == yaml_from_config(get_preset(name))
    assert result.summary().startswith("checked: the Ultralytics YAML reads back as the design (the same dataflow")


def _custom(base: str, **changes) -> CSPConfig:
    return get_preset(base).replace(name="custom", **changes)


CUSTOM = [
    _custom("yolov8n_cls", widths=(96, 192, 384, 768), repeats=(2, 4, 4, 2)),
    _custom("yolov8s_cls", residual=(True, False, True, False), num_classes=37, activation="relu"),
    _custom("yolov8n_cls", strides=(2, 1, 2, 2), stem_type="two_3x3"),
    _custom("yolov8n_cls", expand_ratio=(1.0, 0.5, 1.5, 1.0), input_size=256),
    _custom("yolov8m_cls", block_type=("bottleneck_3x3", "bottleneck_3x3", "c3k", "c3k"),
            bottle_ratio=(1.0, 1.0, 0.5, 0.5), stem_type="three_3x3"),
    _custom("yolo11n_cls", block_type=("c3k", "bottleneck_3x3", "c3k", "bottleneck_3x3", "psa")),
    _custom("yolo11m_cls", block_type=("bottleneck_3x3",) * 4 + ("psa",)),   # c3k off at an m design
    _custom("yolo11s_cls", max_channels=0, down_widths=(64, 128, 256, 512, 0), stem_type="yolov7"),
    _custom("yolo11n_cls", repeats=(1, 3, 5, 2, 4), depth_multiple=0.67, width_multiple=0.5),
    _custom("yolov5s_cls", widths=(64, 128, 256, 512), repeats=(1, 2, 3, 1), stem_type="conv_3x3",
            activation="mish"),
    _custom("yolov5n_cls", max_channels=256, expand_ratio=0.5),
    _custom("yolov5m_cls", strides=(2, 2, 2, 1), activation="leaky_relu"),
]


@pytest.mark.parametrize("cfg", CUSTOM, ids=range(len(CUSTOM)))
def test_custom_designs_round_trip(cfg):
    text = yaml_from_config(cfg)
    back = config_from_yaml(text)
    _same_plan(cfg, back, input_size=cfg.input_size)
    _same_plan(cfg.replace(input_size=224), back)
    assert back.activation == cfg.activation and back.num_classes == cfg.num_classes


@pytest.mark.parametrize("family", ["densenet", "resnet", "resnext", "darknet", "peleenet", "cs3darknet", "cspnext",
                                    "yolov7", "yolov4csp"])
def test_families_without_ultralytics_blocks_are_refused(family):
    from cspnet.families import get_family

    cfg = CSPConfig(family=family, **get_family(family).defaults)
    with pytest.raises(ConfigError) as exc:
        yaml_from_config(cfg)
    assert exc.value.field == "format"
    msg = str(exc.value)
    assert f"the {family} family" in msg and "Darknet cfg" in msg and "yolov5, yolov8, yolo11" in msg


@pytest.mark.parametrize("changes, words", [
    (dict(fusion="fusion_last"), ["fusion fusion_last", "fusion first"]),
    (dict(fusion="csp"), ["fusion csp"]),
    (dict(fusion="none"), ["fusion none"]),
    (dict(split_ratio=0.25), ["split_ratio 0.25"]),
    (dict(stem_type="yolov4"), ["stem_type yolov4"]),
    (dict(taps="last"), ["stage 0", "no Ultralytics module", "C2f ="]),
    (dict(bottle_ratio=0.75), ["stage 0", "bottle_ratio 0.75"]),
    (dict(block_type="cspnext"), ["block_type cspnext"]),
    (dict(post_concat="attention"), ["post_concat attention"]),
    (dict(block_type="dark", se_ratio=0.25), ["se_ratio 0.25"]),
    (dict(split_convs="slice"), ["split_convs slice"]),
    (dict(num_classes=128), ["num_classes 128", "unscaled"]),
])
def test_what_ultralytics_cannot_express_is_refused(changes, words):
    cfg = get_preset("yolov8n_cls").replace(**changes)
    with pytest.raises(ConfigError) as exc:
        yaml_from_config(cfg)
    assert exc.value.field == "format"
    for w in words:
        assert w in str(exc.value), (w, str(exc.value))


def test_an_export_that_would_not_round_trip_is_refused():
    """C2PSA needs >= 64 hidden channels (Ultralytics' c // 64 heads; the design gives 32 channels 1 head) and
    its input width equal to its output width (Ultralytics asserts it; the design has a 1x1 expand)."""
    cfg = get_preset("yolo11n_cls").replace(expand_ratio=(0.5, 0.5, 1.0, 1.0, 0.25))
    with pytest.raises(ConfigError) as exc:
        yaml_from_config(cfg)
    assert exc.value.field == "format" and "layer 9 (backbone[9], C2PSA)" in str(exc.value)
    assert "attention heads" in str(exc.value)
    cfg = get_preset("yolo11n_cls").replace(widths=(256, 512, 512, 1024, 256))
    with pytest.raises(ConfigError) as exc:
        yaml_from_config(cfg)
    assert exc.value.field == "format" and "c1 == c2" in str(exc.value)


EXPORTABLE_STAGE = st.sampled_from([("C2f", "bottleneck_3x3", "all", 1.0), ("C3k2", "bottleneck_3x3", "all", 0.5),
                                    ("C3k2", "c3k", "all", 0.5), ("C2PSA", "psa", "last", 0.5)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_random_exportable_designs_round_trip(data):
    """Random yolov8/yolo11/yolov5 designs: export either refuses with field 'format' or round-trips exactly."""
    n = data.draw(st.integers(1, 5))
    c3 = data.draw(st.booleans())
    stages = [("C3", "dark", "last", 1.0)] * n if c3 else [data.draw(EXPORTABLE_STAGE) for _ in range(n)]
    fields = dict(
        family=data.draw(st.sampled_from(["yolov5", "yolov8", "yolo11"])), fusion="fusion_first",
        widths=tuple(data.draw(st.sampled_from([64, 128, 192, 256, 512])) for _ in range(n)),
        repeats=tuple(data.draw(st.integers(1, 6)) for _ in range(n)),
        strides=tuple(data.draw(st.sampled_from([1, 2, 2])) for _ in range(n)),
        expand_ratio=tuple(data.draw(st.sampled_from([0.5, 1.0, 1.5])) for _ in range(n)),
        block_type=tuple(s[1] for s in stages), taps=tuple(s[2] for s in stages),
        bottle_ratio=tuple(s[3] for s in stages), split_convs="two" if c3 else "one",
        residual=tuple(True if s[0] in ("C3k2", "C2PSA") else data.draw(st.booleans()) for s in stages),
        stem_type=data.draw(st.sampled_from(["conv_3x3", "focus_6x6", "two_3x3", "three_3x3", "yolov7"])),
        width_multiple=data.draw(st.sampled_from([0.25, 0.5, 0.75, 1.0, 1.25])),
        depth_multiple=data.draw(st.sampled_from([0.33, 0.5, 0.67, 1.0])),
        max_channels=data.draw(st.sampled_from([0, 256, 512, 1024])),
        num_classes=data.draw(st.sampled_from([10, 100, 1000])), activation="silu", input_size=64)
    try:
        cfg = CSPConfig(**fields)
    except ConfigError:
        assume(False)
    try:
        text = yaml_from_config(cfg)
    except ConfigError as exc:
        assert exc.field == "format", exc
        return
    _same_plan(cfg, config_from_yaml(text), input_size=64)


# --------------------------------------------------------------------------- errors name the layer
def test_detection_yamls_are_refused_with_the_head_named():
    msg = _refused(V8_DETECT, "layer 13 (head[3], Detect)", "detection heads are not analysed", "-cls YAML")
    assert "Classify" in msg
    neck = V8_DETECT.replace("  - [[15, 18, 21], 1, Detect, [nc]]\n", "  - [-1, 1, Classify, [nc]]\n")
    _refused(neck, "layer 10 (head[0], nn.Upsample)", "detection neck")
    _refused("anchors: 3\n" + V8_CLS, "key 'anchors'", "detection heads are not analysed")


def test_sppf_and_unknown_modules_are_refused_with_the_layer_named():
    sppf = V8_CLS.replace("head:", "  - [-1, 1, SPPF, [1024, 5]]\nhead:")
    _refused(sppf, "layer 9 (backbone[9], SPPF)", "not in the stage abstraction", "SPP bottleneck")
    _refused(V8_CLS.replace("[-1, 6, C2f, [512, True]]", "[-1, 6, MyBlock, [512]]"),
             "layer 6 (backbone[6], MyBlock)", "supported: Conv, C3, C2f, C3k2, C2PSA, Classify")
    _refused(V8_CLS.replace("[-1, 6, C2f, [512, True]]", "[-1, 6, BottleneckCSP, [512]]"), "layer 6", "yolov4csp")


@pytest.mark.parametrize("old, new, words", [
    ("nc: 1000 # classes", "nc: -3", ["key 'nc'", "-3"]),
    ("nc: 1000 # classes", "nc: 7.5", ["key 'nc'"]),
    ("nc: 1000 # classes", "", ["key 'nc'", "None"]),
    ("  n: [0.33, 0.25, 1024]", "  n: [0.33, 0.25]", ["scales.n", "[depth, width, max_channels]"]),
    ("  n: [0.33, 0.25, 1024]", "  n: [0.33, 9.0, 1024]", ["scales.n width", "(0, 4]"]),
    ("  n: [0.33, 0.25, 1024]", "  n: [0.33, 0.25, 1e400]", ["scales.n max_channels"]),
    ("[-1, 3, C2f, [128, True]]", "[-1, 3, C2f, [128, True, 2]]", ["layer 2 (backbone[2], C2f)", "groups"]),
    ("[-1, 3, C2f, [128, True]]", "[-1, 3, C2f, [128, yes_please]]", ["layer 2", "args[1]", "yes_please"]),
    ("[-1, 3, C2f, [128, True]]", "[-1, 3, C2f, [\"__import__('os')\"]]", ["layer 2", "args[0]"]),
    ("[-1, 3, C2f, [128, True]]", "[-1, 3, C2f, [128, True, 1, 0.5, 9]]", ["layer 2", "at most 4"]),
    ("[-1, 3, C2f, [128, True]]", "[-1, 3, C2f, [99999, True]]", ["layer 2", "output channels", "1 to 8192"]),
    ("[-1, 3, C2f, [128, True]]", "[-1, 999, C2f, [128, True]]", ["layer 2", "repeats 999", "1 to 64"]),
    ("[-1, 3, C2f, [128, True]]", "[-2, 3, C2f, [128, True]]", ["layer 2", "from -2"]),
    ("[-1, 3, C2f, [128, True]]", "[-1, 3, C2f, 128]", ["layer 2", "args 128"]),
    ("[-1, 3, C2f, [128, True]]", "[-1, 3, C2f]", ["layer 2 (backbone[2])", "[from, repeats, module, args]"]),
    ("[-1, 3, C2f, [128, True]]", "[-1, 3, C3, [128]]", ["layer 4 (backbone[4], C2f)", "one split_convs"]),
    ("[-1, 1, Conv, [256, 3, 2]]", "[-1, 1, Conv, [256, 3, 1]]", ["layer 3 (backbone[3], Conv)", "Conv [c, 3, 2]"]),
    ("[-1, 1, Conv, [256, 3, 2]]", "[-1, 2, Conv, [256, 3, 2]]", ["layer 3", "repeats 2"]),
    ("[-1, 1, Conv, [64, 3, 2]]", "[-1, 1, Conv, [48, 5, 2]]", ["layer 0 (backbone[0], Conv)", "none of the lineage "
                                                                 "stems", "conv_3x3 = Conv [64, 3, 2]"]),
    ("[-1, 6, C2f, [512, True]]", "[-1, 6, C2f, [512, True, 1, 0.3]]", ["layer 6", "not representable"]),
    ("  - [-1, 1, Classify, [nc]]", "  - [-1, 1, Classify, [nc, 3]]", ["Classify", "at most 1"]),
    ("  - [-1, 1, Classify, [nc]]", "  - [-1, 1, Conv, [nc]]", ["layer 9 (head[0], Conv)", "Classify [nc]"]),
    ("head:\n  - [-1, 1, Classify, [nc]]\n", "", ["key 'head'", "missing"]),
    ("backbone:", "backbone: 7\nx:", ["key 'x'", "allowed keys"]),
])
def test_errors_name_the_layer_or_key(old, new, words):
    assert old in V8_CLS
    _refused(V8_CLS.replace(old, new), *words)


def test_more_refusals():
    _refused(V11_CLS.replace("[-1, 2, C2PSA, [1024]]", "[-1, 2, C2PSA, [512]]"), "layer 9 (backbone[9], C2PSA)",
             "c1 == c2", scale="n")
    _refused(V11_CLS.replace("[-1, 2, C2PSA, [1024]]", "[-1, 2, C2PSA, [1024, 0.125]]"), "layer 9",
             "attention heads")
    _refused(V8_CLS.replace("nc: 1000", "nc: 256"), "layer 3 (backbone[3], Conv)", "equal nc", "unscaled")
    _refused("activation: os.system('x')\n" + V8_CLS, "key 'activation'", "never evaluated")
    _refused("channels: 1\n" + V8_CLS, "key 'channels'")
    _refused("depth_multiple: 0.5\n" + V8_CLS, "keys 'scales' and 'depth_multiple'")
    _refused(V8_CLS.replace("  - [-1, 1, Classify, [nc]]", "  - [-1, 1, Classify, [nc]]\n  - [-1, 1, Classify, [nc]]"),
             "layer 9", "last layer")
    _refused(V5_STYLE.format(d=0.33, w=0.0), "width_multiple")
    _refused(V8_CLS.replace("  - [-1, 1, Conv, [128, 3, 2]] # 1-P2/4\n", "  - [-1, 1, Conv, [128, 3, 2]]\n" * 30),
             "39 layers (backbone and head); this importer reads at most 32")
    big = V8_CLS.replace("[1024, True]]", "[1024, True]]\n" + "  - [-1, 3, C2f, [1024, True]]\n" * 8)
    _refused(big, "more than 8 stages")
    huge = V5_STYLE.format(d=4, w=4).replace("[1024]", "[8192]").replace("[1024, 3, 2]", "[8192, 3, 2]")
    _refused(huge.replace("3, C3, [8192]", "64, C3, [8192]"), "the design it describes is refused", "design:")


# --------------------------------------------------------------------------- hostile files
def _only_yaml_error(text, scale=None):
    """A ConfigError naming the field yaml or a design within the limits (how fast: benchmarks/timing_bounds.py)."""
    try:
        cfg = config_from_yaml(text, scale=scale)
    except ConfigError as exc:
        assert exc.field == "yaml", exc
        assert len(str(exc)) < 1200
    else:
        assert isinstance(cfg, CSPConfig) and plan_network(cfg).params <= MAX_PARAMS


# hostile texts that must be refused or read within the limits (benchmarks/timing_bounds.py times them too)
HOSTILE = ("- " * 20000 + "x", "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 300)),
           "nc: " + "9" * 6000, "!!python/object/apply:os.system ['echo hi']", "nc: !!binary aGk=",
           "? [a, b]\n: 1", "%YAML 9.9\n---\nnc: 1", "\x00\x01", "", "---\n...\n", "123", "- a\n- b",
           "nc: .nan\n" + V8_CLS.split("\n", 2)[2], "nc: 2001-12-14\n",
           # a billion laughs: 9 * 4^20 items if aliases were expanded
           "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
               f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
               for i in range(20)) + "backbone: *u\nhead: *u\nnc: 5\n",
           V8_CLS.replace("backbone:", "x: &big [" + ", ".join(["*y"] * 5) + "]\nbackbone:"))


def test_hostile_texts_are_refused():
    _refused("a" * (MAX_YAML_CHARS + 1), "allowed at most 65,536")
    _refused(b"nc: 10\n" + b"\xff" * 10, "not UTF-8")
    _refused("[" * 5000 + "]" * 5000, "nested deeper than 16")
    _refused("{" * 40, "nested deeper")
    for text in HOSTILE:
        _only_yaml_error(text)


VALID = [V8_CLS, V11_CLS, V5_STYLE.format(d=0.33, w=0.5), yaml_from_config(get_preset("yolo11s_cls"))]
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.sampled_from(VALID), st.integers(0, 10_000))
def test_fuzz_truncated_files(text, cut):
    _only_yaml_error(text[:cut % (len(text) + 1)])


@FUZZ
@given(st.one_of(st.text(max_size=2000), st.binary(max_size=2000),
                 st.text(alphabet="[]{}-:,#&*!|>'\" \n0123456789.eEnbackoCvf2Ssify", max_size=2000)))
def test_fuzz_random_junk(text):
    _only_yaml_error(text)


JUNK = st.one_of(st.integers(-10**40, 10**40), st.floats(allow_nan=True, allow_infinity=True), st.none(),
                 st.booleans(), st.sampled_from(["nc", "None", "True", "nn.ReLU()", "x" * 500, "", "Conv", "C2PSA"]),
                 st.integers(0, 9000), st.sampled_from([0.0, 0.25, 0.5, 3.9, 4.0, 4.5, -1]),
                 st.lists(st.integers(-3, 70), max_size=5), st.dictionaries(st.text(max_size=3), st.integers()),
                 st.text(max_size=12))


@FUZZ
@given(st.sampled_from(VALID), st.data())
def test_fuzz_mutated_values(text, data):
    """Well-formed YAML with random values (huge numbers, wrong types, junk) in layers, args and top-level keys."""
    import yaml

    doc = yaml.safe_load(text)
    layers = doc["backbone"] + doc["head"]
    for _ in range(data.draw(st.integers(1, 4))):
        where = data.draw(st.sampled_from(["layer", "arg", "arg", "key", "scale"]))
        if where in ("layer", "arg"):
            row = layers[data.draw(st.integers(0, len(layers) - 1))]
            if where == "arg":
                args = row[3] if len(row) > 3 else None
                if isinstance(args, list):
                    k = data.draw(st.integers(0, len(args)))
                    args[k:k + 1] = [data.draw(JUNK)]
                elif isinstance(row, list) and len(row) > 3:   # an earlier draw replaced the args themselves
                    row[3] = data.draw(JUNK)
            else:
                row[data.draw(st.integers(0, 3))] = data.draw(JUNK)
        elif where == "key":
            doc[data.draw(st.sampled_from(["nc", "depth_multiple", "width_multiple", "activation", "channels",
                                           "scale", "backbone"]))] = data.draw(JUNK)
        elif "scales" in doc:
            row = doc["scales"][data.draw(st.sampled_from(list(doc["scales"])))]
            row[data.draw(st.integers(0, 2))] = data.draw(JUNK)
    try:
        mutated = yaml.safe_dump(doc, default_flow_style=None)
    except (yaml.YAMLError, ValueError, OverflowError):
        return
    if len(mutated) <= MAX_YAML_CHARS:
        _only_yaml_error(mutated, scale=data.draw(st.sampled_from([None, None, None, "n", "x", "q"])))


LAYER = st.tuples(st.sampled_from([-1] * 8 + [-2, 0, 3, [-1, 2]]), st.one_of(st.integers(1, 6), st.integers(-2, 100)),
                  st.sampled_from(list(SUPPORTED_MODULES) * 3 + ["SPPF", "Detect", "Concat", "nn.Upsample", "Foo",
                                                                 "nn.Identity", ""]),
                  st.lists(st.one_of(st.integers(-10, 10**6), st.sampled_from([64, 128, 256, 3, 2, 1]),
                                     st.booleans(), st.floats(-1, 3), st.none(), st.just("nc")), max_size=6))


@FUZZ
@given(st.lists(LAYER, min_size=0, max_size=40), st.one_of(st.sampled_from([10, 1000]), st.integers(-5, 10**9)),
       st.one_of(st.none(), st.tuples(st.floats(-1, 5), st.floats(-1, 5), st.integers(-1, 10**6))))
def test_fuzz_random_layer_lists(layers, nc, scale):
    """Random models: absurd repeats and channels, unknown modules, wrong froms, wrong arg types."""
    import json

    rows = "\n".join(f"  - {json.dumps(list(x))}" for x in layers) or "  []"
    head = "  - [-1, 1, Classify, [nc]]"
    scales = f"scales:\n  n: {json.dumps(list(scale))}\n" if scale else ""
    _only_yaml_error(f"nc: {nc}\n{scales}backbone:\n{rows}\nhead:\n{head}\n")


def _read_with(loader, text):
    """``_load`` of ``text`` with PyYAML's ``loader``: ("ok", mapping) or ("refused", field)."""
    from unittest import mock

    import explorer.io.ultralytics as uy

    with mock.patch.object(uy, "yaml_loader", lambda: loader):
        try:
            return "ok", uy._load(text)
        except ConfigError as exc:
            return "refused", exc.field


def _both_loaders(text, same_outcome=True):
    """``_load`` of ``text`` with libyaml's and the pure-Python loader: where both read it, the same mapping;
    each refusal names the field yaml; with ``same_outcome``, both read it or both refuse it."""
    import yaml

    fast, pure = _read_with(yaml.CSafeLoader, text), _read_with(yaml.SafeLoader, text)
    for outcome, value in (fast, pure):
        assert outcome == "ok" or value == "yaml"
    if same_outcome:
        assert fast[0] == pure[0], (text[:200], fast, pure)
    if fast[0] == pure[0] == "ok" and "*" not in str(text):   # aliases: comparing a billion laughs expands it
        assert fast[1] == pure[1]


def test_libyaml_loader_reads_what_the_pure_python_one_reads():
    """The shared reader uses libyaml's CSafeLoader where PyYAML has it (about 7x faster) and the pure-Python
    SafeLoader otherwise; both read every valid text, every cut of one and the hostile texts alike: the same
    mapping, or both refuse it."""
    import yaml

    from explorer.io.ultralytics import yaml_loader

    assert yaml_loader() is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    assert issubclass(yaml_loader(), yaml.constructor.SafeConstructor)
    for text in VALID + list(HOSTILE) + ["a: [1, 2\n", "a: 'x\n", "a: *nope\n", "a: 1\na: 2\n",
                                         "nc: 0x1F\nd: 1_000\ne: 0o17\nf: +.inf\ng: yes\nh: ~\n"]:
        _both_loaders(text)
    for text in VALID:
        for cut in range(0, len(text) + 1, 7):
            _both_loaders(text[:cut])


@FUZZ
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 10_000), st.sampled_from(
    list("[]{}-:,#&*!|>'\" \n\t0123456789.eEnbackoCvf2Ssify"))), min_size=1, max_size=3))
def test_fuzz_both_loaders_read_alike_where_both_read(text, edits):
    """Characters of a valid text replaced: the two parsers differ on some malformed texts (libyaml takes a tab
    or a ``:`` inside a flow list where PyYAML's parser stops, and the reverse), so only this holds: either
    loader gives a mapping or a ConfigError naming yaml, and where both read the text, the same mapping (the
    checks after the loader see the same data)."""
    chars = list(text)
    for at, ch in edits:
        chars[at % len(chars)] = ch
    _both_loaders("".join(chars), same_outcome=False)


# --------------------------------------------------------------------------- the command line
def test_cli_summary_of_a_yaml(tmp_path):
    p = tmp_path / "yolov8s-cls.yaml"
    p.write_text(V8_CLS)
    r = subprocess.run([sys.executable, "-m", "explorer", "summary", str(p), "--json"], capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    import json

    out = json.loads(r.stdout)
    assert out["params"] == REFERENCE_PARAMS["yolov8s_cls"]
    r = subprocess.run([sys.executable, "-m", "explorer", "summary", str(p), "--set", "fusion=fusion_last"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "yolov8s-cls.yaml (scale s)" in r.stdout and "fusion=fusion_last" in r.stdout
    bad = tmp_path / "bad.yml"
    bad.write_text(V8_CLS.replace("C2f, [512, True]", "Foo, [512]"))
    r = subprocess.run([sys.executable, "-m", "explorer", "summary", str(bad)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "layer 6 (backbone[6], Foo)" in r.stderr
