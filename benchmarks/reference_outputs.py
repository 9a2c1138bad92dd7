"""The generated detectors compute Ultralytics' outputs: each detector preset built by ``cspnet.build_model`` and
Ultralytics' own ``DetectionModel`` of the same YAML, given the same weights, run on the same input.

    /work/refvenv/bin/python benchmarks/reference_outputs.py [--size 256] [--only yolov8n,yolo11n]

NOT imported by the app or the tests: it needs ultralytics, which is no project dependency (it runs where
ultralytics is importable, e.g. the reference venv of ../shared/reference/reference_tools.md, whose recipe for
importing torchvision on the CPU torch it follows).  Ultralytics is only called, never copied.  Prints a Markdown
table and writes ``benchmarks/results/reference_outputs.json`` (committed; ``tests/test_reference_outputs.py``
checks it covers every detector preset with this project's parameter counts).

Per preset (``yolov5{n..x}u``, ``yolov8{n..x}``, ``yolo11{n..x}``):

1. ``DetectionModel("<preset>.yaml")`` (Ultralytics' scale guess from the name, nc 80), eval mode; its BatchNorm
   statistics and affine terms drawn at random (seed 0: running mean U(-0.5, 0.5), variance U(0.5, 1.5), weight
   U(0.5, 1.5), bias U(-0.2, 0.2)), so no BatchNorm is the identity and a mapping error shows.
2. ``build_model(get_preset(preset))``: the design's generated model.  Parameter totals must be equal.
3. Weights copied, Ultralytics' into ours: the Detect head by module name (ours ``head.detect.<name>``, theirs
   ``model.<last>.<name>``: the same names); every other Conv2d and BatchNorm2d by execution order (forward
   hooks on one run), each pair's tensors checked shape by shape.  One known difference of order, not of
   arithmetic: a C3 stage (YOLOv5u's C3, YOLO11's C3k) runs its cross-path conv (Ultralytics' ``cv2``) after
   the bottlenecks in Ultralytics and before them here, so that pair is moved to just before its stage's
   transition.  Ultralytics' C3 concatenates ``[bottlenecks, cross]``; where the design's plan concatenates
   ``[cross, bottlenecks]`` (read from its concat op, as the design did before 2026-12-07), the transition
   conv's input channels are swapped in halves.
4. One input ``randn(1, 3, size, size)`` (seed 0) through both, in float32 and again in float64:

   * head: our model's output (per anchor: DFL's box distances, 4 values, and the 80 class sigmoids) against
     Ultralytics' Detect on its own raw box and class maps (``Detect.dfl`` of the boxes, the scores' sigmoid,
     taken by a forward hook on Detect's preds);
   * decoded: our distances decoded by Ultralytics' own ``Detect.decode_bboxes`` with its anchors and strides
     (xywh in pixels), against Ultralytics' final output.

   Reported: the largest absolute difference and the largest absolute value (the outputs' scale), float32 and
   float64 (float64 shows the arithmetic is the same up to rounding: differences near 1e-13).

``--yaml-files`` runs Ultralytics' own YAMLs opened as ``yolo_yaml`` designs instead (:data:`YAML_FILES`: YOLOv10's
SCDown / C2fCIB / PSA / v10Detect and YOLO12's area attention, at a scale without and one with A2C2f's residual
gamma), read from the installed package (the file ``yaml_model_load`` reads).  Their parameter names
are Ultralytics' (``model.6.m.0.1.attn.qkv.conv.weight``), so weights are copied by name (two renames: the
bottleneck's ``conv1``/``conv2`` are Ultralytics' ``cv1``/``cv2``; a learned ``gamma`` is stored as
``gamma.implicit``); BatchNorms random as above, YOLO12's gamma U(0.5, 1.5).  Compared: our output against
Ultralytics' head values of the branch it is made from (v10Detect: ``one2one``, DFL + sigmoid); written to
``benchmarks/results/reference_outputs_yaml.json`` (``tests/test_reference_outputs.py`` reads it too).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import torch
from torch import nn

from cspnet import build_model, get_preset, plan_network, preset_names

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results", "reference_outputs.json")
OUT_YAML = os.path.join(os.path.dirname(OUT), "reference_outputs_yaml.json")
YAML_FILES = ("yolov10n", "yolov10s", "yolo12n", "yolo12l")
NORM_TYPES = (nn.Conv2d, nn.BatchNorm2d)


def import_ultralytics():
    """Ultralytics' ``DetectionModel`` and its version, or None where ultralytics is not importable.

    torchvision's compiled operators do not load against the CPU torch; as reference_tools.md says, it is
    imported with torch's fake-kernel registration disabled (restored right after)."""
    import torch.library as tl

    register_fake = tl.register_fake
    tl.register_fake = lambda *a, **k: (lambda f=None: f)
    try:
        import torchvision  # noqa: F401
    except Exception:   # noqa: BLE001 - any failure: Ultralytics imports it, and then fails below
        pass
    finally:
        tl.register_fake = register_fake
    try:
        import ultralytics
        from ultralytics.nn.tasks import DetectionModel
    except Exception:   # noqa: BLE001 - not installed, or installed against another torch
        return None
    return DetectionModel, ultralytics.__version__


