"""Every registered counting convention, everywhere (issue 18, item 4): the CLI's ``--convention``, the stage
table, ``summary --json``'s ``conventions`` and the app's switches offer every key of the registry, each stage
column adds up to its convention's total, and each number is named for what it is, with its unit.

The designs: a DenseNet, a CSPResNet, a lineage network (YOLO11, with attention's matrix products) and a Darknet
cfg exported by ``explorer export --format darknet`` and read back.  The list of conventions is the registry's,
never a list written here.
"""
import csv
import io
import json

import pytest

from cspnet import ConfigError, get_preset, plan_network
from explorer.cli import main
from explorer.counts.analysis import stage_table, summarize
from explorer.counts.conventions import CONVENTIONS, REGISTRY, count, group_counts
from explorer.io.darknet import DARKNET_BFLOPS_COLUMN, load_cfg, stage_rows, summarize_net

PRESETS = ("densenet121", "cspresnet50", "yolo11n_cls")
KEYS = tuple(REGISTRY)


def run_cli(capsys, *args):
    rc = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture(scope="module")
def exported_cfg(tmp_path_factory):
    """cspdarknet53 written by ``explorer export --format darknet`` (the CLI), to be read back as a cfg."""
    path = tmp_path_factory.mktemp("export") / "cspdarknet53.cfg"
    assert main(["export", "cspdarknet53", "--format", "darknet", "-o", str(path)]) == 0
    return path


def _designs(exported_cfg):
    return list(PRESETS) + [exported_cfg]


def _csv_rows(text: str) -> list:
    return list(csv.DictReader(io.StringIO(text)))


# --------------------------------------------------------------------------- the registry is what is shown
def test_every_registered_convention_is_shown_and_named_with_its_unit():
    assert CONVENTIONS == REGISTRY
    assert len(KEYS) >= 8 and {"macs", "fvcore", "flops", "bflops", "mmcv", "darknet", "thop", "ultralytics"} <= set(
        KEYS)
    labels = [c.label for c in REGISTRY.values()]
    assert len(set(labels)) == len(labels)                     # one name per number
    assert len({c.short for c in REGISTRY.values()}) == len(labels)
    for key, c in REGISTRY.items():
        assert c.unit in ("MAC", "FLOP"), key
        assert c.includes and c.formula and c.short, key
        # a value in FLOPs is never called BFLOPs or GFLOPs without saying how it is printed
        for printed in ("BFLOPs", "GFLOPs"):
            if printed in c.label:
                assert f"printed as {printed}" in c.label, c.label


def test_the_cli_offers_exactly_the_registry(capsys):
    rc, _, err = run_cli(capsys, "summary", "resnet50", "--convention", "no_such_convention")
    assert rc == 2
    line = err.strip()
    assert "\n" not in line and "--convention" in line
    for key in KEYS:
        assert repr(key) in line


def test_stage_table_refuses_an_unknown_convention_naming_the_field():
    with pytest.raises(ConfigError, match="convention.*allowed: " + ", ".join(KEYS)):
        stage_table(summarize(get_preset("resnet50")), "gflops")


# --------------------------------------------------------------------------- CLI: every design, every convention
@pytest.mark.parametrize("key", KEYS)
def test_summary_stage_column_adds_up_to_the_total_in_every_convention(capsys, exported_cfg, key):
    label = REGISTRY[key].label
    for design in _designs(exported_cfg):
        rc, out, err = run_cli(capsys, "summary", design, "--json")
        assert rc == 0, err
        total = json.loads(out)["conventions"][key]["value"]
        rc, out, err = run_cli(capsys, "summary", design, "--convention", key, "--csv")
        assert rc == 0, err
        rows = _csv_rows(out)
        assert rows and label in rows[0], (design, key, list(rows[0]))
        assert sum(int(r[label]) for r in rows) == total, (design, key)
        rc, out, err = run_cli(capsys, "summary", design, "--convention", key)
        assert rc == 0 and not err, err
        assert f"count column: {label}, in {REGISTRY[key].unit}; total {total:,}" in out, (design, key)


@pytest.mark.parametrize("design", PRESETS)
def test_summary_json_lists_every_convention_with_value_and_unit(capsys, design):
    rc, out, _ = run_cli(capsys, "summary", design, "--json")
    assert rc == 0
    s = json.loads(out)
    assert list(s["conventions"]) == list(KEYS)
    plan = plan_network(get_preset(design))
    per_op = group_counts(plan, by="stage", metrics=KEYS)   # op by op: not the per-kind totals the summary sums
    for key, c in s["conventions"].items():
        assert c["unit"] == REGISTRY[key].unit and c["label"] == REGISTRY[key].label and c["includes"]
        assert c["value"] == count(plan, key) == sum(v[key] for v in per_op.values())
        assert [st["conventions"][key] for st in s["stages"]] == [per_op[st["name"]][key] for st in s["stages"]]
    assert "bflops" not in s                                   # the paper's count is the bflops convention
    assert s["flops"] == s["conventions"]["flops"]["value"] == s["conventions"]["bflops"]["value"]


