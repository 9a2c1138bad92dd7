"""A short run of the decoder fuzzer (the full run is benchmarks/fuzz_decoders.py)."""
import importlib.util
import pathlib

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz_decoders.py"


def test_url_json_and_detection_yaml_decoders_only_raise_config_error(capsys, monkeypatch):
    """URL queries, design JSON and detection YAMLs (Ultralytics', YOLOv5's and YOLOv7's planners) mutated: each
    decodes or raises ConfigError."""
    spec = importlib.util.spec_from_file_location("fuzz_decoders", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    # no time bound here (the script's --max-ms is the benchmark's; a busy machine is no failure of the decoders)
    monkeypatch.setattr("sys.argv", ["fuzz_decoders.py", "--n", "4000", "--seed", "7", "--max-ms", "1e12"])
    rc = mod.main()
    out = capsys.readouterr().out
    assert "other exceptions: 0" in out, out
    assert "detection YAML 500)" in out, out
    assert rc == 0, out