def detector_presets() -> list:
    return [n for n in preset_names() if get_preset(n).is_detector]


def execution_order(model: nn.Module, x: torch.Tensor) -> list:
    """The model's Conv2d and BatchNorm2d modules in the order one forward pass runs them (each once)."""
    seen: list = []
    hooks = [m.register_forward_hook(lambda mod, i, o: seen.append(mod)) for m in model.modules()
             if isinstance(m, NORM_TYPES)]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    order, done = [], set()
    for m in seen:
        if id(m) not in done:
            done.add(id(m))
            order.append(m)
    return order


def randomize_batchnorm(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)


def cross_first(plan) -> set:
    """Module prefixes (``"stages.0."``) of the stages whose concat reads the cross path first (see 3.)."""
    out = set()
    for op in plan.ops:
        prefix = op.path.rsplit(".", 1)[0] + "."
        if op.kind == "cat" and op.reads and op.reads[0][0].startswith(prefix + "split.cross"):
            out.add(prefix)
    return out


def copy_weights(ref: nn.Module, ours: nn.Module, x: torch.Tensor, swap: set) -> int:
    """Ultralytics' weights into our model (see the module docstring, 3.); ``swap``: the C3 stages whose
    transition reads ``[cross, bottlenecks]`` (:func:`cross_first`).  Returns the modules copied."""
    last = len(ref.model) - 1
    ref_head = {n.split(".", 2)[2]: m for n, m in ref.named_modules()
                if n.startswith(f"model.{last}.") and isinstance(m, NORM_TYPES)}
    our_head = {n[len("head.detect."):]: m for n, m in ours.named_modules()
                if n.startswith("head.detect.") and isinstance(m, NORM_TYPES)}
    if set(ref_head) != set(our_head):
        raise SystemExit(f"Detect modules differ: {sorted(set(ref_head) ^ set(our_head))[:6]}")
    for k, m in ref_head.items():
        our_head[k].load_state_dict(m.state_dict())
    head_ids = {id(m) for m in ref_head.values()} | {id(m) for m in our_head.values()}
    theirs = [m for m in execution_order(ref, x) if id(m) not in head_ids]
    mine = [m for m in execution_order(ours, x) if id(m) not in head_ids]
    name = {id(m): n for n, m in ours.named_modules()}
    # a C3 stage: Ultralytics runs the cross path (cv2) after the bottlenecks; move ours to before the transition
    for cross_conv in [m for m in mine if name[id(m)].endswith("split.cross.conv")]:
        stage = name[id(cross_conv)][: -len("split.cross.conv")]
        pair = [m for m in mine if name[id(m)] in (stage + "split.cross.conv", stage + "split.cross.bn")]
        for m in pair:
            mine.remove(m)
        at = next(i for i, m in enumerate(mine) if name[id(m)].startswith(stage + "transition."))
        mine[at:at] = sorted(pair, key=lambda m: not isinstance(m, nn.Conv2d))   # conv, then its BatchNorm
    if len(theirs) != len(mine):
        raise SystemExit(f"{len(theirs)} Conv2d/BatchNorm2d run in Ultralytics' model, {len(mine)} in ours")
    for a, b in zip(theirs, mine):
        sd = a.state_dict()
        shapes = [tuple(t.shape) for t in sd.values()], [tuple(t.shape) for t in b.state_dict().values()]
        if type(a) is not type(b) or shapes[0] != shapes[1]:
            raise SystemExit(f"execution order mismatch at {name[id(b)]}: {a} vs {b}")
        n = name[id(b)]
        if n.endswith("transition.conv") and n[: -len("transition.conv")] in swap:
            w = sd["weight"]            # C3 reads [bottlenecks, cross]; this design [cross, bottlenecks]
            h = w.shape[1] // 2
            sd = {**sd, "weight": torch.cat([w[:, h:], w[:, :h]], 1)}
        b.load_state_dict(sd)
    return len(mine) + len(our_head)


