"""The CLI, design parsing / URL state, diagrams, exports, sweeps and latency."""
import json
import subprocess
import sys
import threading
import time

import pytest

from cspnet import ConfigError, CSPConfig, get_preset, preset_names
from explorer.cli import main
from explorer.counts.diagram import to_dot
from explorer.counts.sweep import parse_vary, sweep
from explorer.design import text as D
from explorer.real.export import ExportError, dot_available, render_dot
from explorer.real.latency import DEVICE_QUEUE, BenchmarkError, BenchRequest, benchmark, compare_latency


def run_cli(capsys, *args):
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


# ----------------------------------------------------------------------------- CLI
def test_presets_lists_every_preset_with_exact_counts(capsys):
    rc, out, _ = run_cli(capsys, "presets", "--json")
    assert rc == 0
    rows = {r["name"]: r for r in json.loads(out)}
    assert set(rows) == set(preset_names())
    for r in rows.values():
        if r["reference_params"] is not None:
            assert r["params"] == r["reference_params"], r["name"]


def test_summary_json_has_the_documented_keys(capsys):
    rc, out, _ = run_cli(capsys, "summary", "cspdensenet121", "--json")
    assert rc == 0
    s = json.loads(out)
    for key in ("params", "macs", "fvcore_macs", "cio", "stages", "memory", "conventions", "twin"):
        assert key in s
    st1 = s["stages"][1]
    assert st1["name"] == "stages.0"
    assert st1["shapes"]["part1"] == [32, 56, 56]
    assert st1["shapes"]["part2"] == [32, 56, 56]
    assert s["twin"]["deltas"]["params"]["twin"] == 7_978_856


def test_summary_set_and_input_size(capsys):
    rc, out, _ = run_cli(capsys, "summary", "densenet121", "--set", "fusion=csp", "--set", "split_ratio=0.25",
                         "--set", "repeats=2,2,2,2", "--input-size", "128", "--json")
    assert rc == 0
    s = json.loads(out)
    assert s["config"]["fusion"] == "csp" and s["config"]["repeats"] == [2, 2, 2, 2]
    assert s["input_size"] == 128
    assert s["stages"][1]["shapes"]["part2"][0] == 16  # floor(64 * 0.25)


def test_summary_table_and_csv(capsys):
    rc, out, _ = run_cli(capsys, "summary", "resnet50")
    assert rc == 0 and "25,557,032" in out
    rc, out, _ = run_cli(capsys, "summary", "resnet50", "--csv", "--convention", "fvcore")
    assert rc == 0 and out.splitlines()[0].startswith("stage,")


def test_stage_table_repeats_are_blank_for_stem_and_head(capsys):
    from explorer.counts.analysis import stage_frame, stage_table, summarize

    rows = stage_table(summarize(get_preset("densenet121")))
    assert [r["repeats"] for r in rows] == ["", 6, 12, 24, 16, ""]
    df = stage_frame(rows)
    assert str(df["repeats"].dtype) == "Int64" and df["repeats"].isna().tolist() == [True] + [False] * 4 + [True]
    rc, out, _ = run_cli(capsys, "summary", "densenet121")
    assert rc == 0 and "NaN" not in out and "None" not in out and "6.0" not in out
    rc, out, _ = run_cli(capsys, "summary", "densenet121", "--csv")
    lines = out.splitlines()
    assert lines[1].startswith("stem,,,") and lines[2].startswith("stages.0,none,6,")
    assert lines[-1].startswith("head,,,")


def test_config_file_round_trip(tmp_path, capsys):
    cfg = get_preset("cspdensenet121", split_ratio=0.75)
    path = tmp_path / "design.json"
    path.write_text(cfg.to_json())
    rc, out, _ = run_cli(capsys, "summary", str(path), "--json")
    assert rc == 0 and json.loads(out)["config"]["split_ratio"] == 0.75


@pytest.mark.parametrize("args,field", [
    (["summary", "densenet121", "--set", "split_ratio=1.5"], "split_ratio"),
    (["summary", "densenet121", "--set", "growth_rate=-3"], "growth_rate"),
    (["summary", "densenet121", "--set", "repeats="], "repeats"),
    (["summary", "densenet121", "--set", "fusion=sideways"], "fusion"),
    (["summary", "densenet121", "--set", "colour=red"], "colour"),
    (["summary", "densenet121", "--set", "split_ratio"], "--set"),
    (["summary", "densenet121", "--input-size", "8"], "input_size"),
    (["summary", "nosuchnet"], "design"),
    (["summary", "/nonexistent/x.json"], "design"),
    (["sweep", "densenet121", "--vary", "split_ratio=0.9:0.1:0.1"], "split_ratio"),
    (["bench", "densenet121", "--batch", "0"], "batch"),
    (["diagram", "densenet121", "--format", "pdf"], "format"),
])
def test_bad_input_exits_2_with_one_line_naming_the_field(capsys, args, field):
    rc, out, err = run_cli(capsys, *args)
    assert rc == 2
    assert err.count("\n") == 1 and "Traceback" not in err
    assert field in err


