"""The roofline: FLOPs against bytes moved, per stage and per component, and the fastest time a device
could run them in.

A stage does ``F`` floating-point operations and moves ``B`` bytes between the device's memory and
its cores.  Its **arithmetic intensity** is ``F / B`` (FLOP per byte).  A device does at most ``P``
FLOP/s (its compute roof) and moves at most ``W`` bytes/s (its memory roof), so the stage takes at
least ``max(F / P, B / W)``: **compute-bound** when ``F / P`` is the larger (intensity above the ridge
``P / W``), **memory-bound** otherwise.  That lower bound is what a perfect implementation would
reach; a measured time is never below it (when it is, the bytes or the peak here are wrong).

FLOPs: the ``flops`` convention of :mod:`explorer.counts.conventions` (2 per conv and linear
multiply-accumulate; BatchNorm, activations, adds, pooling and concat count 0 FLOPs: they are
memory traffic, below).

Bytes (the model behind every bound; ``s`` bytes per element of the dtype: fp32 4, bf16 and fp16 2;
``N`` the batch; element counts from the analytic plan, ``cspnet.plan``):

- **conv** (one kernel with the BatchNorm and the activation that follow it, as at inference, where
  BN folds into the conv's weights and the activation is applied as the output is written): reads its
  input feature map ``N x in`` and its weights once per batch, writes its output ``N x out``.
- **BatchNorm, activation**: 0 bytes of their own; fused into the neighbouring conv (after a conv as in
  ResNet/Darknet; before one as DenseNet's pre-activation BN-ReLU, applied as the conv reads its
  input) or into the pooling that reads their output (DenseNet's head).
- **residual add**: fused into the conv that produces one operand (its epilogue): reads the other
  operand, ``N x out``; the sum is that conv's write.
- **concat**: a copy, as ``torch.cat`` does it: reads every input and writes the output,
  ``N x (in + out)`` (not assumed written in place).  DenseNet's dense layers each concatenate all
  earlier features, so this grows with the square of the depth; a CSP stage adds one more concat of
  both parts.
- **max / average / global pooling** (and any other op: the mean, gate multiply and attention
  products of blocks that have them): reads ``N x in``, writes ``N x out``.
- **linear**: reads ``N x in`` and its weights, writes ``N x out``.
- The channel split of a CSP stage is a view: 0 bytes.

So the bytes of a stage = feature maps read + feature maps written + weights (+ the concat copies,
counted among the reads and writes and reported apart).  Weights are read once per batch: large
batches amortise them, batch 1 is often weight-bound.  Caches are ignored (every tensor comes from
and goes to DRAM/HBM), so on a device whose cache holds a small stage's tensors (batch 1 on a CPU
with a large L3) a measurement can beat this bound.

The **eager** bytes (``eager_bytes``) are what PyTorch eager mode moves, one kernel per op: BN and
activation each read and write their tensor, an add reads two and writes one, and under autocast each
conv/linear weight is cast to the compute dtype (read in fp32, written in bf16/fp16) before use.

**Devices**: GPU peaks from vendor datasheets (``data/devices.csv``, dense figures, each with its
source); for fp32 on a GPU the compute roof is the TF32 tensor-core peak, because PyTorch runs fp32
convolutions on TF32 tensor cores by default (``torch.backends.cudnn.allow_tf32 = True``).  The
machine this runs on is measured (:func:`measure_cpu`: a GEMM per dtype and a memory copy, cached;
measuring again keeps the best figures seen).

**Estimates** on a GPU (never measurements, and labelled so): :meth:`Calibration.estimate` is the
roofline of the *eager* bytes divided by an efficiency, plus a fixed time per eager kernel, both
fitted per precision (fp32; bf16/fp16) by :func:`calibrations` on the GPU times shipped as data: this
project's H100 measurements with CUDA graphs (``data/gpu_measured.csv``, copied from
``benchmarks/results``) and timm's published RTX 4090 / 5090 batch-1024 AMP times
(``explorer/paper/data/published_speed.csv``; the efficiency only).  Each calibration's error is
computed leave-one-model-out (every model estimated from a fit on the others only); a GPU without
measurements of its own uses the H100 calibration with its own peaks, says so, and quotes
:func:`transfer_error` (that calibration applied to the 4090 / 5090 times it was not fitted on).

Pure Python (no torch) except :func:`measure_cpu`, which imports torch when called.
"""
from __future__ import annotations

import csv
import math
import threading
import time
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from cspnet import plan_network
from explorer.counts.analysis import DTYPE_BYTES
from explorer.counts.conventions import REGISTRY