def outputs(ref: nn.Module, ours: nn.Module, x: torch.Tensor) -> dict:
    """Both models on ``x``: our output and Ultralytics' head values (DFL distances + class sigmoids), our
    distances decoded by Ultralytics' Detect and its final output."""
    det = ref.model[-1]
    preds = []
    hook = det.register_forward_hook(lambda mod, i, o: preds.append(o))
    try:
        with torch.no_grad():
            final = ref(x)
            mine = ours(x)
    finally:
        hook.remove()
    final = final[0] if isinstance(final, (tuple, list)) else final
    raw = preds[0][1] if isinstance(preds[0], tuple) else preds[0]
    if isinstance(raw, dict) and "one2many" in raw:
        raw = raw["one2many"]
    if isinstance(raw, dict):
        box, cls = raw["boxes"], raw["scores"]
    else:   # older Ultralytics: a list of per-scale maps
        cat = torch.cat([r.view(r.shape[0], det.no, -1) for r in raw], 2)
        box, cls = cat.split((det.reg_max * 4, det.nc), 1)
    with torch.no_grad():
        head = torch.cat((det.dfl(box), cls.sigmoid()), 1)
        decoded = torch.cat((det.decode_bboxes(mine[:, :4], det.anchors.unsqueeze(0)) * det.strides,
                             mine[:, 4:]), 1)
    return {"ours": mine, "head": head, "decoded": decoded, "final": final}


def copy_by_name(ref: nn.Module, ours: nn.Module) -> int:
    """Ultralytics' state dict into a yolo_yaml design's model, by name (see the module docstring)."""
    import re

    mine = {}
    for k in ours.state_dict():
        tail = k[k.index("model."):] if "model." in k else k
        mine[re.sub(r"\.m\.(\d+)\.conv([12])\.", r".m.\1.cv\2.", tail.replace(".implicit", ""))] = k
    theirs = {k: v for k, v in ref.state_dict().items() if not k.endswith("num_batches_tracked")}
    if set(theirs) != set(mine) - {k for k in mine if k.endswith("num_batches_tracked")}:
        raise SystemExit(f"state dicts differ: {sorted(set(theirs) ^ set(mine))[:6]}")
    target = ours.state_dict()
    ours.load_state_dict({mine[k]: v.view(target[mine[k]].shape) for k, v in theirs.items()}, strict=False)
    return len(theirs)


def check_yaml_file(name: str, DetectionModel, size: int) -> dict:
    """Ultralytics' ``<name>.yaml`` as a yolo_yaml design against Ultralytics' build of it (module docstring)."""
    import re

    from ultralytics.utils.checks import check_yaml

    from explorer.io.yolo_family import design_from_yaml

    torch.manual_seed(0)
    ref = DetectionModel(f"{name}.yaml", verbose=False).eval()
    randomize_batchnorm(ref)
    for m in ref.modules():
        if isinstance(getattr(m, "gamma", None), nn.Parameter):
            m.gamma.data.uniform_(0.5, 1.5)
    # the file yaml_model_load reads: the scale letter dropped (yolo12n -> yolo12.yaml), else the name's own file
    path = check_yaml(re.sub(r"(\d+)([nslmxb])$", r"\1", name) + ".yaml", hard=False) or check_yaml(f"{name}.yaml")
    with open(path) as fh:
        ours = build_model(design_from_yaml(fh.read(), f"{name}.yaml", input_size=size)).eval()
    row = {"file": name, "yaml": os.path.basename(path), "params_ours": sum(p.numel() for p in ours.parameters()),
           "params_ultralytics": sum(p.numel() for p in ref.parameters()), "bn_eps_ours": bn_eps(ours),
           "bn_eps_ultralytics": bn_eps(ref), "tensors_copied": copy_by_name(ref, ours)}
    det = ref.model[-1]
    x = torch.randn(1, 3, size, size)
    for dtype, tag in ((torch.float32, "fp32"), (torch.float64, "fp64")):
        ref.to(dtype)
        ours.to(dtype)
        preds = []
        hook = det.register_forward_hook(lambda mod, i, o: preds.append(o))
        try:
            with torch.no_grad():
                ref(x.to(dtype))
                mine = ours(x.to(dtype))
        finally:
            hook.remove()
        raw = preds[0][1]
        row["branch"] = "one2one" if "one2one" in raw else "the head's"
        raw = raw.get("one2one", raw)
        with torch.no_grad():
            head = torch.cat((det.dfl(raw["boxes"]), raw["scores"].sigmoid()), 1)
        row["output_shape"] = list(mine.shape)
        row[f"head_diff_{tag}"], row["head_scale"] = diff(mine, head)
    return row


