"""Writers check before they write (explorer/io/check.py): every Darknet cfg and Ultralytics YAML export is read
back and compared with the design's plan, op kind by op kind and stage by stage, before the text is returned; a
difference is a refusal naming the stage; the stated differences (Darknet's conv biases, its [softmax], the
concat of an uneven split's slices) are the only ones, and must be exactly what differs.  A property test over
random designs of every family and both formats: exact on reading back (but for what is stated) or a named
refusal, never a silently different file.  Analytic: no torch."""
from __future__ import annotations

import re
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
from explorer.io import check as check_mod
from explorer.io.check import REASONS, Allowance, check_export, export, line_up, read_back
from explorer.io.darknet import parse_cfg
from explorer.io.darknet_export import cfg_from_config, export_cfg, extra_biases
from explorer.io.ultralytics import config_from_yaml, yaml_from_config


def _zeros(**deltas) -> tuple:
    return tuple(deltas.get(n, 0) for n in TOTALS)


# --------------------------------------------------------------------------- the case
def test_bottleneckcsp2_shared_split_exports_the_same_network():
    """Issue 18: `export yolov4_csp_backbone --set split_convs=shared --format darknet` wrote part 1's conv from the
    stage input with BatchNorm (27,625,032 parameters, 6.198 GMACs for a design of 27,274,952 and 6.131); now
    part 1 is a bare 1x1 conv of part 2, as the design, and reads back with the design's MACs and, but for the
    stated conv biases (part 1's width per stage), its parameters."""
    cfg = apply_overrides(get_preset("yolov4_csp_backbone"), ["split_convs=shared"])
    plan = plan_network(cfg)
    assert (plan.params, plan.macs) == (27_274_952, 6_130_999_296)
    text, result = export_cfg(cfg)
    net = parse_cfg(text)
    assert net.plan.macs == plan.macs and net.params == plan.params + 960 == 27_275_912
    assert {k: count(net.plan, k) for k in REGISTRY} == {k: count(plan, k) for k in REGISTRY}
    assert [(a.stage, a.reason, a.deltas[TOTALS.index("params")]) for a in result.allowed if a.reason == "bias"] == \
        [("stages.0", "bias", 64), ("stages.1", "bias", 128), ("stages.2", "bias", 256), ("stages.3", "bias", 512)]
    # each CSP stage read back with the design's part 1, part 2 and concat
    for design, read in result.groups[1:5]:
        mine, theirs = plan.stage(design[0]).taps, net.plan.stage(read[0]).taps
        assert {t: theirs[t] for t in ("part1", "part2", "concat")} == {t: mine[t] for t in ("part1", "part2",
                                                                                            "concat")}
    assert "conv +960 params (stages.0, stages.1, stages.2, stages.3)" in text.split("[net]")[0]


def test_the_old_shared_export_would_have_been_refused_naming_the_stage():
    """The file the writer used to write for the shared split (two convs from the stage input, BottleneckCSP's
    layout) is what the check exists for: fed to it as the shared design's export, it is refused, naming the
    first stage and the conv totals that differ."""
    shared = apply_overrides(get_preset("yolov4_csp_backbone"), ["split_convs=shared"])
    two = shared.replace(split_convs="two")
    text, two_check = export_cfg(two)
    with pytest.raises(ConfigError) as exc:
        check_export(shared, text, "darknet", two_check.allowed)
    msg = str(exc.value)
    assert exc.value.field == "format" and "\n" not in msg
    assert "yolov4csp design yolov4_csp_backbone: the Darknet cfg written for it reads back as a different network" \
        in msg
    # part 1's conv read the stage input (128 channels, BatchNorm) where the design's reads part 2 (64, bare)
    assert "stage stages.0 (read back as stages.1), the first stage that differs: bn params 1,536 in the design, " \
        "1,664 in the file; conv params 188,416 in the design, 192,512 in the file; conv macs 771,751,936 in the " \
        "design, 788,529,152 in the file" in msg and "refused rather than written" in msg