def test_an_mmcv_stage_column_is_mmcv_not_plain_macs():
    """The bug of issue 18: the stage table mapped only macs and fvcore, so mmcv's column printed MACs."""
    s = summarize(get_preset("cspresnet50"))
    plan = plan_network(get_preset("cspresnet50"))
    for key in ("mmcv", "thop", "ultralytics", "darknet"):
        rows = stage_table(s, key)
        col = [r[REGISTRY[key].label] for r in rows]
        assert col == [count(sp, key) for sp in plan.stages], key
        assert col != [r["macs"] for r in s["stages"]] and col != [2 * r["macs"] for r in s["stages"]], key


def test_ultralytics_and_thop_count_a_design_without_a_detector():
    """Registered and selectable for every design: a plain DenseNet (no detector, no attention) too."""
    plan = plan_network(get_preset("densenet121"))
    assert count(plan, "thop") > count(plan, "macs")           # BatchNorm and the global pool on top of MACs
    assert count(plan, "ultralytics") == 2 * count(plan, "thop")


# --------------------------------------------------------------------------- an imported Darknet cfg
def test_a_read_back_cfg_names_each_bflops_for_what_it_is(capsys, exported_cfg):
    net = load_cfg(exported_cfg)
    s = summarize_net(net)
    assert "bflops" not in s and list(s["conventions"]) == list(KEYS)
    assert s["conventions"]["bflops"]["unit"] == s["conventions"]["darknet"]["unit"] == "FLOP"
    # Darknet's printed total is in BFLOPs (1e9 FLOP); without its shortcut term it is the darknet convention's
    # value in FLOPs / 1e9, less the [connected] classifier Darknet does not count (and a float's rounding)
    assert set(s["units"]) >= {"darknet_bflops", "darknet_bflops_without_shortcut", "stages.darknet_bflops",
                               "layers.bflops"}
    assert all(u.startswith("BFLOP (1e9 FLOP)") for u in s["units"].values())
    fc_flops = 2 * group_counts(net.plan, by="kind", metrics=("macs",))["linear"]["macs"]
    assert fc_flops == 2 * 1024 * 1000
    loader = (s["conventions"]["darknet"]["value"] - fc_flops) / 1e9
    assert s["darknet_bflops_without_shortcut"] == pytest.approx(loader, rel=1e-6)
    assert s["darknet_bflops"] > s["darknet_bflops_without_shortcut"]   # cspdarknet53 has residual shortcuts
    # the cfg's stages and the design's stages count the same in every convention
    design = summarize(get_preset("cspdarknet53"))
    for key in KEYS:
        assert s["conventions"][key]["value"] == design["conventions"][key]["value"], key
        rows = stage_rows(s, key)
        assert sum(r[REGISTRY[key].label] for r in rows) == s["conventions"][key]["value"], key
        assert DARKNET_BFLOPS_COLUMN in rows[0]
    rc, out, _ = run_cli(capsys, "summary", exported_cfg)
    assert rc == 0 and f"Darknet BFLOPs {s['darknet_bflops']:.3f} (billions of FLOPs" in out


# --------------------------------------------------------------------------- sweeps
def test_a_sweep_counts_every_convention():
    from explorer.counts.sweep import CONVENTION_LABELS, TWIN_PCT_CONVENTIONS, sweep, value_column
    from explorer.design import with_changes

    base = get_preset("cspdensenet121").replace(input_size=64)
    assert list(CONVENTION_LABELS) == list(KEYS)
    df = sweep(base, [("growth_rate", [16, 32])], with_twin=True)
    for key in KEYS:
        out, col, label = value_column(df, "macs", key, False, base, ["growth_rate"])
        assert label == REGISTRY[key].label
        assert list(out[col]) == [count(plan_network(with_changes(base, {"growth_rate": g})), key) for g in (16, 32)]
        if key in TWIN_PCT_CONVENTIONS:
            _, pct_col, _ = value_column(df, "macs", key, True, base, ["growth_rate"])
            assert pct_col == "macs_vs_twin_pct"
        else:
            with pytest.raises(ConfigError, match="convention"):
                value_column(df, "macs", key, True, base, ["growth_rate"])
    with pytest.raises(ConfigError, match="convention"):
        value_column(df, "macs", "gflops", False, base, ["growth_rate"])
