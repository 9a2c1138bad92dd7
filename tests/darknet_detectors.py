"""Darknet detector cfgs for the tests: generated in the product (``explorer/io/darknet_texts.py``, which the
``darknet_cfg`` preset ``yolov4_csp`` reads too)."""
from explorer.io.darknet_texts import ANCHORS, DETECTORS, Cfg, yolov3, yolov3_tiny, yolov4, yolov4_csp, yolov4_tiny

__all__ = ["ANCHORS", "Cfg", "DETECTORS", "yolov3", "yolov3_tiny", "yolov4", "yolov4_csp", "yolov4_tiny"]
