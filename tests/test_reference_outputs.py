"""The committed run of benchmarks/reference_outputs.py (the generated detectors against Ultralytics'
DetectionModel with the same weights; it needs ultralytics, so the suite reads its results file): it covers
every detector preset, at this project's parameter counts, and the outputs are Ultralytics' as built (the
detectors' BatchNorms take Ultralytics' eps 1e-3; bit for bit but for YOLO11's attention, which agrees to
rounding)."""
from __future__ import annotations

import json
import pathlib

from cspnet import get_preset, plan_network, preset_names

RESULTS = pathlib.Path(__file__).resolve().parent.parent / "benchmarks" / "results" / "reference_outputs.json"


def test_every_detector_preset_computes_ultralytics_outputs():
    doc = json.loads(RESULTS.read_text())
    rows = {r["preset"]: r for r in doc["rows"]}
    assert sorted(rows) == sorted(n for n in preset_names() if get_preset(n).is_detector)
    size = doc["input_size"]
    for name, r in rows.items():
        cfg = get_preset(name)
        # the run's model is the preset's as planned now (a preset changed since the run fails here: rerun it)
        assert r["params_ours"] == r["params_ultralytics"] == plan_network(cfg).params, name
        anchors = sum((size // s) ** 2 for s in (8, 16, 32))
        assert r["output_shape"] == [1, 4 + cfg.num_classes, anchors], name
        # same arithmetic: float64 differences at rounding level, relative to the outputs' scale
        assert r["head_diff_eps_matched_fp64"] <= 1e-12 * r["head_scale"], name
        assert r["decoded_diff_eps_matched_fp64"] <= 1e-12 * r["decoded_scale"], name
        assert r["head_diff_eps_matched_fp32"] <= 1e-5 * r["head_scale"], name
        if not name.startswith("yolo11"):   # no attention: the same operations in the same order
            assert r["head_diff_eps_matched_fp32"] == r["decoded_diff_eps_matched_fp32"] == 0.0, name
        # as built: Ultralytics' BatchNorm eps (1e-3, its initialize_weights; DetectStyle.bn), so the model as
        # built is the one compared (bit for bit but for YOLO11's attention)
        assert r["bn_eps_ours"] == r["bn_eps_ultralytics"] == [1e-3], name
        assert r["head_diff_built_fp32"] == r["head_diff_eps_matched_fp32"], name
        if not name.startswith("yolo11"):
            assert r["head_diff_built_fp32"] == 0.0, name


def test_yolov10_and_yolo12_yaml_files_compute_ultralytics_outputs():
    """``reference_outputs.py --yaml-files``: Ultralytics' own yolov10n/s and yolo12n/l YAMLs opened as yolo_yaml
    designs, Ultralytics' weights copied by name; the output is v10Detect's one-to-one branch (Detect's head for
    YOLO12), equal to rounding (attention: PSA, A2C2f's area attention)."""
    from detection_reference import V10_V12

    doc = json.loads((RESULTS.parent / "reference_outputs_yaml.json").read_text())
    rows = {r["file"]: r for r in doc["rows"]}
    assert set(rows) == {"yolov10n", "yolov10s", "yolo12n", "yolo12l"}
    anchors = sum((doc["input_size"] // s) ** 2 for s in (8, 16, 32))
    for name, r in rows.items():
        assert r["params_ours"] == r["params_ultralytics"] == V10_V12[name][1], name
        assert r["tensors_copied"] > 0 and r["output_shape"] == [1, 84, anchors], name
        assert r["branch"] == ("one2one" if name.startswith("yolov10") else "the head's"), name
        assert r["head_diff_fp64"] <= 1e-12 * r["head_scale"], name
        assert r["head_diff_fp32"] <= 1e-5 * r["head_scale"], name
