"""Reproduce the BFLOPs the CSPNet authors publish for their Darknet cfgs.

    python benchmarks/darknet_bflops.py path/to/cfg/*.cfg [--input-size N] [--json]

The cfgs are the authors' (github.com/WongKinYiu/CrossStagePartialNetworks, folder ``cfg/``): download
them; they are not part of this project.  For each file this prints Darknet's ``Total BFLOPS`` computed
with Darknet's own per-layer formulas (``explorer.io.darknet.darknet_bflops``: conv
2 x nweights x out_h x out_w, maxpool size^2 x c x out_h x out_w, each layer stored as a C float and
summed in a float) twice: as AlexeyAB darknet printed it in 2019, when the CSPNet README was written
(no term for [shortcut] layers), and as it prints it now (shortcut out_w x out_h x out_c added); then
the conv layers alone, the figure of the authors' README for that file name, and which of the two
reproduces it to the printed precision; also the parameters (as PyTorch counts them, and without
BatchNorm's scale and shift, which is how the README's '#Parameter' column counts).  A file the importer
refuses gets its one-line reason.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from explorer.io.darknet import CfgError, darknet_bflops, load_cfg  # noqa: E402

# file name -> BFLOPs as printed in the ImageNet tables of the authors' README
PUBLISHED = {
    "darknet53.cfg": "18.57", "csdarknet53.cfg": "13.07", "csdarknet53-elastic.cfg": "7.74",
    "resnet50.cfg": "9.74", "csresnet50.cfg": "8.97", "csresnet50-elastic.cfg": "9.36",
    "resnext50.cfg": "10.11", "csresnext50.cfg": "7.93", "csresnext50-elastic.cfg": "5.45",
    "res2netlite72.cfg": "5.19", "enetb0.cfg": "0.915", "mobilenet-v2.cfg": "0.858",
    "csmobilenet-v2.cfg": "0.764", "darknet.cfg": "0.96", "resnet10.cfg": "2.273",
}
# file name -> '#Parameter' (millions) of the same tables
PUBLISHED_PARAMS = {
    "darknet53.cfg": "41.57", "csdarknet53.cfg": "27.61", "resnet50.cfg": "22.73", "csresnet50.cfg": "21.57",
    "resnext50.cfg": "22.19", "csresnext50.cfg": "20.50", "enetb0.cfg": "4.81", "mobilenet-v2.cfg": "3.47",
    "csmobilenet-v2.cfg": "2.51", "darknet.cfg": "7.31", "resnet10.cfg": "5.24",
}


def _printed(value: float, published: str | None) -> str:
    digits = len(published.split(".")[1]) if published and "." in published else 3
    return f"{value:.{digits}f}"


def row(path: str, input_size: int | None = None) -> dict:
    name = os.path.basename(path)
    pub = PUBLISHED.get(name)
    out = {"file": name, "published": pub}
    try:
        net = load_cfg(path, input_size=input_size)
    except CfgError as exc:
        return {**out, "error": str(exc)}
    old, new = darknet_bflops(net, shortcut_terms=False), darknet_bflops(net)
    conv = sum(layer.flops for layer in net.layers if layer.kind == "conv") / 1e9
    bn = sum(2 * layer.attrs["filters"] for layer in net.layers
             if layer.kind == "conv" and layer.attrs["batch_normalize"])
    match = [label for label, v in (("2019 Darknet", old), ("current Darknet", new))
             if pub is not None and _printed(v, pub) == pub]
    c, h, w = net.input_shape
    return {**out, "input": f"{c}x{h}x{w}", "layers": len(net.layers), "params": net.params,
            "params_without_bn": net.params - bn, "published_params_M": PUBLISHED_PARAMS.get(name),
            "bflops_2019": old, "bflops_now": new, "bflops_conv": conv,
            "reproduced_by": match, "reproduced": bool(match) if pub is not None else None}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cfgs", nargs="+", help="Darknet .cfg files")
    ap.add_argument("--input-size", type=int, default=None, help="replace the [net] width and height")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = [row(p, args.input_size) for p in args.cfgs]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{'file':26s} {'input':>11s} {'params':>12s} {'without BN':>12s} {'pub. M':>6s} {'2019 Darknet':>12s} "
          f"{'now':>8s} {'conv only':>9s} {'published':>9s}  reproduced")
    for r in rows:
        if "error" in r:
            print(f"{r['file']:26s} refused: {r['error']}")
            continue
        pub = r["published"] or "-"
        verdict = ", ".join(r["reproduced_by"]) if r["reproduced_by"] else ("-" if r["published"] is None else "NO")
        print(f"{r['file']:26s} {r['input']:>11s} {r['params']:>12,} {r['params_without_bn']:>12,} "
              f"{r['published_params_M'] or '-':>6s} {r['bflops_2019']:12.3f} {r['bflops_now']:8.3f} "
              f"{r['bflops_conv']:9.3f} {pub:>9s}  {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