def test_a_difference_not_stated_is_refused_and_so_is_one_stated_but_absent():
    cfg = get_preset("densenet121")
    text, result = export_cfg(cfg)
    assert sum(a.deltas[TOTALS.index("params")] for a in result.allowed if a.reason == "bias") == 2752
    assert extra_biases(cfg) == 2752
    # the stated differences are the only ones: without them, the same file is refused
    with pytest.raises(ConfigError) as exc:
        check_export(cfg, text, "darknet", ())
    assert "stage stages.0: conv params " in str(exc.value)      # the first stage with a bare conv
    head_only = [a for a in result.allowed if a.reason == "softmax"]
    with pytest.raises(ConfigError, match="conv params"):
        check_export(cfg, text, "darknet", head_only)
    # a difference stated that the file does not have is refused too (the check is not loosened by it)
    more = result.allowed + [Allowance("stages.1", "bias", "conv", _zeros(params=1))]
    with pytest.raises(ConfigError, match="stage stages.1: conv params 1,040,384 [+] 641 stated in the design, "
                       "1,041,024 in the file"):
        check_export(cfg, text, "darknet", more)
    # and in the right stage: stage 0's biases stated in stage 1's name, the file is refused at stage 0
    moved = [Allowance("stages.1" if a.stage == "stages.0" else a.stage, a.reason, a.kind, a.deltas)
             for a in result.allowed]
    with pytest.raises(ConfigError, match="stage stages.0: conv params"):
        check_export(cfg, text, "darknet", moved)


def test_an_allowance_changes_only_its_kind_and_totals():
    with pytest.raises(AssertionError):
        Allowance("stem", "bias", "conv", _zeros(macs=5))           # a bias adds parameters, never MACs
    with pytest.raises(AssertionError):
        Allowance("stem", "softmax", "conv", _zeros(layers=1))
    with pytest.raises(KeyError):
        Allowance("stem", "anything", "conv", _zeros(params=1))
    assert set(REASONS) == {"bias", "softmax", "slices"}


def test_an_edited_file_is_refused_naming_the_stage_and_the_tap():
    cfg = get_preset("cspdarknet53", input_size=64)
    text, result = export_cfg(cfg)
    # one 3x3 conv of stage 2's blocks made 5x5 (same shapes): parameters and MACs differ there, nowhere before
    net = parse_cfg(text)
    info = next(i for i in net.stages if i.name == "stages.2")
    j = next(j for j in range(info.start, info.end) if net.layers[j].kind == "conv"
             and net.layers[j].attrs["size"] == 3 and net.layers[j].attrs["stride"] == 1)
    sections = text.split("\n\n")            # the header, [net], then layer j is section j + 2
    assert "size=3\nstride=1\npad=1" in sections[j + 2]
    sections[j + 2] = sections[j + 2].replace("size=3\nstride=1\npad=1", "size=5\nstride=1\npad=1")
    bad = "\n\n".join(sections)
    with pytest.raises(ConfigError) as exc:
        check_export(cfg, bad, "darknet", result.allowed)
    assert re.search(r"stage stages\.2, the first stage that differs: conv params [\d,]+ in the design, [\d,]+ in the "
                     r"file; conv macs", str(exc.value)), str(exc.value)
    # a file that does not read back at all
    with pytest.raises(ConfigError, match="does not read back"):
        check_export(cfg, text.replace("[route]", "[routex]", 1), "darknet", result.allowed)
    # a different input size
    with pytest.raises(ConfigError, match="its input is 3x96x96, the design's 3x64x64"):
        check_export(cfg, text.replace("width=64\nheight=64", "width=96\nheight=96"), "darknet", result.allowed)


def test_a_wiring_difference_the_totals_cannot_see_is_refused_naming_the_op():
    """The same layers wired otherwise have the same totals in every stage: the dataflow graphs differ, and
    the refusal names the design's op that nothing in the file computes."""
    cfg = get_preset("cspdarknet53", input_size=64)
    text, result = export_cfg(cfg)
    assert "the same dataflow graph" in result.summary()
    swapped = text.replace("[route]\nlayers=-6,-1\n", "[route]\nlayers=-1,-6\n", 1)     # concat: block, then part 1
    assert swapped != text
    with pytest.raises(ConfigError) as exc:
        check_export(cfg, swapped, "darknet", result.allowed)
    assert "stage stages.0: the design's cat stages.0.concat (128x32x32, reading stages.0.expand.act[0:64], " \
        "stages.0.partial_transition.act[0:64]) has no counterpart in the file" in str(exc.value)
    moved = text.replace("[shortcut]\nfrom=-3\n", "[shortcut]\nfrom=-2\n", 1)         # the residual from elsewhere
    with pytest.raises(ConfigError, match="stage stages.0: the design's add stages.0.block.0 .* has no counterpart"):
        check_export(cfg, moved, "darknet", result.allowed)