DATA = Path(__file__).resolve().parent / "data"
DEVICES_CSV = DATA / "devices.csv"
MEASURED_CSV = DATA / "gpu_measured.csv"
FLOPS = REGISTRY["flops"]          # 2 x conv+linear MACs
DTYPES = ("fp32", "bf16", "fp16")
CPU = "cpu"                        # the device key of the machine this runs on (measured)
WEIGHTED = ("conv", "linear")      # ops that read weights
FUSED_FREE = ("bn", "act")         # elementwise, fused into a neighbour: no bytes of their own
# every other kind (cat, maxpool, avgpool, gap, and mean, mul, matmul where a block has them) is a
# kernel of its own that reads its inputs and writes its output


class RooflineError(ValueError):
    """A bad device, dtype or batch: one line naming the value and what is allowed."""


# --------------------------------------------------------------------------- devices
@dataclass(frozen=True)
class Device:
    key: str
    name: str
    fp32_tflops: float | None
    tf32_tflops: float | None
    bf16_tflops: float | None
    fp16_tflops: float | None
    mem_bw_gbs: float
    source: str
    source_url: str = ""
    note: str = ""
    measured: bool = False          # True: the machine this runs on, measured here

    @property
    def kind(self) -> str:
        return "cpu" if self.measured else "gpu"

    def peak(self, dtype: str) -> tuple[float, str]:
        """(compute roof in TFLOP/s, which figure it is) for ``dtype``; RooflineError without one."""
        check_dtype(dtype)
        if dtype == "fp32":
            if self.measured:
                return self.fp32_tflops, "fp32 GEMM, measured here"
            if self.tf32_tflops:
                return self.tf32_tflops, ("TF32 tensor cores (PyTorch runs fp32 convolutions on them by default: "
                                          "torch.backends.cudnn.allow_tf32)")
            return self.fp32_tflops, "fp32 (no TF32 tensor cores)"
        value = self.bf16_tflops if dtype == "bf16" else self.fp16_tflops
        if not value:
            offered = ", ".join(d for d in DTYPES if self._has(d))
            raise RooflineError(f"dtype: {self.name} has no {dtype} peak (its datasheet lists none); "
                                f"allowed here: {offered}")
        return value, (f"{dtype} GEMM, measured here" if self.measured else f"{dtype} tensor cores, dense")

    def _has(self, dtype: str) -> bool:
        return bool(self.fp32_tflops if dtype == "fp32" else self.bf16_tflops if dtype == "bf16"
                    else self.fp16_tflops)

    def dtypes(self) -> tuple:
        return tuple(d for d in DTYPES if self._has(d))

    def ridge(self, dtype: str) -> float:
        """FLOP per byte where the two roofs meet."""
        return self.peak(dtype)[0] * 1e12 / (self.mem_bw_gbs * 1e9)

    def to_dict(self) -> dict:
        return {**asdict(self), "kind": self.kind}


def _num(text: str) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


