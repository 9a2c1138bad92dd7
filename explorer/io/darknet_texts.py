"""Darknet detector cfgs generated from the structure of AlexeyAB darknet's own files (pure Python).

The ``darknet_cfg`` family's preset ``yolov4_csp`` (``explorer.io.family``) holds :func:`yolov4_csp`'s text; the
tests open the others.

``yolov3``, ``yolov3_tiny``, ``yolov4``, ``yolov4_tiny`` and ``yolov4_csp`` write cfg texts with the layers of
``cfg/yolov3.cfg``, ``cfg/yolov3-tiny.cfg``, ``cfg/yolov4.cfg``, ``cfg/yolov4-tiny.cfg`` and ``cfg/yolov4-csp.cfg``
(github.com/AlexeyAB/darknet): the same layers, filters, kernels, strides, activations and routes, so that
Darknet's printed ``Total BFLOPS`` for those files (``../shared/reference/detection_exact.csv``) applies to
them; training options and [yolo] settings are abridged (the importer keeps [yolo] options as text).  The
files themselves are not part of the project.
"""
from __future__ import annotations

ANCHORS = "12,16, 19,36, 40,28, 36,75, 76,55, 72,146, 142,110, 192,243, 459,401"


class Cfg:
    """A cfg being written: ``n`` is the index of the next layer (Darknet's numbering)."""

    def __init__(self, size: int, act: str = "leaky"):
        self.parts = [f"[net]\nbatch=64\nsubdivisions=8\nwidth={size}\nheight={size}\nchannels=3\nmomentum=0.949\n"
                      "decay=0.0005\nlearning_rate=0.0013\nburn_in=1000\nmax_batches=500500\npolicy=steps\n"
                      "steps=400000,450000\nscales=.1,.1\n\n"]
        self.n = 0
        self.act = act

    def add(self, text: str) -> int:
        self.parts.append(text + "\n")
        self.n += 1
        return self.n - 1

    def conv(self, filters: int, size: int = 1, stride: int = 1, act: str | None = None, groups: int = 1) -> int:
        g = f"groups={groups}\n" if groups > 1 else ""
        return self.add(f"[convolutional]\nbatch_normalize=1\nfilters={filters}\nsize={size}\n{g}stride={stride}\n"
                        f"pad=1\nactivation={act or self.act}\n")

    def predict(self, classes: int, act: str = "linear") -> int:
        """The 1x1 prediction conv before a [yolo]: 3 anchors x (classes + 5), a bias, no BatchNorm."""
        return self.add(f"[convolutional]\nsize=1\nstride=1\npad=1\nfilters={3 * (classes + 5)}\nactivation={act}\n")

    def yolo(self, mask: str, classes: int, anchors: str = ANCHORS) -> int:
        return self.add(f"[yolo]\nmask = {mask}\nanchors = {anchors}\nclasses={classes}\nnum=9\njitter=.3\n"
                        "ignore_thresh = .7\ntruth_thresh = 1\nrandom=1\n")

    def route(self, *layers: int, groups: int = 1, group_id: int = 0) -> int:
        """A route of absolute layer indices, written relative (-k) where Darknet's files do."""
        refs = ",".join(str(j - self.n) if j >= self.n - 16 else str(j) for j in layers)
        g = f"groups={groups}\ngroup_id={group_id}\n" if groups > 1 else ""
        return self.add(f"[route]\nlayers = {refs}\n{g}")

    def shortcut(self, frm: int, act: str = "linear") -> int:
        return self.add(f"[shortcut]\nfrom={frm - self.n}\nactivation={act}\n")

    def maxpool(self, size: int, stride: int) -> int:
        return self.add(f"[maxpool]\nsize={size}\nstride={stride}\n")

    def upsample(self) -> int:
        return self.add("[upsample]\nstride=2\n")

    def text(self) -> str:
        return "".join(self.parts)


