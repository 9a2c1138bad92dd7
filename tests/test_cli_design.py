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


def test_benchmark_stops_at_its_time_limit():
    req = BenchRequest(batch_sizes=(1,), warmup=0, runs=1000, per_stage=False, max_seconds=1)
    t = time.monotonic()
    with pytest.raises(BenchmarkError, match="stopped after 1 s"):
        benchmark(get_preset("densenet121", input_size=64), req)
    assert time.monotonic() - t < 30


def test_cancel_during_a_run():
    from explorer.real.latency import Cancelled

    calls = [0]

    def cancelled():
        calls[0] += 1
        return calls[0] > 3

    with pytest.raises(Cancelled):
        benchmark(TINY, BenchRequest(warmup=2, runs=50, per_stage=False), cancelled=cancelled)
    assert DEVICE_QUEUE.waiting("cpu") == 0