def main_yaml_files(DetectionModel, version: str, size: int, write: bool) -> int:
    rows, t0 = [], time.perf_counter()
    print("| file | params (ours = Ultralytics) | output | branch | head: max abs diff fp32 / fp64 (scale) |\n"
          "|---|---|---|---|---|")
    for name in YAML_FILES:
        r = check_yaml_file(name, DetectionModel, size)
        rows.append(r)
        same = "=" if r["params_ours"] == r["params_ultralytics"] else "!="
        print(f"| {name} | {r['params_ours']:,} {same} {r['params_ultralytics']:,} | "
              f"{'x'.join(map(str, r['output_shape']))} | {r['branch']} | {r['head_diff_fp32']:.1e} / "
              f"{r['head_diff_fp64']:.1e} ({r['head_scale']:.2f}) |", flush=True)
    bad = [r["file"] for r in rows if r["params_ours"] != r["params_ultralytics"]
           or r["head_diff_fp64"] > 1e-9 * max(1.0, r["head_scale"])]
    result = {"ultralytics": version, "torch": torch.__version__, "input_size": size, "seed": 0,
              "date": time.strftime("%Y-%m-%d", time.gmtime()), "seconds": round(time.perf_counter() - t0, 1),
              "rows": rows}
    print(f"\nultralytics {version}, {size} px: {'all equal' if not bad else 'DIFFERENT: ' + ', '.join(bad)}")
    if write:
        with open(OUT_YAML, "w") as fh:
            json.dump(result, fh, indent=1)
            fh.write("\n")
    return 1 if bad else 0


def diff(a: torch.Tensor, b: torch.Tensor) -> tuple:
    return float((a - b).abs().max()), float(b.abs().max())


def bn_eps(model: nn.Module) -> list:
    return sorted({m.eps for m in model.modules() if isinstance(m, nn.BatchNorm2d)})