def test_a_tap_the_reader_places_otherwise_is_reported_not_refused():
    """A shared split whose blocks start with a 1x1 conv narrower than part 2 (YOLO11n's dark blocks, bottle
    ratio 0.5): the Darknet reader takes that conv for part 2's, so it reads another part 2 tap; the graph is
    the design's, so the export is written and the result says which taps the reader places otherwise."""
    cfg = apply_overrides(get_preset("yolo11n_cls"), ["split_convs=shared", "block_type=dark", "taps=last",
                                                       "input_size=64"])
    text, result = export_cfg(cfg)
    assert result.read_otherwise == [("stages.1", "part2", (32, 8, 8), (16, 8, 8)),
                                     ("stages.2", "part2", (64, 4, 4), (32, 4, 4))]
    assert "the reader places 2 taps otherwise: stages.1 part2, stages.2 part2" in result.summary()
    assert result.to_dict()["taps_read_otherwise"][0] == {"stage": "stages.1", "tap": "part2", "design": [32, 8, 8],
                                                          "file": [16, 8, 8]}
    # an Ultralytics YAML reads back as the same family: there a tap placed otherwise is a refusal
    assert check_export(get_preset("yolov8n_cls"), yaml_from_config(get_preset("yolov8n_cls")),
                        "ultralytics").read_otherwise == []


def test_ultralytics_yaml_is_allowed_no_difference():
    cfg = get_preset("yolov8n_cls", input_size=64)
    text, result = export(cfg, "ultralytics")
    assert result.exact and result.allowed == [] and result.summary().endswith(", exactly")
    assert result.groups == [([n], [n]) for n in ("stem", "stages.0", "stages.1", "stages.2", "stages.3", "head")]
    # the YAML of a design with other repeats is refused as this design's export, naming the stage
    other = yaml_from_config(cfg.replace(repeats=(1, 2, 2, 1)))
    with pytest.raises(ConfigError) as exc:
        check_export(cfg, other, "ultralytics")
    msg = str(exc.value)
    assert exc.value.field == "format" and "the Ultralytics YAML written for it reads back as a different" in msg
    assert "stage stages.1, the first stage that differs: bn params 640 in the design, 512 in the file" in msg


def test_stages_the_reader_cuts_elsewhere_are_compared_together():
    result = export(get_preset("peleenet"), "darknet")[1]
    assert result.regrouped[0] == (["stem", "stages.0"], ["stem", "stages.0", "stages.1"])
    assert result.groups[1:4] == [(["stages.1"], ["stages.2"]), (["stages.2"], ["stages.3"]),
                                  (["stages.3"], ["stages.4"])]
    # the Ultralytics head conv (1,280) ends the last stage when read from a Darknet cfg
    result = export(get_preset("yolov8n_cls"), "darknet")[1]
    assert result.groups[-1] == (["stages.3", "head"], ["stages.3", "head"])
    # line_up on its own: nothing in common but the end
    plan = plan_network(get_preset("resnet50"))
    assert line_up(plan.stages, plan.stages[::-1], plan.input_shape)[-1][0][-1].name == "head"


def test_both_writers_and_the_cli_run_the_one_check(monkeypatch, capsys):
    from explorer import cli

    calls = []
    real = check_mod.check_export

    def spy(cfg, text, fmt, *args, **kwargs):
        calls.append(fmt)
        return real(cfg, text, fmt, *args, **kwargs)

    monkeypatch.setattr(check_mod, "check_export", spy)
    cfg_from_config(get_preset("cspresnet50"))
    yaml_from_config(get_preset("yolov5n_cls"))
    assert cli.main(["export", "yolov8n_cls", "--format", "ultralytics"]) == 0
    assert cli.main(["export", "cs3darknet_s", "--format", "darknet"]) == 0
    assert calls == ["darknet", "ultralytics", "ultralytics", "darknet"]
    err = capsys.readouterr().err
    assert "checked: the Ultralytics YAML reads back as the design" in err and ", exactly" in err
    assert "checked: the Darknet cfg reads back as the design" in err and "softmax +1 layers" in err


