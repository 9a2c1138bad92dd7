"""YOLOv7's detection YAMLs (WongKinYiu/yolov7 ``cfg/training``, ``cfg/deploy``) planned exactly, ELAN blocks as stages.

A YOLOv7 YAML writes its blocks out as layers: an ELAN is two 1x1 Convs from one input, a chain of 3x3 Convs,
a Concat of the chain's outputs and both 1x1s, and a 1x1 transition Conv; a downsampling "MP" block is a max
pool and a 1x1 Conv on one branch, a 1x1 and a stride-2 3x3 Conv on the other, concatenated.  Its
``parse_model`` (``models/yolo.py``) is YOLOv5's ancestor and reads the same keys and rules
(``explorer.io.yolov5_det``: ``depth_multiple``, ``width_multiple``, ``anchors``; channels
``make_divisible(c2 x width, 8)`` unless c2 is ``na x (nc + 5)``).  Planned modules (``models/common.py``):

* ``Conv`` ``[c2, k, s, p, g, act]``: the act written as text (``nn.LeakyReLU(0.1)`` in yolov7-tiny) or true
  (SiLU) or false; ``MP`` ``[k]`` (max pool k, stride k), ``SP`` ``[k, s]`` (max pool k, stride s, padding
  k // 2), ``Concat``, ``nn.Upsample``;
* ``SPPCSPC`` ``[c2]``: cv1 -> cv3 (3x3) -> cv4, max pools 5, 9, 13 of it, concat, cv5 -> cv6 (3x3), cv2 of
  the input as the bypass, concat, cv7;
* ``RepConv`` ``[c2, 3, s]`` in its training form: a 3x3 conv + BN, a 1x1 conv + BN and, where c1 = c2 and the
  stride is 1, a BN of the input, added, then the activation (``rbr_dense``, ``rbr_1x1``, ``rbr_identity``);
* ``IDetect`` ``[nc, anchors]``: YOLOv5's anchor-based Detect with YOLOR's implicit knowledge, a learned
  vector added per input channel before each 1x1 conv (``ia``) and one multiplied per output channel after it
  (``im``); ``Detect`` (the deploy files) is YOLOv5's.

**ELAN read back as a stage.**  The layers of a block are planned as one stage named ``model.{first}-{last}``
(the ops keep their own layer's path, ``model.{i}...``, and ``summary``'s stage rows carry ``yaml_layers``):
a Concat whose inputs come from the layers just before it, where those layers read one tensor from outside
(and, at most, the Concat one earlier tensor: a PAN's lateral), and nothing outside reads them; the 1x1 Conv
after the Concat joins it when it is the Concat's only reader.  A block is named by what it holds:
``ELAN`` (Convs only: a fusion-first CSP stage, its two 1x1 Convs the split, the chain part 2, the Concat
then the transition), ``MPConv`` (a max pool: downsampling, two branches, no CSP), ``SPPCSP`` (pools inside:
yolov7-tiny's written-out SPPCSPC, a full CSP stage); a block inside another is part of the outer one.  The
rest of the layers stay one stage each (the stem's Convs, SPPCSPC, the neck's upsampling and laterals,
RepConv, IDetect).  yolov7.yaml reads as 106 layers in 30 stages, yolov7-tiny as 78 in 30.

Parameters equal YOLOv7's own build exactly (unfused, as ``train.py`` builds it from the cfg: yolov7
37,622,682, yolov7-tiny 6,228,762; the published 36,905,341 and 6,219,709 are the deploy cfgs fused:
tests/test_yolo_repos_detect.py).
Its ``model_info`` GFLOPs are YOLOv5's (thop x 2 at a ``max(stride, 32)`` probe, scaled): the ``yolov5``
convention.  Refused as YOLOv5's: other modules by name (``IAuxDetect``, ``DownC``, ``ReOrg`` of the P6
files), more than 320 layers (yolov7-e6e has 266), a file over 64 KiB.  A safe loader only.  Pure Python.
"""
from __future__ import annotations

import os