def check(name: str, DetectionModel, size: int) -> dict:
    """One preset against Ultralytics: as built, then with our BatchNorm eps set to Ultralytics' (a module
    attribute, no weight: ``initialize_weights`` sets 1e-3 on every BatchNorm2d, PyTorch's default is 1e-5)."""
    torch.manual_seed(0)
    ref = DetectionModel(f"{name}.yaml", verbose=False).eval()
    randomize_batchnorm(ref)
    cfg = get_preset(name)
    ours = build_model(cfg).eval()
    swap = cross_first(plan_network(cfg))
    row = {"preset": name, "yaml": f"{name}.yaml", "params_ours": sum(p.numel() for p in ours.parameters()),
           "params_ultralytics": sum(p.numel() for p in ref.parameters()),
           "bn_eps_ours": bn_eps(ours), "bn_eps_ultralytics": bn_eps(ref)}
    x = torch.randn(1, 3, size, size)
    row["modules_copied"] = copy_weights(ref, ours, x, swap)
    row["c3_halves_swapped"] = len(swap)
    for variant in ("built", "eps_matched"):
        if variant == "eps_matched":
            (eps,) = row["bn_eps_ultralytics"]
            for m in ours.modules():
                if isinstance(m, nn.BatchNorm2d):
                    m.eps = eps
        for dtype, tag in ((torch.float32, "fp32"), (torch.float64, "fp64")):
            ref.to(dtype)
            ours.to(dtype)
            out = outputs(ref, ours, x.to(dtype))
            if out["ours"].shape != out["head"].shape:
                raise SystemExit(f"{name}: output {tuple(out['ours'].shape)} vs Ultralytics' "
                                 f"{tuple(out['head'].shape)}")
            row["output_shape"] = list(out["ours"].shape)
            row[f"head_diff_{variant}_{tag}"], row["head_scale"] = diff(out["ours"], out["head"])
            row[f"decoded_diff_{variant}_{tag}"], row["decoded_scale"] = diff(out["decoded"], out["final"])
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Generated detectors vs Ultralytics' DetectionModel, same weights.")
    ap.add_argument("--size", type=int, default=256, help="input size in pixels (a multiple of 32)")
    ap.add_argument("--only", default="", help="comma-separated presets (default: every detector preset)")
    ap.add_argument("--no-write", action="store_true", help=f"do not write {os.path.relpath(OUT)}")
    ap.add_argument("--yaml-files", action="store_true",
                    help=f"Ultralytics' own {', '.join(YAML_FILES)} YAMLs as yolo_yaml designs instead")
    args = ap.parse_args(argv)
    found = import_ultralytics()
    if found is None:
        print("reference_outputs: ultralytics is not importable here; run it with the reference venv "
              "(/work/refvenv/bin/python, ../shared/reference/reference_tools.md)", file=sys.stderr)
        return 2
    DetectionModel, version = found
    if args.yaml_files:
        return main_yaml_files(DetectionModel, version, args.size, not args.no_write)
    names = [n for n in args.only.split(",") if n] or detector_presets()
    unknown = [n for n in names if n not in detector_presets()]
    if unknown:
        print(f"reference_outputs: --only {unknown[0]!r}: not a detector preset; allowed: "
              f"{', '.join(detector_presets())}", file=sys.stderr)
        return 2
    rows, t0 = [], time.perf_counter()
    print("| preset | params (ours = Ultralytics) | output | head, as built: max abs diff fp32 (scale; BN eps ours / "
          "theirs) | head, BN eps matched: fp32 / fp64 | decoded boxes + scores, eps matched: fp32 / fp64 (scale, "
          "px) |\n|---|---|---|---|---|---|")
    for name in names:
        r = check(name, DetectionModel, args.size)
        rows.append(r)
        same = "=" if r["params_ours"] == r["params_ultralytics"] else "!="
        eps = f"{'/'.join(f'{e:g}' for e in r['bn_eps_ours'])} / {'/'.join(f'{e:g}' for e in r['bn_eps_ultralytics'])}"
        print(f"| {name} | {r['params_ours']:,} {same} {r['params_ultralytics']:,} | "
              f"{'x'.join(map(str, r['output_shape']))} | {r['head_diff_built_fp32']:.1e} ({r['head_scale']:.2f}; "
              f"{eps}) | "
              f"{r['head_diff_eps_matched_fp32']:.1e} / {r['head_diff_eps_matched_fp64']:.1e} | "
              f"{r['decoded_diff_eps_matched_fp32']:.1e} / {r['decoded_diff_eps_matched_fp64']:.1e} "
              f"({r['decoded_scale']:.1f}) |", flush=True)
    result = {"ultralytics": version, "torch": torch.__version__, "input_size": args.size, "seed": 0,
              "date": time.strftime("%Y-%m-%d", time.gmtime()), "seconds": round(time.perf_counter() - t0, 1),
              "rows": rows}
    bad = [r["preset"] for r in rows if r["params_ours"] != r["params_ultralytics"]
           or r["head_diff_eps_matched_fp64"] > 1e-9 * max(1.0, r["head_scale"])
           or r["decoded_diff_eps_matched_fp64"] > 1e-9 * max(1.0, r["decoded_scale"])]
    print(f"\nultralytics {version}, torch {torch.__version__}, {args.size} px, seed 0, "
          f"{result['seconds']:.0f} s; {'all equal' if not bad else 'DIFFERENT: ' + ', '.join(bad)}")
    if not args.no_write and not args.only:
        os.makedirs(os.path.dirname(OUT), exist_ok=True)
        with open(OUT, "w") as fh:
            json.dump(result, fh, indent=1)
            fh.write("\n")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
