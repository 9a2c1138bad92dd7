"""Messages found with real files (issue 19, item 9): each bullet of the item, through the CLI (one line on
stderr, exit 2 for a refusal), the engine (``explorer.design.files``, the one place that picks a file's reader)
and, for the warnings, the Design page."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import explorer.io  # noqa: F401 - registers darknet_cfg
from cfg_samples import TINY_CFG
from cspnet import ConfigError, CSPConfig, get_preset, plan_network
from explorer.cli import main
from explorer.design.files import design_from_file, file_format, file_warnings, load_file
from explorer.design.text import apply_overrides, load_design
from explorer.io._text import sniff
from explorer.io.darknet import parse_cfg
from explorer.io.darknet_export import cfg_from_config, without_attention
from explorer.io.ultralytics import config_from_yaml, yaml_from_config

CFG = TINY_CFG.decode("utf-8") if isinstance(TINY_CFG, bytes) else TINY_CFG
YAML = yaml_from_config(get_preset("yolov8n_cls"))
JSON = get_preset("cspresnet50").to_json()


def run(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


def refused(capsys, *args) -> str:
    rc, _, err = run(capsys, *args)
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err and "internal error" not in err, (rc, err)
    return err


# --------------------------------------------------------------------------- a directory
@pytest.mark.parametrize("command", [["summary"], ["summary", "--json"], ["layers"], ["export", "--format", "darknet"],
                                     ["diagram", "--format", "dot"], ["sweep", "--vary", "input_size=64,96"]])
def test_a_directory_is_one_line_for_every_command(capsys, tmp_path, command):
    err = refused(capsys, command[0], tmp_path, *command[1:])
    assert err.startswith("error: design: ") and "is a directory, not a file" in err


def test_a_directory_is_a_config_error_for_the_engine(tmp_path):
    with pytest.raises(ConfigError) as exc:
        load_file(tmp_path)
    assert exc.value.field == "design" and "is a directory" in str(exc.value)
    with pytest.raises(ConfigError):
        load_design(str(tmp_path))


# --------------------------------------------------------------------------- names and content
@pytest.mark.parametrize("name", ["net.cfg", "NET.CFG", "net.Cfg", "net.cfg.txt", "net.txt", "net"])
def test_a_cfg_opens_whatever_its_name_makes_no_other_claim(capsys, tmp_path, name):
    p = tmp_path / name
    p.write_text(CFG)
    want = parse_cfg(CFG).params
    rc, out, err = run(capsys, "summary", p, "--json")
    assert rc == 0, err
    assert json.loads(out)["params"] == want
    cfg = design_from_file(name, CFG.encode("utf-8"))      # the app's uploader: the same dispatch
    assert cfg.family == "darknet_cfg" and cfg.name.lower() == "net" and plan_network(cfg).params == want
    assert load_design(str(p)) == cfg
    for command in (["layers", p, "--csv"], ["export", p, "--format", "darknet"], ["diagram", p, "--format", "dot"]):
        rc, _, err = run(capsys, *command)
        assert rc == 0, (command, err)


@pytest.mark.parametrize("name,text,looks,rename", [
    ("yolov8n-cls.cfg", YAML, "an Ultralytics model YAML (backbone:/head: keys)", "yolov8n-cls.yaml"),
    ("net.yaml", CFG, "a Darknet cfg (sections in [brackets])", "net.cfg"),
    ("net.yml", JSON, "a design JSON (it starts with {)", "net.json"),
    ("net.json", CFG, "a Darknet cfg", "net.cfg"),
    ("net.cfg", JSON, "a design JSON", "net.json"),
])
def test_an_extension_claiming_another_format_says_what_the_content_looks_like(capsys, tmp_path, name, text, looks,
                                                                                rename):
    p = tmp_path / name
    p.write_text(text)
    err = refused(capsys, "summary", p)
    assert err.startswith(f"error: file: {name}: the extension .{name.rsplit('.', 1)[1]} says ") and looks in err
    assert f"rename it {rename}" in err and "malformed" not in err
    with pytest.raises(ConfigError) as exc:         # the uploader: the same message
        design_from_file(name, text.encode("utf-8"))
    assert exc.value.field == "file" and looks in str(exc.value)


@pytest.mark.parametrize("name,text,opens", [("yolov8n-cls", YAML, "yolov8"), ("model.txt", JSON, "resnet"),
                                             ("yolov8n-cls.yaml.txt", YAML, "yolov8")])
def test_a_name_without_a_claim_opens_by_content(tmp_path, name, text, opens):
    p = tmp_path / name
    p.write_text(text)
    cfg = load_design(str(p))
    assert cfg.family == opens
    if opens == "yolov8":
        assert cfg.name.startswith(name) and "(scale n)" in cfg.name and \
            plan_network(cfg).params == plan_network(get_preset("yolov8n_cls")).params


def test_an_unknown_extension_or_unknown_content_is_refused_naming_what_opens(capsys, tmp_path):
    p = tmp_path / "net.bak"
    p.write_text(CFG)
    err = refused(capsys, "summary", p)
    assert ".bak is not a network file format" in err and "looks like a Darknet cfg" in err and "rename it net.cfg" \
        in err
    p = tmp_path / "notes"
    p.write_text("hello\nworld\n")
    err = refused(capsys, "summary", p)
    assert "no extension names no format" in err and "looks like none of" in err
    with pytest.raises(ConfigError) as exc:
        file_format("weights.pt", b"\x80\x02\x00")
    assert exc.value.field == "file" and ".pt is not a network file format" in str(exc.value)


def test_the_readers_themselves_say_what_other_text_looks_like():
    with pytest.raises(ConfigError) as exc:
        parse_cfg(YAML)
    assert "looks like an Ultralytics model YAML" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        config_from_yaml(CFG)
    assert "looks like a Darknet cfg" in str(exc.value)
    with pytest.raises(ConfigError) as exc:
        config_from_yaml(JSON)
    assert "looks like a design JSON" in str(exc.value)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_sniff_never_fails(data):
    assert sniff(data) in (None, "darknet", "yaml", "json")


# --------------------------------------------------------------------------- an opened cfg goes out again
def test_export_writes_an_opened_cfg_back_at_its_input_size(capsys, tmp_path):
    p = tmp_path / "net.cfg"
    p.write_text(CFG)
    rc, out, err = run(capsys, "export", p, "--format", "darknet", "--input-size", "96")
    assert rc == 0 and "reads back as the design" in err, err
    back = parse_cfg(out)
    assert back.input_shape == (3, 96, 96)
    assert back.params == parse_cfg(CFG).params
    assert plan_network(load_file(p).replace(input_size=96)).params == back.params


def test_an_opened_cfg_s_export_messages_lead_somewhere(capsys, tmp_path):
    p = tmp_path / "net.cfg"
    p.write_text(CFG)
    err = refused(capsys, "export", p, "--format", "ultralytics")
    assert "--format darknet" in err and "design JSON" in err and "as a Darknet cfg or" not in err
    rc, _, err = run(capsys, "export", p, "--format", "darknet")
    assert rc == 0 and "has no Darknet layer" not in err


def test_summary_of_a_cfg_has_its_design_config(capsys, tmp_path):
    p = tmp_path / "net.cfg"
    p.write_text(CFG)
    rc, out, _ = run(capsys, "summary", p, "--json", "--input-size", "96")
    s = json.loads(out)
    assert rc == 0 and s["config"] and s["config"]["family"] == "darknet_cfg" and s["config_error"] is None
    cfg = CSPConfig.from_dict(s["config"])
    assert cfg.input_size == 96 and plan_network(cfg).params == s["params"]
    rc, out, _ = run(capsys, "summary", p, "--json", "--input-size", "8")   # read at 8 px, no design at 8 px
    s = json.loads(out)
    assert rc == 0 and s["input_shape"] == [3, 8, 8] and s["config"] is None and "input_size" in s["config_error"]
    p.write_text(CFG.replace("channels=3", "channels=1"))       # a network that is no design here: said why
    rc, out, _ = run(capsys, "summary", p, "--json")
    s = json.loads(out)
    assert rc == 0 and s["config"] is None and "channels=1" in s["config_error"]


# --------------------------------------------------------------------------- YAML hints
YOLOV5_DETECT = """\
nc: 80
depth_multiple: 0.33
width_multiple: 0.50
anchors:
  - [10, 13, 16, 30, 33, 23]