def test_cli_export_reports_the_check_and_refuses_in_one_line(tmp_path):
    out = tmp_path / "shared.cfg"
    r = subprocess.run([sys.executable, "-m", "explorer", "export", "yolov4_csp_backbone", "--set",
                        "split_convs=shared", "--format", "darknet", "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "wrote" in r.stderr and "stated differences: conv +960 params (bias)" in r.stderr
    assert r.stderr.count("\n") == 1
    assert parse_cfg(out.read_text()).plan.macs == 6_130_999_296
    r = subprocess.run([sys.executable, "-m", "explorer", "export", "yolov8n_cls", "--set", "split_ratio=0.25",
                        "--format", "ultralytics"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stdout == "" and r.stderr.count("\n") == 1
    assert r.stderr.startswith("error: format: split_ratio 0.25") and "Traceback" not in r.stderr


# --------------------------------------------------------------------------- random designs, both formats
FAMILY_PRESETS: dict = {}
for _name in all_presets():   # (an opened file's families, yolo_yaml and darknet_cfg, have no knobs; their presets
    if all_presets()[_name].config["family"] not in ("yolo_yaml", "darknet_cfg"):   # go out as themselves)
        FAMILY_PRESETS.setdefault(get_preset(_name).family, []).append(_name)
LINEAGE = ("cs3darknet", "yolov5", "yolov8", "yolo11", "cspnext", "yolov7", "yolov4csp")


@st.composite
def designs(draw):
    """A preset of any family (each family equally likely), then knobs changed or kept (None: the preset's)."""
    base = get_preset(draw(st.sampled_from(FAMILY_PRESETS[draw(st.sampled_from(sorted(FAMILY_PRESETS)))])))

    def knob(name, values):   # kept (the preset's) half the time
        value = draw(st.sampled_from(values)) if draw(st.booleans()) else None
        return [] if value is None else [f"{name}={value}"]

    sets = ["input_size=64", *knob("fusion", ["csp", "fusion_first", "fusion_last", "none"]),
            *knob("split_ratio", [0.5, 0.25, 0.75, 0.3])]
    if base.family in LINEAGE:
        sets += [*knob("split_convs", ["one", "two", "two_bare", "slice", "shared"]),
                 *knob("block_type", ["dark", "edge", "bottleneck_3x3", "c3k", "cspnext", "conv_pair", "conv", "psa"]),
                 *knob("taps", ["last", "all"]), *knob("post_concat", ["none", "bn_act", "attention"]),
                 *knob("se_ratio", [0.0, 0.25]), *knob("width_multiple", [0.25, 0.5])]
        if base.family != "yolov7":    # (YOLOv7 writes its ELAN convs one by one: no depth multiple)
            sets += knob("depth_multiple", [0.34, 0.5])
    elif base.family in ("densenet", "peleenet"):
        sets += knob("stem_channels", [32, 48, 62, 64])
        if base.family == "densenet":
            sets += ["growth_rate=8", "repeats=2,3,2,2"]
    else:
        sets += knob("stem_channels", [32, 48, 64])
    try:
        return apply_overrides(base, sets)
    except ConfigError:
        assume(False)


def _stated_biases(text: str) -> int:
    m = re.search(r"^#   conv \+([\d,]+) params \(", text, re.M)
    return int(m.group(1).replace(",", "")) if m else 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(designs())
def test_random_designs_export_exactly_or_are_refused_by_name(cfg):
    """Families x fusion x split ratio x split convs x block type x post-concat x SE, in both formats: the
    export either reads back as the design (every counting convention, parameters but for the biases its
    header states, output shape, stage taps) or is refused with one line naming its field; never a
    different network."""
    plan = plan_network(cfg)
    for fmt in ("darknet", "ultralytics"):
        try:
            text, result = export(cfg, fmt)
        except ConfigError as exc:
            msg = str(exc)
            assert exc.field in ("format", "split_ratio") and "\n" not in msg, msg
            continue
        if fmt == "darknet":
            back = parse_cfg(text).plan
            assert back.params == plan.params + _stated_biases(text) == plan.params + extra_biases(cfg)
            assert {a.reason for a in result.allowed} <= set(REASONS)
        elif cfg.is_detector:   # read back by the detection planner: one stage per YAML layer
            back = read_back(cfg, text, fmt)
            assert result.exact and back.params == plan.params
        else:
            back = plan_network(config_from_yaml(text), input_size=cfg.input_size)
            assert result.exact and back.params == plan.params
            assert [(s.name, s.taps, s.by_kind) for s in back.stages] == \
                [(s.name, s.taps, s.by_kind) for s in plan.stages]
        assert {k: count(back, k) for k in REGISTRY} == {k: count(plan, k) for k in REGISTRY}
        assert back.output_shape == plan.output_shape and back.input_shape == plan.input_shape
