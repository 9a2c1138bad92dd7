"""A short run of the decoder fuzzer (the full run is benchmarks/fuzz_decoders.py)."""
import importlib.util
import pathlib

SCRIPT = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "fuzz_decoders.py"


def test_url_and_json_decoders_only_raise_config_error(capsys, monkeypatch):
    spec = importlib.util.spec_from_file_location("fuzz_decoders", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    monkeypatch.setattr("sys.argv", ["fuzz_decoders.py", "--n", "4000", "--seed", "7"])
    rc = mod.main()
    out = capsys.readouterr().out
    assert "other exceptions: 0" in out, out
    assert rc == 0, out