from ._text import read_bounded
from .ultralytics import MAX_YAML_CHARS, _arg, _channels_arg, _err, _is_int, _max_args, _short
from .yolov5_det import (
    Dialect,
    _detect_args,
    _yolov5_module,
    conv_act,
    conv_args,
    plan_anchor_detect,
    plan_repo_detector,
)

MAX_V7_LAYERS = 320
V7_MODULES = ("Conv", "Concat", "MP", "SP", "SPPCSPC", "RepConv", "IDetect", "Detect", "nn.Upsample")
V7_KEYS = ("nc", "depth_multiple", "width_multiple", "anchors", "ch", "backbone", "head")
BLOCK_MODULES = ("Conv", "MP", "SP", "Concat")   # what a block written out as layers holds
MAX_BLOCK_LAYERS = 32      # how far back a block's Concat looks for its start
FUSION = {"ELAN": "fusion_first", "SPPCSP": "csp"}


def _plan_sppcspc(b, p, x, c2, e, ks, act):
    """SPPCSPC (CSP around SPP): see the module docstring; hidden ``c_ = int(2 x c2 x e)``."""
    c_ = int(2 * c2 * e)
    x1 = conv_act(b, f"{p}.cv1", x, c_, network_act=act)
    x1 = conv_act(b, f"{p}.cv3", x1, c_, 3, network_act=act)
    x1 = conv_act(b, f"{p}.cv4", x1, c_, network_act=act)
    pools = [b.maxpool(f"{p}.m.{j}", x1, k, 1, k // 2) for j, k in enumerate(ks)]
    y1 = conv_act(b, f"{p}.cv5", b.cat(f"{p}.cat", [x1] + pools), c_, network_act=act)
    y1 = conv_act(b, f"{p}.cv6", y1, c_, 3, network_act=act)
    y2 = conv_act(b, f"{p}.cv2", x, c_, network_act=act)
    return conv_act(b, f"{p}.cv7", b.cat(f"{p}.cat2", [y1, y2]), c2, network_act=act)


def _plan_repconv(b, p, x, a, act):
    """RepConv in training form: 3x3 conv + BN, 1x1 conv + BN (padding 0), the input's BN where c1 = c2 and
    stride 1, added, then the activation."""
    d = b.bn(f"{p}.rbr_dense.1", b.conv(f"{p}.rbr_dense.0", x, a.c2, 3, a.s, padding=1, groups=a.g))
    o = b.bn(f"{p}.rbr_1x1.1", b.conv(f"{p}.rbr_1x1.0", x, a.c2, 1, a.s, padding=0, groups=a.g))
    others = (o, b.bn(f"{p}.rbr_identity", x)) if a.c2 == x[0] and a.s == 1 else (o,)
    t = b.add(f"{p}.add", d, *others)
    return t if a.act is None else b.act(f"{p}.act", t, None if a.act in ("", act) else a.act)


def _yolov7_module(b, p, lay, ins, src, model, ctx):
    """One layer of YOLOv7's parse_model (``V7_MODULES``) planned on ``b``: its own modules here; Conv, the
    upsampling, Concat and YOLOv5's Detect as YOLOv5's planner plans them (``yolov5_det._yolov5_module``; the
    dialect's module list has already refused YOLOv5's others by name)."""
    m, x = lay.module, ins[0]
    act = model.activation
    if m == "RepConv":
        a = conv_args(lay, model, x[0], ctx.conv_names)
        if a.k != 3 or a.p != 1:
            raise lay.fail(f"kernel {a.k}, padding {a.p}; RepConv asserts a 3x3 kernel with padding 1")
        return _plan_repconv(b, p, x, a, act)
    if m in ("MP", "SP"):   # MP(k=2): pool k, stride k; SP(k=3, s=1): pool k, stride s, padding k // 2
        _max_args(lay, ("k",) if m == "MP" else ("k", "s"))
        k = _arg(lay, 0, 2 if m == "MP" else 3, "the pool size", lambda v: _is_int(v) and 1 <= v <= 15,
                 "an integer 1 to 15")
        if m == "MP":
            return b.maxpool(f"{p}.m", x, k, k)
        s = _arg(lay, 1, 1, "the stride", lambda v: _is_int(v) and 1 <= v <= 8, "an integer 1 to 8")
        return b.maxpool(f"{p}.m", x, k, s, k // 2)
    if m == "SPPCSPC":   # (c1, c2, n, shortcut, g, e, k); parse_model inserts n: the YAML's [c2, shortcut, g, e, k]
        _max_args(lay, ("c2", "shortcut", "g", "e", "k"))
        c2 = model.channels(_channels_arg(lay))
        _arg(lay, 2, 1, "groups", lambda v: v == 1 and not isinstance(v, bool), "1")
        e = _arg(lay, 3, 0.5, "the hidden ratio e", lambda v: isinstance(v, (int, float)) and not isinstance(
            v, bool) and 0 < v <= 2, "a number in (0, 2]")
        ks = _arg(lay, 4, [5, 9, 13], "the pool sizes", lambda v: isinstance(v, list) and len(v) == 3 and all(
            _is_int(k) and k % 2 == 1 and 1 <= k <= 15 for k in v), "three odd integers 1 to 15 (cv5 reads 4 c_)")
        return _plan_sppcspc(b, p, x, c2, e, ks, act)
    if m == "IDetect":
        return plan_anchor_detect(b, p, ins, model.nc, _detect_args(lay, model, ins), implicit=True)
    return _yolov5_module(b, p, lay, ins, src, model, ctx)


# --------------------------------------------------------------------------- blocks written out as layers
def _block_at(c: int, mods: list, sources: list, readers: list, n_backbone: int):
    """The first layer of the block closed by Concat ``c`` (see the module docstring), or None."""
    f = sources[c]
    for s in range(c - 1, max(c - MAX_BLOCK_LAYERS, 0) - 1, -1):
        if mods[s] not in BLOCK_MODULES or (s < n_backbone) != (c < n_backbone):
            return None
        outside = {j for i in range(s, c) for j in sources[i] if j < s}
        inside = [j for j in f if s <= j < c]
        laterals = [j for j in f if j < s]
        if len(outside) != 1 or len(inside) < 2:
            continue
        x = next(iter(outside))
        if any(j >= x for j in laterals) or len(laterals) > 1:
            continue   # a Concat input the block's own input feeds is inside it: look further back
        if all(r <= c for i in range(s, c) for r in readers[i]):
            return s
    return None


def block_groups(layers: list, sources: list, n_backbone: int) -> list:
    """``(first, last, name)`` of every block written out as layers (outermost ones; see the module docstring)."""
    mods = [lay.module for _, lay, _ in layers]
    readers = [[] for _ in mods]
    for i, src in enumerate(sources):
        for j in src:
            if j >= 0:
                readers[j].append(i)
    found = []
    for c, m in enumerate(mods):
        if m != "Concat":
            continue
        s = _block_at(c, mods, sources, readers, n_backbone)
        if s is None:
            continue
        last = c
        t = c + 1
        if (t < len(mods) and readers[c] == [t] and mods[t] == "Conv" and sources[t] == [c]
                and (layers[t][1].args[1:2] or [1])[0] == 1 and (t < n_backbone) == (c < n_backbone)):
            last = t   # the transition: a 1x1 Conv, the Concat's only reader
        inner = set(mods[s:c])
        name = "MPConv" if "MP" in inner else "SPPCSP" if "SP" in inner else "ELAN"
        found.append((s, last, name))
    # outermost blocks only: a block inside a later, larger one is part of it
    keep = [g for g in found if not any(h != g and h[0] <= g[0] and g[1] <= h[1] for h in found)]
    keep.sort()
    out = []
    for g in keep:   # (overlapping, not nested: the first wins; the other's layers stay one stage each)
        if not out or g[0] > out[-1][1]:
            out.append(g)
    return out


def _groups(layers, sources, n_backbone):
    return block_groups(layers, sources, n_backbone)


def _conv_kernel(lay) -> int | None:
    """A Conv layer's kernel at stride 1 (None: another module, or strided)."""
    if lay.module != "Conv" or (lay.args[2:3] or [1])[0] != 1:
        return None
    return (lay.args[1:2] or [1])[0]


def plain_group(layers, sources, first: int, last: int, name: str, model):
    """``(width, repeats, block)`` of an ELAN group's plain twin, or None where the group is no ELAN of that
    form.  An ELAN here: two 1x1 Convs reading the block's input (the split), a chain of 3x3 Convs from one
    of them, a Concat of both 1x1s and chain outputs, then the 1x1 transition.  Its twin is the plain stage a
    design of the ``conv`` block (every chain conv tapped: ELAN-H, yolov7-tiny) or the ``conv_pair`` block
    (every second: the backbone's ELAN) gets: its blocks on the whole input (in the neck after a 1x1 conv to
    the width), each tapped, then the transition; the chain's own width (ELAN-H's is half the split's) is not
    kept: a design's conv block runs at its stage's width."""
    c = last - 1
    if name != "ELAN" or layers[c][1].module != "Concat" or _conv_kernel(layers[last][1]) != 1:
        return None
    inner = range(first, c)
    if any(_conv_kernel(layers[i][1]) is None for i in inner):
        return None
    split = [i for i in inner if sources[i][0] < first]
    chain = [i for i in inner if i not in split]
    if len(split) != 2 or any(_conv_kernel(layers[i][1]) != 1 for i in split) or not chain:
        return None
    if sources[chain[0]] != [chain[0] - 1] or chain[0] - 1 not in split or any(
            sources[i] != [i - 1] or _conv_kernel(layers[i][1]) != 3 for i in chain[1:]):
        return None
    cat = set(sources[c])
    if not set(split) <= cat or not cat <= set(inner) or chain[-1] not in cat:
        return None
    tapped = [k for k, i in enumerate(chain) if i in cat]
    width = model.channels(_channels_arg(layers[last][1]))
    if tapped == list(range(len(chain))):
        return width, len(chain), "conv"
    if len(chain) % 2 == 0 and tapped == list(range(1, len(chain), 2)):
        return width, len(chain) // 2, "conv_pair"
    return None


YOLOV7 = Dialect(
    repo="YOLOv7", modules=V7_MODULES, keys=V7_KEYS, max_layers=MAX_V7_LAYERS, largest="yolov7-e6e has 266",
    module=_yolov7_module, conv_names=("c2", "k", "s", "p", "g", "act"), source="yolov7 detection yaml",
    family="yolov7 detector", repeated=(),
    printed_by="YOLOv7 model_info (utils/torch_utils.py: thop x 2 at a max(stride, 32) probe, scaled)",
    groups=_groups, plain_group=plain_group)


def plan_detector(text, scale: str | None = None, name: str | None = None, input_size: int = 640,
                  plain: bool = False):
    """A YOLOv7 detection YAML's text (or bytes) planned at ``input_size`` (see the module docstring);
    ``scale`` must be None (the files give their multiples).  ``plain``: its plain twin (every ELAN
    :func:`plain_group` reads as a plain stage; SPPCSPC and the written-out SPPCSP keep their CSP, as the
    design families' SPPF)."""
    if scale is not None:
        raise _err(f"scale {_short(scale)}: YOLOv7's YAMLs set depth_multiple and width_multiple; there is no "
                   "scale to choose")
    det = plan_repo_detector(text, YOLOV7, name, input_size, planner=plan_detector, plain=plain)
    for sp, m in zip(det.plan.stages, det.modules):
        sp.fusion = "none" if plain and m == "ELAN" and sp.repeats and "block" in sp.taps else FUSION.get(m, "none")
    return det


def detector_from_yaml(data, filename: str, scale: str | None = None, input_size: int | None = None):
    """:func:`plan_detector` of the text of file ``filename``, named as the file."""
    return plan_detector(data, scale, os.path.basename(filename)[:50], 640 if input_size is None else input_size)


def load_detector(path, input_size: int | None = None):
    """:func:`detector_from_yaml` of the file at ``path`` (size checked before reading)."""
    return detector_from_yaml(read_bounded(os.fspath(path), MAX_YAML_CHARS, _err), os.fspath(path),
                              input_size=input_size)


__all__ = ["V7_MODULES", "YOLOV7", "block_groups", "detector_from_yaml", "load_detector", "plan_detector"]
