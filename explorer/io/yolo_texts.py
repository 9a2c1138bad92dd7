"""The YOLO repositories' detection YAMLs written from a compact description of their layers (pure Python).

The presets of the ``yolo_yaml`` family (``explorer.io.yolo_family``: YOLOv5's anchor-based ``yolov5{n,s,m,l,x}``,
``yolov7``, ``yolov7_tiny``) and the tests' variants (the v5.0-era yolov5s, yolov5s6, the deploy files,
yolov7x) hold YAML texts generated here from lists: each layer as ``[from, repeats, module, args]`` (the
models' published layer structure), YOLOv7's ELAN and MP blocks by a function that writes their layers out.
The repositories' files (GPL/AGPL) are not copied: the same layers, from, repeats and args, no comments.  The
texts are what the repositories' ``parse_model`` reads (``explorer.io.yolov5_det``, ``explorer.io.yolov7_det``
plan them; their parameter counts equal the repositories' own builds: tests/test_yolo_repos_detect.py).
"""
from __future__ import annotations

UP = [-1, 1, "nn.Upsample", ["None", 2, "nearest"]]
V5_ANCHORS = [[10, 13, 16, 30, 33, 23], [30, 61, 62, 45, 59, 119], [116, 90, 156, 198, 373, 326]]
V7_ANCHORS = [[12, 16, 19, 36, 40, 28], [36, 75, 76, 55, 72, 146], [142, 110, 192, 243, 459, 401]]


def yaml_text(top: dict, backbone: list, head: list) -> str:
    """A model YAML: the top-level keys (``anchors`` as one row per output scale, a mapping such as Ultralytics'
    ``scales`` one key per line), then ``backbone:`` and ``head:`` with one ``[from, repeats, module, args]`` row
    per line."""
    def value(v):
        if v is None:
            return "null"
        if isinstance(v, bool):
            return "True" if v else "False"
        if isinstance(v, str):
            return v if v in ("nc", "anchors", "None") or v[0].isupper() or v.startswith("nn.") else f"'{v}'"
        if isinstance(v, list):
            return "[" + ", ".join(value(x) for x in v) + "]"
        return str(v)

    lines = []
    for k, v in top.items():
        if isinstance(v, dict):
            lines.append(f"{k}:")
            lines += [f"  {kk}: {value(vv)}" for kk, vv in v.items()]
        elif k != "anchors" or not isinstance(v, list):
            lines.append(f"{k}: {value(v)}")
    if isinstance(top.get("anchors"), list):
        lines.append("anchors:")
        lines += [f"  - {value(r)}" for r in top["anchors"]]
    for section, rows in (("backbone", backbone), ("head", head)):
        lines.append(f"{section}:")
        lines += [f"  - {value(r)}" for r in rows]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- YOLOv5 (models/yolov5{n..x}.yaml, v6.0+)
V5_BACKBONE = [[-1, 1, "Conv", [64, 6, 2, 2]], [-1, 1, "Conv", [128, 3, 2]], [-1, 3, "C3", [128]],
               [-1, 1, "Conv", [256, 3, 2]], [-1, 6, "C3", [256]], [-1, 1, "Conv", [512, 3, 2]], [-1, 9, "C3", [512]],
               [-1, 1, "Conv", [1024, 3, 2]], [-1, 3, "C3", [1024]], [-1, 1, "SPPF", [1024, 5]]]
