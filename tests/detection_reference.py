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
