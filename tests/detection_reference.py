"""Reference constants of Ultralytics detection models, as Ultralytics' own tools print them (unfused, nc 80,
640 px), so the suite needs neither Ultralytics nor the shared folder.

Copied from ``../shared/reference/detection_exact.csv`` (its ``source_class``/``printed_by`` columns): the
yolov8 and yolo11 rows are the summary comments in Ultralytics' ``yolov8.yaml`` (commit 023641f5) and
``yolo11.yaml`` (commit 0a2ae50b); yolov8n-p2, yolov5su and yolov5mu are Ultralytics console output in
third-party logs.  ``test_ultralytics_detect.test_constants_are_the_shared_csvs`` compares them with the CSV
where it is present.  model: (YAML, scale, params, printed GFLOPs as printed, the exact float where the source
gives one or None)."""

DETECTION = {
    "YOLOv8n": ("v8", "n", 3_157_200, "8.9", 8.8575488),
    "YOLOv8s": ("v8", "s", 11_166_560, "28.8", None),
    "YOLOv8m": ("v8", "m", 25_902_640, "79.3", None),
    "YOLOv8l": ("v8", "l", 43_691_520, "165.7", None),
    "YOLOv8x": ("v8", "x", 68_229_648, "258.5", None),
    "YOLO11n": ("11", "n", 2_624_080, "6.6", None),
    "YOLO11s": ("11", "s", 9_458_752, "21.7", None),
    "YOLO11m": ("11", "m", 20_114_688, "68.5", None),
    "YOLO11l": ("11", "l", 25_372_160, "87.6", None),
    "YOLO11x": ("11", "x", 56_966_176, "196.0", None),
    "YOLOv8n-p2": ("v8-p2", "n", 3_354_144, "17.4", 17.4345728),
    "YOLOv5su": ("v5u", "s", 9_153_152, "24.2", None),
    "YOLOv5mu": ("v5u", "m", 25_111_456, "64.6", None),
}

# Ultralytics' fused figures ("summary (fused)": model.fuse(), then model.info(), each Conv's BatchNorm folded into
# it), from detection_exact.csv's yolov8n.pt / yolo11n.pt rows (Ultralytics console output in third-party logs;
# the docs print the same 3.2M / 8.7 and 2.6M / 6.5).  model: (YAML, scale, fused params, printed GFLOPs as printed)
DETECTION_FUSED = {
    "YOLOv8n": ("v8", "n", 3_151_904, "8.7"),
    "YOLO11n": ("11", "n", 2_616_248, "6.5"),
}

# yolov8-p6.yaml (outputs P3-P6, C2 in the neck), nc 80, 640 px: scale -> (unfused params, unfused get_flops, fused
# params, fused GFLOPs as printed).  Unfused: Ultralytics 8.4.190's own build, ``DetectionModel("yolov8{s}-p6.yaml")``,
# its parameters summed and ``get_flops(model, 640)`` (the recipe in ../shared/reference/reference_tools.md); that
# venv's ultralytics-thop 2.2.3 counts nearest upsampling 0, so its figure is the ``yolov5`` convention's (the
# ``ultralytics`` table without the upsampling row; the YAML comments' older thop counted it).  Fused: the YAML's
# "summary (fused)" comments (detection_exact.csv's YOLOv8{s}-p6 rows, ultralytics@741f8f19), the parameters the
# same 8.4.190 build has after ``model.fuse()``.
DETECTION_P6 = {
    "n": (4_984_352, 8.8454528, 4_976_656, "8.7"),
    "s": (17_911_792, 28.726336, 17_897_168, "28.5"),
    "m": (44_887_488, 83.4603392, 44_862_352, "83.1"),
    "l": (62_384_016, 167.8493312, 62_351_440, "167.3"),
    "x": (97_423_072, 261.835968, 97_382_352, "261.1"),
}