@lru_cache(maxsize=1)
def gpu_devices() -> dict:
    """key -> Device: the GPU table (``data/devices.csv``), every value with its vendor source."""
    out = {}
    with open(DEVICES_CSV, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            out[r["key"]] = Device(key=r["key"], name=r["name"], fp32_tflops=_num(r["fp32_tflops"]),
                                   tf32_tflops=_num(r["tf32_tflops"]), bf16_tflops=_num(r["bf16_tflops"]),
                                   fp16_tflops=_num(r["fp16_tflops"]), mem_bw_gbs=float(r["mem_bw_gbs"]),
                                   source=r["source"], source_url=r["source_url"], note=r["note"])
    return out


def device_keys() -> tuple:
    """Every device :func:`get_device` knows: ``cpu`` (this machine, measured) and the GPU table."""
    return (CPU,) + tuple(gpu_devices())


def get_device(key: str) -> Device:
    key = (key or "").strip().lower()
    if key == CPU:
        return cpu_device()
    dev = gpu_devices().get(key)
    if dev is None:
        raise RooflineError(f"device: {key!r} is not known; allowed: {', '.join(device_keys())} "
                            "(cpu = this machine, measured)")
    return dev


def check_dtype(dtype: str) -> None:
    if dtype not in DTYPES:
        raise RooflineError(f"dtype: {dtype!r} is not allowed; allowed: {', '.join(DTYPES)}")


def check_batch(batch) -> None:
    if not isinstance(batch, int) or isinstance(batch, bool) or not 1 <= batch <= 4096:
        raise RooflineError(f"batch: {batch!r} is not allowed; allowed integers 1 to 4096")


# --------------------------------------------------------------------------- this machine, measured
GEMM_N = {"fp32": 1536, "bf16": 2048, "fp16": 1024}   # square GEMM sizes: a few tenths of a second each
COPY_MIB = 256                                        # the memory-copy tensor (beyond most L2, near L3)


def _best_seconds(fn, reps: int, budget: float) -> float:
    fn()  # warm-up (allocation, kernel selection)
    best = math.inf
    t_end = time.perf_counter() + budget
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        if time.perf_counter() > t_end:
            break
    return best


def _measure_cpu_once() -> dict:
    import platform

    import torch

    t_start = time.perf_counter()
    tflops = {}
    for dtype, n in GEMM_N.items():
        tdt = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[dtype]
        a = torch.randn(n, n).to(tdt)
        b = torch.randn(n, n).to(tdt)
        try:
            sec = _best_seconds(lambda a=a, b=b: torch.matmul(a, b), reps=5, budget=0.25)
        except RuntimeError:  # a dtype this CPU build cannot multiply
            continue
        tflops[dtype] = 2.0 * n ** 3 / sec / 1e12
    elements = COPY_MIB * 2 ** 20 // 4
    src = torch.ones(elements)
    dst = torch.empty_like(src)
    sec = _best_seconds(lambda: dst.copy_(src), reps=5, budget=0.25)
    gbs = 2.0 * elements * 4 / sec / 1e9
    return {"tflops": tflops, "mem_bw_gbs": gbs, "gemm_n": dict(GEMM_N), "copy_mib": COPY_MIB,
            "threads": torch.get_num_threads(), "processor": platform.processor() or platform.machine(),
            "torch": torch.__version__, "seconds": time.perf_counter() - t_start}


_CPU_BEST: dict = {}
_CPU_LOCK = threading.Lock()


def measure_cpu(fresh: bool = False) -> dict:
    """This machine's roofs (about half a second, under two on a busy machine): the best of a few square
    GEMMs per dtype (``torch.matmul``, 2 n^3 FLOPs) and of a ``copy_`` of a 256 MiB tensor (read + write
    = 512 MiB moved).  Returns TFLOP/s per dtype, GB/s, the sizes, threads, seconds taken and how many
    measurements the figures are the best of.

    Measured once per process and cached; ``fresh=True`` measures again and keeps, per figure, the
    best seen so far: other work on a shared machine only ever lowers a measured peak, so the best
    seen is the closest to the real one (and a bound from it stays a lower bound)."""
    with _CPU_LOCK:
        if _CPU_BEST and not fresh:
            return {**_CPU_BEST, "tflops": dict(_CPU_BEST["tflops"])}
    m = _measure_cpu_once()
    with _CPU_LOCK:
        if _CPU_BEST:
            for d, v in _CPU_BEST["tflops"].items():
                m["tflops"][d] = max(v, m["tflops"].get(d, 0.0))
            m["mem_bw_gbs"] = max(m["mem_bw_gbs"], _CPU_BEST["mem_bw_gbs"])
        m["measurements"] = _CPU_BEST.get("measurements", 0) + 1
        _CPU_BEST.clear()
        _CPU_BEST.update(m)
        return {**_CPU_BEST, "tflops": dict(_CPU_BEST["tflops"])}


def cpu_peaks_key() -> tuple:
    """The current CPU figures as a hashable key (caches of CPU rooflines follow a fresh measurement)."""
    m = measure_cpu()
    return tuple(sorted(m["tflops"].items())) + (m["mem_bw_gbs"],)


def cpu_device(peaks: dict | None = None) -> Device:
    """This machine as a Device, from :func:`measure_cpu` (or given ``peaks`` of the same shape)."""
    m = measure_cpu() if peaks is None else peaks
    t = m["tflops"]
    gemms = ", ".join(f"{d} {n}x{n}" for d, n in m["gemm_n"].items())
    return Device(key=CPU, name=f"this machine's CPU ({m.get('threads', '?')} threads), measured",
                  fp32_tflops=t.get("fp32"), tf32_tflops=None, bf16_tflops=t.get("bf16"),
                  fp16_tflops=t.get("fp16"), mem_bw_gbs=m["mem_bw_gbs"],
                  source=(f"measured here: best of torch.matmul {gemms} and a {m['copy_mib']} MiB copy_ "
                          "(read + write)"),
                  note=(f"the best of {m.get('measurements', 1)} measurement(s) in this process (other work on the "
                        "machine only lowers them)"),
                  measured=True)


# --------------------------------------------------------------------------- bytes and FLOPs
def op_traffic(op, batch: int, s: int, plan=None) -> dict:
    """FLOPs and bytes of one plan op (``cspnet.plan.Op``) at ``batch`` and ``s`` bytes per element,
    under the fused model of the module docstring; also the eager bytes.  Keys: flops, read, write,
    weights, concat (the part of read + write that is concat copies), bytes, eager_bytes, kernels
    (eager kernels: 1 per op, + 1 weight cast per conv/linear under autocast when s < 4).  With the
    ``plan`` (a ``cspnet.plan.NetPlan``), a residual add reads its other operand as the graph's edges say
    (:meth:`NetPlan.read_elements`: a Darknet shortcut from a wider layer reads only its channels);
    without, an operand of the output's size."""
    kind = op.kind
    n_in, n_out = batch * op.in_elements, batch * op.out_elements
    flops = batch * FLOPS.per_op(op)
    read = write = weights = concat = 0
    if kind in WEIGHTED:
        read, write, weights = n_in * s, n_out * s, op.params * s
    elif kind == "add":
        other = sum(plan.read_elements(r) for r in op.reads[1:]) if plan is not None and op.reads[1:] else \
            op.out_elements
        read = batch * other * s
    elif kind not in FUSED_FREE:
        read, write = n_in * s, n_out * s
        if kind == "cat":
            concat = read + write
    fused = read + write + weights
    if kind in FUSED_FREE:
        eager = (n_in + n_out) * s
    elif kind == "add":
        eager = 3 * n_out * s
    else:
        eager = fused
    kernels = 1
    if kind in WEIGHTED and s < 4:   # autocast: the fp32 weight is cast first (read 4, write s per element)
        eager += op.params * (4 + s)
        kernels += 1
    return {"flops": flops, "read": read, "write": write, "weights": weights, "concat": concat,
            "bytes": fused, "eager_bytes": eager, "kernels": kernels}


_SUM_KEYS = ("flops", "read", "write", "weights", "concat", "bytes", "eager_bytes", "kernels")


def _bound(flops: float, nbytes: float, peak_tflops: float, bw_gbs: float) -> dict:
    t_compute = flops / (peak_tflops * 1e12) * 1e3
    t_memory = nbytes / (bw_gbs * 1e9) * 1e3
    return {"intensity": flops / nbytes if nbytes else None,
            "compute_ms": t_compute, "memory_ms": t_memory,
            "bound_ms": max(t_compute, t_memory),
            "bound": "compute" if t_compute >= t_memory else "memory"}


def _sums(rows) -> dict:
    out = dict.fromkeys(_SUM_KEYS, 0)
    for r in rows:
        for k in _SUM_KEYS:
            out[k] += r[k]
    return out


def traffic(cfg, batch: int = 1, dtype: str = "fp32") -> list:
    """Per stage (stem, stages.i, head): the summed :func:`op_traffic` and its components, in order.
    Pure arithmetic over the memoized plan: milliseconds."""
    check_dtype(dtype)
    check_batch(batch)
    s = DTYPE_BYTES[dtype]
    plan = plan_network(cfg)
    stages = []
    for sp in plan.stages:
        comps: dict = {}
        ops = []
        for op in sp.ops:
            t = op_traffic(op, batch, s, plan)
            ops.append(t)
            comps.setdefault(op.group[2], []).append(t)   # the op's component: down, expand, block, ...
        stages.append({"name": sp.name, "kind": sp.kind, **_sums(ops),
                       "components": [{"name": k, **_sums(v)} for k, v in comps.items()]})
    return stages


def _stage_rows(stages: list, dev: Device, dtype: str, cal: "Calibration | None") -> list:
    peak, _ = dev.peak(dtype)
    bw = dev.mem_bw_gbs
    out = []
    for st in stages:
        comps = []
        for c in st["components"]:
            if not (c["flops"] or c["bytes"]):
                continue  # BN/activation layers on their own (the stem's): fused, nothing to show
            comps.append({**{k: c[k] for k in _SUM_KEYS}, "name": c["name"],
                          **_bound(c["flops"], c["bytes"], peak, bw),
                          "estimated_ms": cal.estimate(c, peak, bw) if cal else None})
        out.append({"name": st["name"], "kind": st["kind"], **{k: st[k] for k in _SUM_KEYS},
                    **_bound(st["flops"], st["bytes"], peak, bw),
                    "estimated_ms": cal.estimate(st, peak, bw) if cal else None, "components": comps})
    return out


# --------------------------------------------------------------------------- calibration
PRECISION = {"fp32": "fp32", "bf16": "half", "fp16": "half"}   # bf16 and fp16 share the tensor-core roof
CALIBRATION_MODE = "cuda_graphs"   # this project's rows fitted: GPU time without Python launch overhead


@dataclass(frozen=True)
class Point:
    """One measured time of a whole model (or one stage of it) on a GPU."""
    device: str
    model: str
    input_size: int
    dtype: str
    batch: int
    measured_ms: float
    part: str = "whole"
    mode: str = "cuda_graphs"
    source: str = ""
    date: str = ""


@lru_cache(maxsize=1)
def project_points() -> tuple:
    """This project's GPU measurements (``data/gpu_measured.csv``, copied from ``benchmarks/results``)."""
    with open(MEASURED_CSV, newline="", encoding="utf-8") as fh:
        return tuple(Point(device=r["device_key"], model=r["model"], input_size=int(r["input_size"]),
                           dtype=r["dtype"], batch=int(r["batch"]), measured_ms=float(r["measured_ms"]),
                           part=r["part"], mode=r["mode"] + ("+channels_last" if r["channels_last"] == "true" else ""),
                           source=r["source"], date=r["date"])
                     for r in csv.DictReader(fh))


PUBLISHED_DEVICES = {"RTX 4090": "rtx4090", "RTX 5090": "rtx5090"}


@lru_cache(maxsize=1)
def published_points() -> tuple:
    """timm's published step times (``explorer/paper/data/published_speed.csv``: AMP, i.e. fp16 autocast,
    batch 1024, NCHW, eager) on the GPUs of the device table."""
    from explorer.paper.speed import DATA_PATH

    out = []
    with open(DATA_PATH, newline="", encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            key = PUBLISHED_DEVICES.get(r["device"])
            if key is None or r["precision"] != "amp" or r["layout"] != "nchw":
                continue
            out.append(Point(device=key, model=r["preset"], input_size=int(r["img_size"]), dtype="fp16",
                             batch=int(r["batch"]), measured_ms=float(r["step_time_ms"]), mode="eager",
                             source=f"timm {r['source_file']} @ {r['source_commit'][:7]}"))
    return tuple(out)


@lru_cache(maxsize=512)
def _point_features(model: str, input_size: int, dtype: str, batch: int, part: str) -> dict:
    """Summed traffic of a preset (or one of its stages) at a setting."""
    from cspnet import get_preset

    stages = traffic(get_preset(model, input_size=input_size), batch, dtype)
    rows = stages if part == "whole" else [s for s in stages if s["name"] == part]
    return {"stages": tuple(rows)}


def _features(p: Point, dev: Device) -> tuple:
    """(eager-bytes bound in ms summed over the stages, eager kernels, fused lower bound in ms)."""
    peak, _ = dev.peak(p.dtype)
    rows = _point_features(p.model, p.input_size, p.dtype, p.batch, p.part)["stages"]
    eager = sum(_bound(r["flops"], r["eager_bytes"], peak, dev.mem_bw_gbs)["bound_ms"] for r in rows)
    bound = sum(_bound(r["flops"], r["bytes"], peak, dev.mem_bw_gbs)["bound_ms"] for r in rows)
    return eager, sum(r["kernels"] for r in rows), bound


def _fit(xs: list, ks: list, ys: list, kernel_ms: float | None = None) -> tuple:
    """(a, b) minimising the squared relative error of ``a x + b k`` against ``y``; ``b`` fixed when
    ``kernel_ms`` is given.  a >= 1 (no faster than the eager roofline), b >= 0."""
    def fixed_b(b):
        num = sum((x / y) * (1 - b * k / y) for x, k, y in zip(xs, ks, ys))
        den = sum((x / y) ** 2 for x, y in zip(xs, ys))
        return max(num / den, 1.0), b
    if kernel_ms is not None:
        return fixed_b(kernel_ms)
    sxx = sum((x / y) ** 2 for x, y in zip(xs, ys))
    skk = sum((k / y) ** 2 for k, y in zip(ks, ys))
    sxk = sum((x / y) * (k / y) for x, k, y in zip(xs, ks, ys))
    sx = sum(x / y for x, y in zip(xs, ys))
    sk = sum(k / y for k, y in zip(ks, ys))
    det = sxx * skk - sxk * sxk
    if abs(det) < 1e-30:
        return fixed_b(0.0)
    a = (sx * skk - sk * sxk) / det
    b = (sxx * sk - sxk * sx) / det
    if b < 0:
        return fixed_b(0.0)
    if a < 1.0:
        return 1.0, max((sk - sxk) / skk, 0.0)
    return a, b


@dataclass(frozen=True)
class Calibration:
    """estimate = a x (the roofline of PyTorch eager's bytes, per stage) + b x (its kernels)."""
    device: str          # the device key whose measurements were fitted
    precision: str       # "fp32" or "half" (bf16 and fp16)
    a: float             # 1 / efficiency
    kernel_ms: float     # b: fixed time per kernel
    points: int
    models: tuple
    source: str
    error: dict          # leave-one-model-out: per model mean |error| %, max |error| %, rows

    @property
    def efficiency(self) -> float:
        return 1.0 / self.a

    def estimate(self, t: dict, peak_tflops: float, bw_gbs: float) -> float:
        """Estimated ms of summed traffic ``t`` (a stage or a component) on a device with these roofs."""
        eager = _bound(t["flops"], t["eager_bytes"], peak_tflops, bw_gbs)["bound_ms"]
        return self.a * eager + self.kernel_ms * t["kernels"]

    def to_dict(self) -> dict:
        return {"device": self.device, "precision": self.precision, "efficiency": self.efficiency,
                "a": self.a, "kernel_us": self.kernel_ms * 1e3, "points": self.points, "models": list(self.models),
                "source": self.source, "error": self.error}


def _error_stats(rows: list) -> dict:
    per_model: dict = {}
    for r in rows:
        per_model.setdefault(r["model"], []).append(abs(r["error_pct"]))
    return {"method": "leave-one-model-out: each model's times estimated from a fit on the other models only",
            "per_model_mean_abs_pct": {m: sum(v) / len(v) for m, v in per_model.items()},
            "max_abs_pct": max((abs(r["error_pct"]) for r in rows), default=None),
            "mean_abs_pct": (sum(abs(r["error_pct"]) for r in rows) / len(rows)) if rows else None,
            "rows": rows}


def _calibrate(points: list, dev: Device, kernel_ms: float | None, device_key: str, precision: str,
               source: str) -> Calibration:
    feats = [_features(p, dev) for p in points]
    xs, ks, ys = [f[0] for f in feats], [f[1] for f in feats], [p.measured_ms for p in points]
    a, b = _fit(xs, ks, ys, kernel_ms)
    models = tuple(dict.fromkeys(p.model for p in points))
    rows = []
    if len(models) > 1:
        for held in models:
            train = [i for i, p in enumerate(points) if p.model != held]
            ha, hb = _fit([xs[i] for i in train], [ks[i] for i in train], [ys[i] for i in train], kernel_ms)
            for i, p in enumerate(points):
                if p.model == held:
                    est = ha * xs[i] + hb * ks[i]
                    rows.append({"model": p.model, "input_size": p.input_size, "dtype": p.dtype, "batch": p.batch,
                                 "measured_ms": p.measured_ms, "estimated_ms": est, "bound_ms": feats[i][2],
                                 "error_pct": 100.0 * (est - p.measured_ms) / p.measured_ms})
    return Calibration(device=device_key, precision=precision, a=a, kernel_ms=b, points=len(points), models=models,
                       source=source, error=_error_stats(rows))


@lru_cache(maxsize=1)
def calibrations() -> dict:
    """(device key, precision) -> Calibration, fitted on the measurements shipped as data: this
    project's H100 times with CUDA graphs (both parameters) and timm's published RTX 4090 / 5090
    batch-1024 AMP times (the efficiency only: at batch 1024 the kernel term is negligible, so it
    keeps the H100's)."""
    out = {}
    own = [p for p in project_points() if p.mode == CALIBRATION_MODE and p.part == "whole"]
    for (key, prec) in dict.fromkeys((p.device, PRECISION[p.dtype]) for p in own):
        pts = [p for p in own if p.device == key and PRECISION[p.dtype] == prec]
        src = f"this project's {gpu_devices()[key].name} measurements with CUDA graphs ({pts[0].date}; {pts[0].source})"
        out[(key, prec)] = _calibrate(pts, gpu_devices()[key], None, key, prec, src)
    for key in dict.fromkeys(p.device for p in published_points()):
        pts = [p for p in published_points() if p.device == key]
        base = out.get(("h100", "half"))
        src = f"timm's published AMP batch-1024 times on the {gpu_devices()[key].name} ({pts[0].source})"
        out[(key, "half")] = _calibrate(pts, gpu_devices()[key], base.kernel_ms if base else 0.0, key, "half", src)
    return out


@lru_cache(maxsize=1)
def transfer_error() -> dict:
    """How far the H100 calibration lands on GPUs it was not fitted on: applied as is to timm's published
    RTX 4090 / 5090 times (what a GPU without measurements of its own gets)."""
    rows = []
    for p in published_points():
        cal = calibrations().get(("h100", PRECISION[p.dtype]))
        if cal is None:
            continue
        dev = gpu_devices()[p.device]
        eager, kernels, bound = _features(p, dev)
        est = cal.a * eager + cal.kernel_ms * kernels
        rows.append({"device": p.device, "model": p.model, "input_size": p.input_size, "dtype": p.dtype,
                     "batch": p.batch, "measured_ms": p.measured_ms, "estimated_ms": est, "bound_ms": bound,
                     "error_pct": 100.0 * (est - p.measured_ms) / p.measured_ms})
    errs = [r["error_pct"] for r in rows]
    return {"method": "the H100 calibration applied unchanged to timm's published RTX 4090 / 5090 times",
            "min_pct": min(errs, default=None), "max_pct": max(errs, default=None),
            "mean_abs_pct": (sum(abs(e) for e in errs) / len(errs)) if errs else None, "rows": rows}


def calibration_for(device_key: str, dtype: str) -> tuple:
    """(Calibration or None, note): the device's own, else the H100's (said so); None on the CPU."""
    if device_key == CPU:
        return None, "this machine is measured, not estimated (the Latency page's Measure, or `bench`)"
    prec = PRECISION[dtype]
    cal = calibrations().get((device_key, prec))
    if cal is not None:
        return cal, f"calibrated on {cal.source}"
    cal = calibrations().get(("h100", prec))
    if cal is None:
        return None, "no calibration for this precision"
    t = transfer_error()
    return cal, (f"no measurements of this GPU: the H100 calibration ({cal.source}) with this GPU's peaks; "
                 f"on GPUs it was not fitted on it was off by {t['min_pct']:+.0f} % to {t['max_pct']:+.0f} % "
                 "(timm's RTX 4090 / 5090 times)")


def stage_check() -> list:
    """This project's per-stage H100 measurements (eager, batch 64) against their bound and estimate:
    the bound must never be above the measurement."""
    rows = []
    for p in project_points():
        if p.part == "whole":
            continue
        dev = gpu_devices()[p.device]
        cal = calibrations().get((p.device, PRECISION[p.dtype]))
        eager, kernels, bound = _features(p, dev)
        est = cal.a * eager + cal.kernel_ms * kernels if cal else None
        rows.append({"model": p.model, "dtype": p.dtype, "batch": p.batch, "stage": p.part, "mode": p.mode,
                     "measured_ms": p.measured_ms, "bound_ms": bound, "estimated_ms": est,
                     "pct_of_roofline": 100.0 * bound / p.measured_ms,
                     "error_pct": (100.0 * (est - p.measured_ms) / p.measured_ms) if est is not None else None})
    return rows


# --------------------------------------------------------------------------- the roofline of a design
BYTES_MODEL = ("bytes = feature maps read + written + weights (read once per batch); conv + BatchNorm + "
               "activation are one kernel (inference), a residual add is fused into the conv before it "
               "(reads the shortcut), concat copies its inputs (read + write, as torch.cat), pooling reads "
               "and writes, the channel split is a view; caches ignored")


def roofline(cfg, device: str = "h100", dtype: str = "fp32", batch: int = 1) -> dict:
    """Per stage and per component: FLOPs, bytes, intensity, the bound that applies, the lower-bound
    time and (on a GPU) the calibrated estimate.  JSON-safe."""
    check_dtype(dtype)
    check_batch(batch)
    dev = get_device(device)
    peak, peak_label = dev.peak(dtype)
    cal, cal_note = calibration_for(dev.key, dtype)
    stages = _stage_rows(traffic(cfg, batch, dtype), dev, dtype, cal)
    tot = _sums(stages)
    bound_ms = sum(s["bound_ms"] for s in stages)
    total = {**tot, **_bound(tot["flops"], tot["bytes"], peak, dev.mem_bw_gbs), "bound_ms": bound_ms,
             "estimated_ms": sum(s["estimated_ms"] for s in stages) if cal else None,
             "memory_bound_share": (sum(s["bound_ms"] for s in stages if s["bound"] == "memory") / bound_ms
                                    if bound_ms else None)}
    return {"name": cfg.name, "input_size": cfg.input_size, "batch": batch, "dtype": dtype,
            "device": dev.to_dict(), "peak_tflops": peak, "peak_label": peak_label, "mem_bw_gbs": dev.mem_bw_gbs,
            "ridge": dev.ridge(dtype), "flops_convention": FLOPS.includes, "bytes_model": BYTES_MODEL,
            "bytes_per_element": DTYPE_BYTES[dtype], "stages": stages, "total": total,
            "estimate": ({"label": "estimated (not measured)", "note": cal_note, "calibration": cal.to_dict()}
                         if cal else {"label": None, "note": cal_note, "calibration": None})}


# --------------------------------------------------------------------------- against a measurement
_GPU_NAMES = (("H100", "PCIE", "h100_pcie"), ("H100", "", "h100"), ("H200", "", "h200"), ("A100", "", "a100"),
              ("L40", "", None), ("L4", "", "l4"), ("T4", "", "t4"), ("4090", "", "rtx4090"), ("5090", "", "rtx5090"))


def device_for_record(env: dict) -> str | None:
    """The device key of a latency record's ``environment`` (None: a GPU the table does not have)."""
    if env.get("device") == "cpu":
        return CPU
    name = (env.get("device_name") or "").upper()
    for part, also, key in _GPU_NAMES:
        if part in name and also in name:
            return key
    return None


def against_measured(roof: dict, per_stage_ms: dict) -> list:
    """Each stage's measured time beside its bound: % of roofline = bound / measured (100 % = at the
    roof; a bound above the measurement would be a bug in the bytes or the peak)."""
    rows = []
    for s in roof["stages"]:
        m = (per_stage_ms or {}).get(s["name"])
        rows.append({"stage": s["name"], "bound": s["bound"], "bound_ms": s["bound_ms"], "measured_ms": m,
                     "pct_of_roofline": (100.0 * s["bound_ms"] / m) if m else None,
                     "achieved_tflops": (s["flops"] / (m * 1e-3) / 1e12) if m else None,
                     "achieved_gbs": (s["bytes"] / (m * 1e-3) / 1e9) if m else None})
    return rows


# --------------------------------------------------------------------------- tables and words, for the page
def roofline_rows(series: list) -> list:
    """The roofline table of ``series`` ([(label, :func:`roofline` result)], the design first): per model,
    one row per stage and a total row (its bound: the share of the bound time in memory-bound stages)."""
    rows = []
    for label, roof in series:
        for s in roof["stages"]:
            rows.append({"model": label, "stage": s["name"], "GFLOP": s["flops"] / 1e9, "MB moved": s["bytes"] / 1e6,
                         "concat MB": s["concat"] / 1e6, "FLOP/byte": s["intensity"], "bound": s["bound"],
                         "lower bound ms": s["bound_ms"], "estimated ms": s["estimated_ms"]})
        t = roof["total"]
        rows.append({"model": label, "stage": "total", "GFLOP": t["flops"] / 1e9, "MB moved": t["bytes"] / 1e6,
                     "concat MB": t["concat"] / 1e6, "FLOP/byte": t["intensity"],
                     "bound": f"{t['memory_bound_share']:.0%} memory-bound",
                     "lower bound ms": t["bound_ms"],
                     "estimated ms": t["estimated_ms"]})
    return rows


def component_rows(roof: dict) -> list:
    """One row per component of every stage of a :func:`roofline` result."""
    return [{"stage": s["name"], "component": c["name"], "GFLOP": c["flops"] / 1e9, "MB moved": c["bytes"] / 1e6,
             "concat MB": c["concat"] / 1e6, "FLOP/byte": c["intensity"], "bound": c["bound"],
             "lower bound ms": c["bound_ms"], "estimated ms": c["estimated_ms"]}
            for s in roof["stages"] for c in s["components"]]


def roofline_verdict(series: list) -> str:
    """One line: the design (``series[0]``) against its reference (``series[1]``) in FLOPs, bytes, lower
    bound and (on a GPU) estimate, and the share of the design's bound time in memory-bound stages."""
    (_, d), (ref_label, r) = series[0], series[1]
    dt, rt = d["total"], r["total"]

    def chg(a, b):
        return f"{100.0 * (a - b) / b:+.0f} %" if b else "n/a"

    text = (f"Against the {ref_label}: FLOPs {chg(dt['flops'], rt['flops'])}, bytes moved "
            f"{chg(dt['bytes'], rt['bytes'])}, lower bound {chg(dt['bound_ms'], rt['bound_ms'])}")
    if dt["estimated_ms"] and rt["estimated_ms"]:
        text += f", estimated time {chg(dt['estimated_ms'], rt['estimated_ms'])} (an estimate, not a measurement)"
    return text + f"; {dt['memory_bound_share']:.0%} of the design's bound time is in memory-bound stages."


def calibration_rows() -> list:
    """One row per calibration of the GPU estimates: device, precision, what it was fitted on, efficiency,
    µs per kernel, points and its largest error."""
    return [{"device": gpu_devices()[c.device].name, "precision": c.precision, "fitted on": c.source,
             "efficiency": c.efficiency, "µs per kernel": c.kernel_ms * 1e3, "points": c.points,
             "max error %": c.error["max_abs_pct"]} for c in calibrations().values()]


def record_setting(record: dict) -> dict | None:
    """The roofline setting a latency record was measured in: ``{"device", "dtype", "batch"}`` (its first
    batch size), or None when the device table does not have its device."""
    design = record["design"]
    dev = device_for_record(design.get("environment", {}))
    if dev is None:
        return None
    return {"device": dev, "dtype": design.get("request", {}).get("dtype", "fp32"),
            "batch": design["results"][0]["batch"]}


def record_stage_ms(record: dict, device: str, dtype: str, batch: int) -> dict | None:
    """A latency record's per-stage times (ms) of the design at ``batch``, when it was measured on ``device``
    in ``dtype``; else None."""
    design = record["design"]
    if (device_for_record(design.get("environment", {})) != device
            or design.get("request", {}).get("dtype") != dtype):
        return None
    for r in design["results"]:
        if r["batch"] == batch:
            return r.get("per_stage_ms")
    return None


def above_roof(rows: list) -> bool:
    """Whether a stage of :func:`against_measured`'s rows ran faster than its bound (over 100 % of roofline)."""
    return any((r["pct_of_roofline"] or 0) > 100 for r in rows)