backbone:
  - [-1, 1, Conv, [64, 6, 2, 2]]
  - [-1, 1, Conv, [128, 3, 2]]
  - [-1, 3, C3, [128]]
head:
  - [[-1], 1, Detect, [nc, anchors]]
"""


def test_yolov5_s_hint_says_to_remove_anchors():
    with pytest.raises(ConfigError) as exc:
        config_from_yaml(YOLOV5_DETECT)
    assert "remove the 'anchors' key" in str(exc.value) and "[[-1, 1, Classify, [nc]]]" in str(exc.value)
    fixed = YOLOV5_DETECT.replace("  - [[-1], 1, Detect, [nc, anchors]]", "  - [-1, 1, Classify, [nc]]")
    fixed = fixed[:fixed.index("anchors:")] + fixed[fixed.index("backbone:"):]   # as the hint says: it opens
    assert config_from_yaml(fixed).family == "yolov5"


def test_the_layer_bound_says_what_it_protects_and_what_to_do():
    long = YAML.replace("head:", "  - [-1, 1, Conv, [64, 3, 1]]\n" * 30 + "head:")
    with pytest.raises(ConfigError) as exc:
        config_from_yaml(long)
    msg = str(exc.value)
    assert "this importer reads at most 32" in msg and "the bound keeps a file from" in msg
    assert "use the model's -cls YAML" in msg and "repeats" in msg and "allowed at most 32" not in msg
    # a detection YAML longer than the bound gets the detection message, not the bound's
    det = YOLOV5_DETECT.replace("anchors:\n  - [10, 13, 16, 30, 33, 23]\n", "").replace(
        "  - [-1, 3, C3, [128]]\n", "  - [-1, 3, C3, [128]]\n" * 40)
    with pytest.raises(ConfigError) as exc:
        config_from_yaml(det)
    assert "Detect is a detection head" in str(exc.value)


# --------------------------------------------------------------------------- an option given twice
DUP = CFG.replace("filters=", "filters=999\nfilters=", 1)


def test_an_option_given_twice_keeps_its_first_value_with_a_warning():
    first = CFG[CFG.index("filters="):].split("\n", 1)[0]
    net = parse_cfg(DUP)
    assert net.layers[0].out_shape[0] == 999 and net.params != parse_cfg(CFG).params
    assert len(net.warnings) == 1
    w = net.warnings[0]
    assert "(layer 0): filters is given twice" in w and "the first value, filters=999, is used" in w \
        and f"this one, {first}, ignored, as Darknet does" in w
    cfg = design_from_file("dup.cfg", DUP.encode("utf-8"))
    assert file_warnings(cfg) == [w] and file_warnings(get_preset("cspresnet50")) == []


def test_many_options_given_twice_are_bounded():
    text = CFG.replace("filters=", "filters=8\n" * 3 + "filters=")
    text = text.replace("size=", "size=1\nsize=")
    assert 1 < len(parse_cfg(text).warnings) <= 21


def test_the_warning_is_on_stderr_and_in_the_summary_json(capsys, tmp_path):
    p = tmp_path / "dup.cfg"
    p.write_text(DUP)
    rc, out, err = run(capsys, "summary", p, "--json")
    assert rc == 0 and err.startswith("warning: line ") and "filters is given twice" in err
    assert json.loads(out)["warnings"] == list(parse_cfg(DUP).warnings) and json.loads(out)["warnings"]
    rc, _, err = run(capsys, "layers", p, "--csv")
    assert rc == 0 and "filters is given twice" in err
    p.write_text(CFG)
    rc, out, err = run(capsys, "summary", p, "--json")
    assert json.loads(out)["warnings"] == [] and "warning" not in err


def test_the_design_page_shows_the_warning_after_opening():
    from streamlit.testing.v1 import AppTest

    from test_app_import import APP

    at = AppTest.from_file(APP, default_timeout=90).run()
    at.file_uploader(key="open_network").set_value(("dup.cfg", DUP.encode("utf-8"), "application/octet-stream"))
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("filters is given twice" in w.value for w in at.warning), [w.value for w in at.warning]
    assert at.session_state["design_cfg"].family == "darknet_cfg"


# --------------------------------------------------------------------------- a byte order mark
def test_a_byte_order_mark_is_accepted_by_both_readers(capsys, tmp_path):
    bom = "\ufeff"
    assert parse_cfg(bom + CFG).params == parse_cfg(CFG).params
    assert parse_cfg((bom + CFG).encode("utf-8")).params == parse_cfg(CFG).params
    assert config_from_yaml(bom + YAML) == config_from_yaml(YAML)
    for name, text in (("net.cfg", CFG), ("yolov8n-cls.yaml", YAML), ("d.json", JSON), ("net", CFG)):
        p = tmp_path / name
        p.write_bytes((bom + text).encode("utf-8"))
        rc, _, err = run(capsys, "summary", p, "--json")
        assert rc == 0, (name, err)
    cfg = design_from_file("net.cfg", (bom + CFG).encode("utf-8"))
    assert not cfg.network.startswith(bom)


# --------------------------------------------------------------------------- the scale label
def test_changed_multiples_drop_the_scale_letter(capsys, tmp_path):
    p = tmp_path / "yolov8n-cls.yaml"
    p.write_text(YAML)
    rc, out, _ = run(capsys, "summary", p, "--set", "width_multiple=0.5")
    first = out.splitlines()[0]
    assert rc == 0 and "(scale n)" not in first and "width_multiple 0.5" in first
    rc, out, _ = run(capsys, "summary", p, "--set", "fusion=fusion_last")
    assert "yolov8n-cls.yaml (scale n)" in out.splitlines()[0]
    cfg = apply_overrides(apply_overrides(load_file(p), ["width_multiple=0.5"]), ["depth_multiple=1"])
    assert cfg.name == "yolov8n-cls.yaml (depth_multiple 1, width_multiple 0.5, max_channels 1024)"
    assert apply_overrides(load_file(p), ["width_multiple=0.25"]).name.endswith("(scale n)")   # scale n's own width


# --------------------------------------------------------------------------- YOLO11's hint
@pytest.mark.parametrize("name", ["yolo11n_cls", "yolo11m_cls"])
def test_yolo11_s_hint_changes_only_the_attention_stage(capsys, name):
    cfg = get_preset(name)
    err = refused(capsys, "export", name, "--format", "darknet")
    value = without_attention(cfg)
    assert f"--set block_type={value} (stage 4 without attention" in err
    fixed = apply_overrides(cfg, [f"block_type={value}"])
    changed = [i for i, (a, b) in enumerate(zip(cfg.block_type, fixed.block_type)) if a != b]
    assert changed == [4] and fixed.block_type[4] == "c3k"
    assert cfg_from_config(fixed)
    rc, _, err = run(capsys, "export", name, "--format", "darknet", "--set", f"block_type={value}")
    assert rc == 0, err


def test_the_uploader_uses_the_same_dispatch():
    from streamlit.testing.v1 import AppTest

    from test_app_import import APP

    at = AppTest.from_file(APP, default_timeout=90).run()
    at.file_uploader(key="open_network").set_value(("yolov8n-cls.cfg", YAML.encode("utf-8"),
                                                    "application/octet-stream"))
    at.run()
    assert not at.exception
    assert any("looks like an Ultralytics model YAML" in e.value and "rename it yolov8n-cls.yaml" in e.value
               for e in at.error), [e.value for e in at.error]
    at.file_uploader(key="open_network").set_value(("tiny_net", ("\ufeff" + CFG).encode("utf-8"),
                                                    "application/octet-stream"))
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["design_cfg"].family == "darknet_cfg"
    assert at.session_state["design_cfg"].name == "tiny_net"


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["x.cfg", "x.CFG", "x.yaml", "x.json", "x.txt", "x", "x.cfg.txt", "x.bak"]),
       st.one_of(st.binary(max_size=400), st.sampled_from([CFG, YAML, JSON]).flatmap(
           lambda t: st.integers(0, len(t)).map(lambda k: t[:k])).map(lambda t: t.encode("utf-8"))))
def test_any_name_and_content_opens_or_is_one_config_error(name, data):
    try:
        cfg = design_from_file(name, data)
    except ConfigError as exc:
        assert exc.field in ("file", "cfg", "yaml", "json", "network") and "\n" not in str(exc)
    else:
        assert isinstance(cfg, CSPConfig)