def _darknet53(c: Cfg) -> list:
    """Darknet-53: a 3x3 conv, five stages of a 3x3 stride-2 conv and residual blocks (1x1 -> 3x3 + shortcut);
    returns each stage's last layer."""
    c.conv(32, 3)
    ends = []
    for width, n in ((64, 1), (128, 2), (256, 8), (512, 8), (1024, 4)):
        x = c.conv(width, 3, 2)
        for _ in range(n):
            c.conv(width // 2, 1)
            c.conv(width, 3)
            x = c.shortcut(x)
        ends.append(x)
    return ends


def _five(c: Cfg, width: int) -> int:
    """YOLO's neck convs: 1x1, 3x3, 1x1, 3x3, 1x1 (width, 2 x width alternating)."""
    for _ in range(2):
        c.conv(width, 1)
        c.conv(2 * width, 3)
    return c.conv(width, 1)


def yolov3(size: int = 416, classes: int = 80) -> str:
    """YOLOv3: Darknet-53, an FPN from stride 32 up to 8, a head per scale (P5 first)."""
    c = Cfg(size)
    ends = _darknet53(c)
    x = _five(c, 512)
    for k, (width, lateral) in enumerate(((512, None), (256, ends[3]), (128, ends[2]))):
        if lateral is not None:
            c.route(x)
            c.conv(width, 1)
            c.upsample()
            c.route(c.n - 1, lateral)
            x = _five(c, width)
        c.conv(2 * width, 3)
        c.predict(classes)
        c.yolo(("6,7,8", "3,4,5", "0,1,2")[k], classes)
    return c.text()


def yolov3_tiny(size: int = 416, classes: int = 80) -> str:
    """YOLOv3-tiny: 3x3 convs and 2x2 max pools, a second scale from the stride-16 conv."""
    c = Cfg(size)
    for width in (16, 32, 64, 128, 256, 512):
        x = c.conv(width, 3)
        if width == 256:
            lateral = x
        c.maxpool(2, 2 if width < 512 else 1)
    c.conv(1024, 3)
    _tiny_heads(c, lateral, classes, "0,1,2")
    return c.text()


def _tiny_heads(c: Cfg, lateral: int, classes: int, mask: str) -> None:
    """The tiny models' two heads: a 1x1 to 256 and a head at stride 32 (masks 3,4,5), then that 1x1 conv to 128,
    upsampled beside the stride-16 ``lateral``, a head at stride 16 (anchor ``mask``)."""
    x = c.conv(256, 1)
    c.conv(512, 3)
    c.predict(classes)
    c.yolo("3,4,5", classes)
    c.route(x)
    c.conv(128, 1)
    c.upsample()
    c.route(c.n - 1, lateral)
    c.conv(256, 3)
    c.predict(classes)
    c.yolo(mask, classes)


def yolov4_tiny(size: int = 416, classes: int = 80) -> str:
    """YOLOv4-tiny: CSPDarknet53-tiny (three blocks: a 3x3 conv, its second half through two 3x3 convs, their
    concat, a 1x1 conv, the concat with the block's input, a 2x2 max pool), two scales."""
    c = Cfg(size)
    c.conv(32, 3, 2)
    c.conv(64, 3, 2)
    for width in (64, 128, 256):
        x = c.conv(width, 3)
        c.route(x, groups=2, group_id=1)
        a = c.conv(width // 2, 3)
        b = c.conv(width // 2, 3)
        c.route(b, a)
        lateral = c.conv(width, 1)
        c.route(x, lateral)
        c.maxpool(2, 2)
    c.conv(512, 3)
    _tiny_heads(c, lateral, classes, "1,2,3")
    return c.text()


def _csp_stage(c: Cfg, width: int, n: int, hidden: int | None = None) -> int:
    """A CSPDarknet53 stage: 3x3 stride-2 conv, part 1's 1x1 conv, the split route, part 2's 1x1 conv, n
    residual blocks, the partial transition, the concat, the 1x1 transition; returns the transition."""
    part = width // 2 if hidden is None else width
    down = c.conv(width, 3, 2)
    p1 = c.conv(part, 1)
    c.route(down)
    x = c.conv(part, 1)
    for _ in range(n):
        c.conv(hidden or part, 1)
        c.conv(part, 3)
        x = c.shortcut(x)
    c.conv(part, 1)
    c.route(c.n - 1, p1)
    return c.conv(width, 1)


def _spp(c: Cfg, x: int) -> int:
    """SPP on layer x (the previous layer): 5, 9 and 13 max pools (stride 1) and their concat with x."""
    a = c.maxpool(5, 1)
    c.route(x)
    b = c.maxpool(9, 1)
    c.route(x)
    d = c.maxpool(13, 1)
    return c.route(d, b, a, x)


def _spp_block(c: Cfg) -> int:
    """YOLOv4's SPP block after the backbone: 1x1, 3x3, 1x1, SPP (max pools 5, 9, 13 and the concat), 1x1,
    3x3, 1x1 (512 / 1024 wide); returns the last conv (P5's neck input)."""
    c.conv(512, 1)
    c.conv(1024, 3)
    _spp(c, c.conv(512, 1))
    c.conv(512, 1)
    c.conv(1024, 3)
    return c.conv(512, 1)


def _head(c: Cfg, k: int, width: int, classes: int, act: str, anchors: str) -> None:
    """A YOLO head at scale ``k`` (P3 first): a 3x3 conv to 2 x width, the prediction conv, the [yolo] layer."""
    c.conv(2 * width, 3)
    c.predict(classes, act)
    c.yolo(("0,1,2", "3,4,5", "6,7,8")[k], classes, anchors)


def _pan(c: Cfg, p5: int, laterals: tuple, block, classes: int, act: str = "linear", anchors: str = ANCHORS,
         heads_last: bool = False) -> None:
    """YOLOv4's PAN from ``p5`` and its three heads (P3 first), as the YOLOv4, YOLOv4-CSP and CSPResNeXt50-PANet
    cfgs write them: top-down to the stride-16 and stride-8 ``laterals`` (a 1x1 conv of the path, upsampled,
    beside a 1x1 conv of the lateral, then ``block``: YOLO's five convs or BottleneckCSP2), bottom-up (a 3x3
    stride-2 conv beside that scale's top-down output, then ``block``), a head per scale (:func:`_head`, its
    prediction conv's activation ``act``).  ``heads_last``: the heads after the whole PAN, each from a [route]
    back to its output, as ``cfg/yolov4-csp-swish.cfg`` writes them."""
    x, outs = p5, [p5]
    for width, lateral in zip((256, 128), laterals):
        c.conv(width, 1)
        up = c.upsample()
        c.route(lateral)
        c.conv(width, 1)
        c.route(c.n - 1, up)
        x = block(c, width)
        outs.append(x)
    scales = []
    for k, (width, back) in enumerate(((128, None), (256, outs[1]), (512, outs[0]))):
        if back is not None:
            if not heads_last:
                c.route(x)
            c.conv(width, 3, 2)
            c.route(c.n - 1, back)
            x = block(c, width)
        scales.append((k, width, x))
        if not heads_last:
            _head(c, k, width, classes, act, anchors)
    for k, width, x in scales if heads_last else ():
        c.route(x)
        _head(c, k, width, classes, act, anchors)


def yolov4(size: int = 608, classes: int = 80) -> str:
    """YOLOv4: CSPDarknet53 (mish), SPP and a PAN (leaky), three scales (P3 first)."""
    c = Cfg(size, "mish")
    c.conv(32, 3)
    ends = [_csp_stage(c, 64, 1, hidden=32)] + [_csp_stage(c, w, n) for w, n in ((128, 2), (256, 8), (512, 8),
                                                                                  (1024, 4))]
    c.act = "leaky"
    _pan(c, _spp_block(c), (ends[3], ends[2]), _five, classes)
    return c.text()


def _csp2(c: Cfg, width: int) -> int:
    """ScaledYOLOv4's BottleneckCSP2 in Darknet layers: a 1x1 conv, part 1's 1x1 conv, the split route, two
    1x1 -> 3x3 pairs, the concat with part 1, the 1x1 transition; returns the transition."""
    x = c.conv(width, 1)
    p1 = c.conv(width, 1)
    c.route(x)
    for _ in range(2):
        c.conv(width, 1)
        c.conv(width, 3)
    c.route(c.n - 1, p1)
    return c.conv(width, 1)


def yolov4_csp(size: int = 512, classes: int = 80, act: str = "mish", heads_last: bool = False) -> str:
    """YOLOv4-CSP (Scaled-YOLOv4): CSPDarknet53 with a plain first stage, an SPPCSP block and a PAN of
    BottleneckCSP2 blocks (mish throughout), three scales (P3 first, logistic prediction convs).  ``heads_last``:
    the three heads after the whole PAN, each from a [route] back to its neck output, as
    ``cfg/yolov4-csp-swish.cfg`` writes them (``act="swish"``)."""
    c = Cfg(size, act)
    c.conv(32, 3)
    x = c.conv(64, 3, 2)
    c.conv(32, 1)
    c.conv(64, 3)
    c.shortcut(x)
    ends = [_csp_stage(c, w, n) for w, n in ((128, 2), (256, 8), (512, 8), (1024, 4))]
    # SPPCSP: part 1's 1x1 conv, the split, 1x1 -> 3x3 -> 1x1, SPP, 1x1 -> 3x3, the concat, the transition
    p1 = c.conv(512, 1)
    c.route(ends[3])
    c.conv(512, 1)
    c.conv(512, 3)
    x = c.conv(512, 1)
    _spp(c, x)
    c.conv(512, 1)
    c.conv(512, 3)
    c.route(c.n - 1, p1)
    _pan(c, c.conv(512, 1), (ends[2], ends[1]), _csp2, classes, "logistic", heads_last=heads_last)
    return c.text()


V3_ANCHORS = "10,13, 16,30, 33,23, 30,61, 62,45, 59,119, 116,90, 156,198, 373,326"


def _resnext_csp_stage(c: Cfg, width: int, n: int, down: bool, act: str) -> int:
    """A CSPResNeXt-50 stage as csresnext50-panet-spp.cfg writes it: the grouped 3x3 stride-2 down conv (none in
    the first stage, after the stem's max pool), part 1's and part 2's 1x1 convs (``act``; the first stage's part 2
    has half the width), n ResNeXt blocks (1x1, 3x3 in 32 groups, 1x1 linear, a leaky shortcut), the 1x1 partial
    transition, the concat with part 1, the 1x1 transition to 2 x width."""
    if down:
        c.conv(width, 3, 2, groups=32)
    p1 = c.conv(width, 1, act=act)
    c.route(c.n - 2)
    x = c.conv(width if down else width // 2, 1, act=act)
    for _ in range(n):
        c.conv(width, 1)
        c.conv(width, 3, groups=32)
        c.conv(width, 1, act="linear")
        x = c.shortcut(x, "leaky")
    c.conv(width, 1)
    c.route(c.n - 1, p1)
    return c.conv(2 * width, 1)


def cspresnext50_panet_spp(size: int = 512, classes: int = 80) -> str:
    """The CSPNet paper's CSPResNeXt50-PANet-SPP (WongKinYiu/CrossStagePartialNetworks
    ``cfg/csresnext50-panet-spp.cfg``, the detector of the paper's Table 4): a CSPResNeXt-50 backbone (7x7 stem,
    max pool, four CSP stages of 3, 3, 5, 2 ResNeXt blocks, leaky), SPP, a PANet neck and three YOLOv3 heads (P3
    first), YOLOv3's anchors.  Darknet's count: 71.3 BFLOPs at 512."""
    c = Cfg(size)
    c.conv(64, 7, 2)
    c.maxpool(2, 2)
    ends = [_resnext_csp_stage(c, w, n, down, act) for w, n, down, act in
            ((128, 3, False, "leaky"), (256, 3, True, "linear"), (512, 5, True, "linear"), (1024, 2, True, "leaky"))]
    _pan(c, _spp_block(c), (ends[2], ends[1]), _five, classes, anchors=V3_ANCHORS)
    return c.text()


DETECTORS = {"yolov3": yolov3, "yolov3-tiny": yolov3_tiny, "yolov4": yolov4, "yolov4-tiny": yolov4_tiny,
             "yolov4-csp": yolov4_csp}