V5_HEAD = [[-1, 1, "Conv", [512, 1, 1]], UP, [[-1, 6], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
           [-1, 1, "Conv", [256, 1, 1]], UP, [[-1, 4], 1, "Concat", [1]], [-1, 3, "C3", [256, False]],
           [-1, 1, "Conv", [256, 3, 2]], [[-1, 14], 1, "Concat", [1]], [-1, 3, "C3", [512, False]],
           [-1, 1, "Conv", [512, 3, 2]], [[-1, 10], 1, "Concat", [1]], [-1, 3, "C3", [1024, False]],
           [[17, 20, 23], 1, "Detect", ["nc", "anchors"]]]
# scale -> (depth_multiple, width_multiple), as models/yolov5{n,s,m,l,x}.yaml give them
V5_MULTIPLES = {"n": (0.33, 0.25), "s": (0.33, 0.50), "m": (0.67, 0.75), "l": (1.0, 1.0), "x": (1.33, 1.25)}


def yolov5(scale: str, **top) -> str:
    """YOLOv5's ``models/yolov5{scale}.yaml`` (v6.0 on: 6x6 Conv stem, SPPF; anchor-based Detect)."""
    d, w = V5_MULTIPLES[scale]
    return yaml_text({"nc": 80, "depth_multiple": d, "width_multiple": w, "anchors": V5_ANCHORS, **top},
                     V5_BACKBONE, V5_HEAD)


# --------------------------------------------------------------------------- YOLOv7 (cfg/training, cfg/deploy)
def conv(c, k=1, s=1, f=-1, act=None):
    """A Conv row ``[f, 1, Conv, [c, k, s]]`` (with ``act``: ``[c, k, s, None, 1, act]``)."""
    return [f, 1, "Conv", [c, k, s] + ([None, 1, act] if act else [])]


def elan(c, c_out, chain_c=None, cat=(-1, -3, -5, -6), n=4, act=None):
    """An ELAN written out: two 1x1 Convs from one input, n 3x3 Convs, the Concat, the 1x1 transition."""
    chain_c = chain_c or c
    return ([conv(c, act=act), conv(c, f=-2, act=act)] + [conv(chain_c, 3, act=act) for _ in range(n)]
            + [[list(cat), 1, "Concat", [1]], conv(c_out, act=act)])


def mp_block(c, lateral=None):
    """YOLOv7's downsampling block: MP + 1x1 Conv | 1x1 Conv + 3x3 stride-2 Conv, concatenated."""
    return [[-1, 1, "MP", []], conv(c), conv(c, f=-3), conv(c, 3, 2),
            [[-1, -3] + ([lateral] if lateral is not None else []), 1, "Concat", [1]]]


H6 = (-1, -2, -3, -4, -5, -6)
V7_BACKBONE = ([conv(32, 3), conv(64, 3, 2), conv(64, 3), conv(128, 3, 2)] + elan(64, 256)
               + mp_block(128) + elan(128, 512) + mp_block(256) + elan(256, 1024) + mp_block(512)
               + elan(256, 1024))


def v7_head(detect: str) -> list:
    """yolov7.yaml's head: SPPCSPC, the PAN of ELAN-H blocks, three RepConvs, ``detect`` (IDetect / Detect)."""
    return ([[-1, 1, "SPPCSPC", [512]], conv(256), UP, conv(256, f=37), [[-1, -2], 1, "Concat", [1]]]
            + elan(256, 256, 128, H6) + [conv(128), UP, conv(128, f=24), [[-1, -2], 1, "Concat", [1]]]
            + elan(128, 128, 64, H6) + mp_block(128, 63) + elan(256, 256, 128, H6) + mp_block(256, 51)
            + elan(512, 512, 256, H6)
            + [[75, 1, "RepConv", [256, 3, 1]], [88, 1, "RepConv", [512, 3, 1]], [101, 1, "RepConv", [1024, 3, 1]],
               [[102, 103, 104], 1, detect, ["nc", "anchors"]]])


V7_TOP = {"nc": 80, "depth_multiple": 1.0, "width_multiple": 1.0, "anchors": V7_ANCHORS}
LEAKY = "nn.LeakyReLU(0.1)"


def tconv(c, k=1, s=1, f=-1):
    """yolov7-tiny's Conv: LeakyReLU(0.1)."""
    return conv(c, k, s, f, LEAKY)


def telan(c, c_out):
    """yolov7-tiny's ELAN: two 3x3 Convs in the chain."""
    return elan(c, c_out, cat=(-1, -2, -3, -4), n=2, act=LEAKY)


TINY_BACKBONE = ([tconv(32, 3, 2), tconv(64, 3, 2)] + telan(32, 64) + [[-1, 1, "MP", []]] + telan(64, 128)
                 + [[-1, 1, "MP", []]] + telan(128, 256) + [[-1, 1, "MP", []]] + telan(256, 512))


def tiny_head(detect: str) -> list:
    """yolov7-tiny.yaml's head: the written-out SPPCSPC, the PAN of tiny ELANs, three 3x3 Convs, ``detect``."""
    return ([tconv(256), tconv(256, f=-2), [-1, 1, "SP", [5]], [-2, 1, "SP", [9]], [-3, 1, "SP", [13]],
             [[-1, -2, -3, -4], 1, "Concat", [1]], tconv(256), [[-1, -7], 1, "Concat", [1]], tconv(256),
             tconv(128), UP, tconv(128, f=21), [[-1, -2], 1, "Concat", [1]]] + telan(64, 128)
            + [tconv(64), UP, tconv(64, f=14), [[-1, -2], 1, "Concat", [1]]] + telan(32, 64)
            + [tconv(128, 3, 2), [[-1, 47], 1, "Concat", [1]]] + telan(64, 128)
            + [tconv(256, 3, 2), [[-1, 37], 1, "Concat", [1]]] + telan(128, 256)
            + [tconv(128, 3, f=57), tconv(256, 3, f=65), tconv(512, 3, f=73),
               [[74, 75, 76], 1, detect, ["nc", "anchors"]]])


TINY_TOP = {"nc": 80, "depth_multiple": 1.0, "width_multiple": 1.0, "anchors": V5_ANCHORS}


def yolov7(detect: str = "IDetect") -> str:
    """WongKinYiu/yolov7 ``cfg/training/yolov7.yaml`` (``detect="Detect"``: ``cfg/deploy/yolov7.yaml``)."""
    return yaml_text(V7_TOP, V7_BACKBONE, v7_head(detect))


def yolov7_tiny(detect: str = "IDetect") -> str:
    """WongKinYiu/yolov7 ``cfg/training/yolov7-tiny.yaml`` (``detect="Detect"``: the deploy file)."""
    return yaml_text(TINY_TOP, TINY_BACKBONE, tiny_head(detect))


__all__ = ["H6", "LEAKY", "UP", "V5_ANCHORS", "V5_BACKBONE", "V5_HEAD", "V5_MULTIPLES", "V7_ANCHORS", "V7_BACKBONE",
           "V7_TOP", "conv", "elan", "mp_block", "tconv", "telan", "tiny_head", "v7_head", "yaml_text", "yolov5",
           "yolov7", "yolov7_tiny"]