def test_cli_as_a_subprocess_never_shows_a_traceback():
    p = subprocess.run([sys.executable, "-m", "explorer", "summary", "densenet121", "--set", "split_ratio=abc"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().startswith("error: split_ratio")
    assert "Traceback" not in p.stderr


def test_sweep_cli_csv(capsys):
    rc, out, _ = run_cli(capsys, "sweep", "cspdensenet121", "--vary", "split_ratio=0.25:1.0:0.25",
                         "--vary", "growth_rate=16,32", "--csv")
    assert rc == 0
    lines = out.strip().splitlines()
    assert len(lines) == 1 + 8
    assert lines[0].startswith("split_ratio,growth_rate,params")


def test_diagram_cli(tmp_path, capsys):
    out_file = tmp_path / "d.dot"
    rc, _, err = run_cli(capsys, "diagram", "cspdensenet121", "--format", "dot", "-o", str(out_file))
    assert rc == 0 and out_file.read_text().startswith("digraph")


# ----------------------------------------------------------------------------- URL state
@pytest.mark.parametrize("name", ["densenet121", "cspdensenet121_fusion_last", "cspresnet50", "cspdarknet53"])
def test_url_round_trip(name):
    cfg = get_preset(name).replace(split_ratio=0.75, input_size=192)
    q = D.to_query(cfg, preset=name)
    assert all(isinstance(v, str) for v in q.values())
    back, preset = D.from_query(q)
    assert preset == name
    assert back.replace(name=cfg.name) == cfg


def test_url_round_trip_across_families():
    cfg = D.with_changes(get_preset("densenet121"), {"family": "darknet"})
    back, _ = D.from_query(D.to_query(cfg, preset="densenet121"))
    assert back.replace(name=cfg.name) == cfg


@pytest.mark.parametrize("params,field", [
    ({"preset": "nope"}, "preset"),
    ({"split_ratio": "2"}, "split_ratio"),
    ({"evil": "1"}, "evil"),
    ({"growth_rate": "1" * 500}, "growth_rate"),
    ({f"k{i}": "1" for i in range(100)}, "url"),
])
def test_bad_url_params_raise_config_error(params, field):
    with pytest.raises(ConfigError) as exc:
        D.from_query(params)
    assert exc.value.field == field


# ----------------------------------------------------------------------------- errors name the field given
EIGHT = "6,12,24,16,6,12,24,16"


def test_cli_more_stages_than_fit_names_repeats_and_the_allowed_range(capsys):
    rc, out, err = run_cli(capsys, "summary", "densenet121", "--set", f"repeats={EIGHT}")
    assert rc == 2 and err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("error: repeats: 8 stages are too many for input 224")
    assert "allowed 1 to 6 stages at input 224" in err and "input_size 509 or more for 8 stages" in err
    assert not any(f in err for f in ("widths", "growth_rate", "bn_size"))
    # at 512 px, 8 DenseNet stages fit: every per-stage field follows (growth 32 in every stage)
    rc, out, err = run_cli(capsys, "summary", "densenet121", "--set", f"repeats={EIGHT}", "--set", "input_size=512",
                           "--json")
    assert rc == 0, err
    c = json.loads(out)["config"]
    assert c["repeats"] == [6, 12, 24, 16] * 2 and c["growth_rate"] == [32] * 8 and c["widths"] == [0] * 8


def test_cli_new_stage_count_with_per_stage_values_names_repeats(capsys):
    """PeleeNet's bn_size has one value per stage (1,2,4,4): a fifth stage is an error about repeats."""
    rc, _, err = run_cli(capsys, "summary", "peleenet", "--set", "repeats=3,4,8,6,2")
    assert rc == 2 and err.startswith("error: repeats: 5 stages, but bn_size has 4 values (1,2,4,4)")
    assert "give bn_size as one value or 5 values too" in err
    rc, out, err = run_cli(capsys, "summary", "peleenet", "--set", "repeats=3,4,8,6,2", "--set", "bn_size=1,2,4,4,4",
                           "--json")
    assert rc == 0, err


@pytest.mark.parametrize("preset,changes,field", [
    ("densenet121", {"repeats": (6, 12, 24, 16, 6, 12, 24, 16)}, "repeats"),
    ("resnet50", {"repeats": (3, 4)}, "repeats"),                        # widths/strides follow or name repeats
    ("resnet50", {"repeats": (3, 4, 6, 3, 2)}, "repeats"),
    ("densenet201", {"growth_rate": 600}, "growth_rate"),               # a size bound: about the field given
    ("densenet121", {"repeats": (6, 12, 24, 16, 6, 12, 24, 16), "growth_rate": 16}, "repeats"),
])
def test_an_error_is_about_a_field_the_user_gave(preset, changes, field):
    try:
        D.with_changes(get_preset(preset), changes)
    except ConfigError as exc:
        assert exc.field == field and str(exc).startswith(f"{field}: ")
    else:
        assert field == "repeats" and len(changes["repeats"]) < 4  # fewer stages can be valid


def test_per_stage_fields_a_family_does_not_read_follow_the_stage_count():
    """DenseNet does not read widths, strides, ...: whatever their length, they never make it invalid."""
    cfg = CSPConfig(family="densenet", repeats=(2, 2), growth_rate=8, widths=(64, 128, 256, 512), strides=(1, 2, 2),
                    groups=(1, 1, 1, 1, 1, 1), input_size=64)
    assert cfg.widths == (64, 128) and cfg.strides == (1, 2) and cfg.groups == (1, 1)
    assert CSPConfig(family="densenet", repeats=(2, 2, 2), growth_rate=8, widths=(64, 128), input_size=64).widths == \
        (64, 128, 128)
    # their values are still checked (the error names them: they are what the user gave)
    with pytest.raises(ConfigError) as exc:
        CSPConfig(family="densenet", widths=(-1, 5))
    assert exc.value.field == "widths"
    # a family that reads the field still refuses a wrong number of values
    with pytest.raises(ConfigError) as exc:
        CSPConfig.from_dict({**get_preset("resnet50").to_dict(), "repeats": [3, 4]})
    assert exc.value.field == "widths"


def test_url_with_more_stages_names_repeats_and_round_trips_when_valid():
    with pytest.raises(ConfigError) as exc:
        D.from_query({"preset": "densenet121", "repeats": EIGHT})
    assert exc.value.field == "repeats" and "allowed 1 to 6 stages" in str(exc.value)
    cfg, _ = D.from_query({"preset": "densenet121", "repeats": EIGHT, "input_size": "512"})
    q = D.to_query(cfg, "densenet121")
    assert q == {"preset": "densenet121", "repeats": EIGHT, "input_size": "512"}  # no followers in the URL
    assert D.from_query(q)[0] == cfg


# ----------------------------------------------------------------------------- diagrams
def test_dot_shows_split_bypass_and_merge_with_shapes():
    dot = to_dot(get_preset("cspdensenet121"))
    assert dot.count("subgraph cluster_") == 4
    assert "part 1: 32\u00d756\u00d756" in dot
    assert "dense block \u00d724" in dot
    assert "partial transition" in dot and "concat" in dot


def test_dot_expands_a_stage_and_elides_long_runs():
    dot = to_dot(get_preset("densenet201"), expand=("stages.2",))
    assert "denselayer1" in dot and "more blocks" in dot


@pytest.mark.skipif(not dot_available(), reason="Graphviz `dot` not installed (scripts/install.sh installs it)")
def test_render_svg_and_png():
    dot = to_dot(get_preset("cspdarknet53"))
    svg = render_dot(dot, "svg")
    assert b"<svg" in svg
    png = render_dot(dot, "png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_rejects_unknown_format():
    with pytest.raises(ExportError):
        render_dot("digraph{}", "pdf")


# ----------------------------------------------------------------------------- sweeps
def test_sweep_marks_invalid_points_instead_of_failing():
    df = sweep(get_preset("cspdensenet121"), [parse_vary("transition_ratio=0.001,0.5,1.0")])
    assert (df["error"] != "").sum() == 1
    assert df.loc[df["error"] == "", "macs"].notna().all()


def test_sweep_twin_columns():
    df = sweep(get_preset("cspdensenet121"), [parse_vary("split_ratio=0.5,1.0")], with_twin=True)
    assert "macs_vs_twin_pct" in df.columns


def test_sweep_defaults_to_a_knob_that_acts():
    from explorer.counts.sweep import csp_version, default_knobs, idle_knobs, knob_acts

    plain, csp = get_preset("densenet121"), get_preset("cspdensenet121")
    assert not knob_acts(plain, "split_ratio") and knob_acts(plain, "split_ratio", swept=("fusion",))
    assert knob_acts(csp, "split_ratio") and not knob_acts(plain, "widths")  # DenseNet does not read widths
    assert default_knobs(csp) == ("split_ratio", "growth_rate")
    assert default_knobs(plain) == ("growth_rate", None)
    assert default_knobs(get_preset("resnet50"))[0] == "widths"
    assert idle_knobs(plain, ["split_ratio", "transition_ratio"]) == ["split_ratio", "transition_ratio"]
    assert idle_knobs(plain, ["split_ratio", "fusion"]) == []
    # a CSP-only knob on a plain design: every column is the same design
    df = sweep(plain, [parse_vary("split_ratio=0.25,0.5,1.0")])
    assert df["macs"].nunique() == 1
    # the CSP version: the preset it equals, or the design renamed
    assert csp_version(plain) == (csp, "cspdensenet121")
    new, name = csp_version(get_preset("resnet50"))
    assert name is None and new.fusion == "csp" and new.name == "resnet50 (CSP)"


# ----------------------------------------------------------------------------- latency
TINY = CSPConfig(repeats=(1, 1), growth_rate=8, stem_channels=16, input_size=64, num_classes=10, fusion="csp")


def test_cpu_benchmark_record():
    seen = []
    rec = benchmark(TINY, BenchRequest(batch_sizes=(1, 2), warmup=1, runs=3), progress=lambda f, m: seen.append(f))
    assert rec["environment"]["device"] == "cpu" and rec["environment"]["torch"]
    assert [r["batch"] for r in rec["results"]] == [1, 2]
    r = rec["results"][0]
    assert r["p10_ms"] <= r["median_ms"] <= r["p90_ms"]
    assert set(r["per_stage_ms"]) == {"stem", "stages.0", "stages.1", "head"}
    assert seen[-1] == 1.0


def test_twin_latency_comparison():
    seen = []
    rec = compare_latency(TINY, BenchRequest(warmup=1, runs=4), progress=lambda f, m: seen.append(f), rounds=2)
    assert rec["twin"]["config"]["fusion"] == "none"
    assert len(rec["comparison"]) == 1
    assert "alternate between the models in 2 rounds" in rec["design"]["note"]
    assert rec["design"]["results"][0]["runs"] == rec["twin"]["results"][0]["runs"] == 4
    assert seen == sorted(seen) and seen[-1] == 1.0


def test_cuda_request_without_gpu_is_a_message():
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(BenchmarkError, match="no CUDA GPU"):
        benchmark(TINY, BenchRequest(device="cuda"))


def test_device_queue_serialises_runs_and_reports_positions():
    active, overlaps, positions = [0], [0], []
    lock = threading.Lock()

    def job(i):
        with DEVICE_QUEUE.slot("test-device", on_wait=positions.append):
            with lock:
                active[0] += 1
                overlaps[0] = max(overlaps[0], active[0])
            time.sleep(0.05)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=job, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps[0] == 1
    assert positions and max(positions) >= 1
    assert DEVICE_QUEUE.waiting("test-device") == 0


def test_cancel_while_waiting():
    from explorer.real.latency import Cancelled

    release = threading.Event()

    def holder():
        with DEVICE_QUEUE.slot("cancel-device"):
            release.wait(5)

    t = threading.Thread(target=holder)
    t.start()
    time.sleep(0.05)
    with pytest.raises(Cancelled):
        with DEVICE_QUEUE.slot("cancel-device", cancelled=lambda: True):
            pass
    release.set()
    t.join()
    assert DEVICE_QUEUE.waiting("cancel-device") == 0


def test_benchmark_stops_at_its_time_limit(monkeypatch):
    """On a clock that moves 0.25 s per look, a 1 s limit stops 1000 runs after a handful (the wall-clock
    bound is checked by benchmarks/timing_bounds.py)."""
    import types

    import explorer.real.latency as L

    looks = []

    def monotonic():
        looks.append(1)
        return 0.25 * len(looks)

    monkeypatch.setattr(L, "time", types.SimpleNamespace(monotonic=monotonic, perf_counter=time.perf_counter,
                                                         sleep=time.sleep))
    req = BenchRequest(batch_sizes=(1,), warmup=0, runs=1000, per_stage=False, max_seconds=1)
    with pytest.raises(BenchmarkError, match="stopped after 1 s"):
        benchmark(get_preset("densenet121", input_size=64), req)
    assert 4 <= len(looks) <= 12


def test_cancel_during_a_run():
    from explorer.real.latency import Cancelled

    calls = [0]

    def cancelled():
        calls[0] += 1
        return calls[0] > 3

    with pytest.raises(Cancelled):
        benchmark(TINY, BenchRequest(warmup=2, runs=50, per_stage=False), cancelled=cancelled)
    assert DEVICE_QUEUE.waiting("cpu") == 0