# yolov10{n,s,m,b,l,x}.yaml and yolo12.yaml at scales n-x (Ultralytics 8.4.190's files, cfg/models/v10 and 12),
# nc 80, 640 px: model -> (scale, params, get_flops).  Ultralytics 8.4.190's own build,
# ``DetectionModel("yolov10n.yaml")`` / ``DetectionModel("yolo12n.yaml")`` (training mode, as built: v10Detect with
# both its one-to-many and one-to-one heads), its parameters summed and ``get_flops(model, 640)`` (the recipe in
# ../shared/reference/reference_tools.md).  That venv's ultralytics-thop 2.2.3 counts nearest upsampling 0 and
# fits the attention's matrix products exactly at 640 (its proxies' quadratic), so its figure is the ``yolov5``
# convention's table on the 640 plan.  Agreeing sources: detection_exact.csv's YOLOv10n 2,775,520 and YOLOv10m
# 16,576,768 (third-party console logs; their older thop printed 8.7 / 64.5), and yolo12.yaml's own summary comments
# (2,602,288 / 9,284,096 / 20,199,168 / 26,450,784 / 59,210,784 parameters).
V10_V12 = {
    "yolov10n": ("n", 2_775_520, 8.7994112),
    "yolov10s": ("s", 8_128_272, 25.2277248),
    "yolov10m": ("m", 16_576_768, 64.6086912),
    "yolov10b": ("b", 20_574_384, 99.4681344),
    "yolov10l": ("l", 25_888_688, 127.9894016),
    "yolov10x": ("x", 31_808_960, 171.9898112),
    "yolo12n": ("n", 2_602_288, 7.6341376),
    "yolo12s": ("s", 9_284_096, 23.65312),
    "yolo12m": ("m", 20_199_168, 71.3478656),
    "yolo12l": ("l", 26_450_784, 96.2949376),
    "yolo12x": ("x", 59_210_784, 210.1457408),
}

# YOLOv5's own (ultralytics/yolov5) and YOLOv7's (WongKinYiu/yolov7) detection YAMLs, nc 80, 640 px: model ->
# (test YAML, unfused params, unfused GFLOPs as model_info prints them, fused params, fused GFLOPs).  Unfused:
# the model as train.py builds it from the YAML; fused: Conv+BN folded (YOLOv7 also RepConv re-parameterized),
# as detect.py/val.py print after "Fusing layers...".  Sources (detection_exact.csv): yolov5s 7,235,389 / 16.6 and
# 7,225,885 / 16.4 (yolov5 v7.0 tutorial.ipynb; the same architecture from v6.0 on: the v6.1 tutorial's 16.5 is
# thop < 0.1), yolov5n fused 1,867,405 / 4.5 and unfused 1,872,157 / 4.6 (third-party logs), yolov5x fused
# 86,705,005 (v6.1/v6.2 tutorials), yolov5s6 fused 12,612,508 and yolov7(-tiny) fused 36,905,341 / 6,219,709
# (yolov7 notebooks: the released weights are the deploy cfgs fused), the v5.0-era yolov5s 7,276,605 / 17.1 (v6.0
# tutorial, run on v5.0 code; 7,266,973 fused, its detect cell).  The other figures were read from the
# repositories' own model builders (ultralytics/yolov5@5081342, WongKinYiu/yolov7@a207844 models/yolo.py, thop
# >= 0.1 at the max(stride, 32) probe scaled to 640; the recipe in ../shared/reference/reference_tools.md):
# yolov5m/l/x unfused and m/l fused, yolov5s6 unfused, yolov7 and yolov7-tiny (training and deploy cfgs)
# unfused, yolov7x.  None: no source figure.
REPOS = {
    "yolov5n": ("yolov5n", 1_872_157, "4.6", 1_867_405, "4.5"),
    "yolov5s": ("yolov5s", 7_235_389, "16.6", 7_225_885, "16.4"),
    "yolov5m": ("yolov5m", 21_190_557, "49.2", 21_172_173, "48.9"),
    "yolov5l": ("yolov5l", 46_563_709, "109.6", 46_533_693, "109.0"),
    "yolov5x": ("yolov5x", 86_749_405, "206.3", 86_705_005, "205.4"),
    "yolov5s6": ("yolov5s6", 12_626_620, "17.0", 12_612_508, "16.8"),
    "yolov5s-v5.0": ("yolov5s-v5.0", 7_276_605, None, 7_266_973, None),
    "yolov7": ("yolov7", 37_622_682, "106.5", 36_907_898, "104.5"),
    "yolov7-deploy": ("yolov7-deploy", 37_620_125, "106.5", 36_905_341, "104.5"),
    "yolov7-tiny": ("yolov7-tiny", 6_228_762, "13.9", 6_221_370, "13.7"),
    "yolov7-tiny-deploy": ("yolov7-tiny-deploy", 6_227_101, "13.9", 6_219_709, "13.7"),
    "yolov7x": ("yolov7x", 71_347_394, "190.6", 71_314_746, "189.7"),
}


def mutated_layer(text: str, i: int, k: int, value) -> str:
    """A detection YAML ``text`` with item ``k`` of layer ``i`` (backbone and head counted together, modulo their
    count; item 3, the args: its first argument) replaced by ``value``: the fuzz tests' one mutation."""
    import yaml

    doc = yaml.safe_load(text)
    rows = doc["backbone"] + doc["head"]
    row = rows[i % len(rows)]
    if k == 3 and row[3]:
        row[3][0] = value
    else:
        row[k] = value
    n_bb = len(doc["backbone"])
    doc["backbone"], doc["head"] = rows[:n_bb], rows[n_bb:]
    return yaml.safe_dump(doc)
