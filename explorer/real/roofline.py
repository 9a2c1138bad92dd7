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

The **eager** bytes and kernels (``eager_bytes``, ``kernels``, ``eager``: one ``(kind, flops, bytes,
kernels)`` per kernel) are what PyTorch eager mode runs in a :class:`Setting` (dtype; the model cast to
bf16/fp16 or fp32 weights under autocast; NCHW or channels_last; this project's modules or timm's):
one kernel per op, BN and activation each read and write their tensor, an add reads two and writes one;
under autocast each conv/linear weight is cast first (read in fp32, written in bf16/fp16); a conv that
reads a channel slice (a CSP split's part) copies it first (always in channels_last, above batch 1 in
NCHW); timm's ``CrossStage`` in channels_last adds two layout copies per stage and makes its concat a
transposing copy.  The lower bound (the fused bytes) is the same in every setting.

**Devices**: GPU peaks from vendor datasheets (``data/devices.csv``, dense figures, each with its
source); for fp32 on a GPU the compute roof is the TF32 tensor-core peak, because PyTorch runs fp32
convolutions on TF32 tensor cores by default (``torch.backends.cudnn.allow_tf32 = True``).  The
machine this runs on is measured (:func:`measure_cpu`: a GEMM per dtype and a memory copy, cached;
measuring again keeps the best figures seen).

**Estimates** on a GPU (never measurements, and labelled so): :meth:`Calibration.estimate` sums every
eager kernel's own roofline time, max(F / P, B / W), divided by the efficiency of its kind (:data:`KINDS`:
dense 1x1 conv, dense k x k conv, grouped conv, copy, memory, layout copy), times a factor for the
setting, plus a fixed time per kernel; every efficiency and factor at most 1, so an estimate is never
below the bound.  :func:`calibrations` fits them (least squares on the relative error, alternating
between the efficiencies and the factors) on the whole-model GPU times shipped as data: on the H100 this
project's measurements with CUDA graphs (``data/gpu_measured.csv``, copied from ``benchmarks/results``)
and timm's models with CUDA graphs (``data/gpu_h100_timm_graphs.csv`` and any other
``data/gpu_*_graphs*.csv``); on the RTX 4090 / 5090 timm's published batch-1024 AMP times
(``explorer/paper/data/published_speed.csv``; the efficiencies only).  The error is computed
leave-one-model-out (every model estimated from a fit on the others only) and reported as nn-Meter
does (:func:`error_stats`: median, p90, share within ±10 %, CSP / base directions); :func:`trust` says
for one estimate whether its GPU, setting and kinds of kernel have measurements behind it and quotes
its error on similar models; a GPU without measurements of its own uses the H100 calibration with its
own peaks, says so, and quotes :func:`transfer_error`.

Pure Python (no torch) except :func:`measure_cpu`, which imports torch when called.
"""
from __future__ import annotations

import csv
import math
import threading
import time
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

from cspnet import plan_network
from cspnet.plan import NetPlan
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


# --------------------------------------------------------------------------- the setting a model runs in
@dataclass(frozen=True)
class Setting:
    """How the model runs: ``dtype`` (fp32; bf16 or fp16: the model and input cast, as
    ``model.to(dtype=torch.bfloat16)``; with ``autocast``: fp32 weights under ``torch.autocast``),
    ``channels_last`` (``memory_format=torch.channels_last``) or contiguous NCHW, and whose model:
    ``implementation`` "cspnet" (this project's modules) or "timm" (timm's ``CrossStage``, whose
    ``.contiguous()`` after the partial transition turns a channels_last tensor back into NCHW)."""
    dtype: str = "fp32"
    channels_last: bool = False
    autocast: bool = False
    implementation: str = "cspnet"

    def __post_init__(self):
        check_dtype(self.dtype)
        if self.autocast and self.dtype == "fp32":
            raise RooflineError("autocast: applies to bf16 or fp16 only (fp32 runs as built); allowed: "
                                "--dtype bf16 or fp16 with --autocast")
        if self.implementation not in IMPLEMENTATIONS:
            raise RooflineError(f"implementation: {self.implementation!r} is not allowed; allowed: "
                                f"{', '.join(IMPLEMENTATIONS)}")

    @property
    def precision(self) -> str:
        """fp32, cast (the model cast to bf16/fp16) or autocast."""
        return "fp32" if self.dtype == "fp32" else "autocast" if self.autocast else "cast"

    @property
    def key(self) -> str:
        """The calibration's key of this setting: ``fp32-nchw``, ``cast-channels_last``, ``autocast-nchw`` ..."""
        return f"{self.precision}-{'channels_last' if self.channels_last else 'nchw'}"

    @property
    def label(self) -> str:
        prec = {"fp32": "fp32 (TF32 convs)", "cast": f"{self.dtype} (model cast)",
                "autocast": f"{self.dtype} autocast"}[self.precision]
        return f"{prec}, {'channels_last' if self.channels_last else 'contiguous NCHW'}"

    def to_dict(self) -> dict:
        return {**asdict(self), "precision": self.precision, "key": self.key, "label": self.label}


IMPLEMENTATIONS = ("cspnet", "timm")
TIMM_CROSS_STAGE = ("resnet", "resnext", "darknet")   # the families timm builds with CrossStage (.contiguous())


def setting_of(dtype="fp32", channels_last: bool = False, autocast: bool = False,
               implementation: str = "cspnet") -> Setting:
    return dtype if isinstance(dtype, Setting) else Setting(dtype, bool(channels_last), bool(autocast), implementation)


# --------------------------------------------------------------------------- bytes and FLOPs
KINDS = ("conv 1x1", "conv kxk", "conv grouped", "copy", "memory", "layout")   # the estimate's kinds of kernel
LAYOUT_COST = 2.0   # a transposing copy (NCHW <-> channels_last) against a plain one: an assumption, not fitted


def kernel_kind(op) -> str:
    """The estimate's kind of an op's kernel: dense 1x1 conv (and linear), dense k x k conv, grouped or
    depthwise conv, copy (concat, channel-slice and layout copies) or memory (BatchNorm, activation,
    add, multiply, pooling, casts: elementwise or nearly)."""
    if op.kind in WEIGHTED:
        if getattr(op, "groups", 1) > 1:
            return "conv grouped"
        return "conv 1x1" if op.kind == "linear" or op.kernel <= 1 else "conv kxk"
    if op.kind == "matmul":
        return "conv 1x1"
    return "copy" if op.kind == "cat" else "memory"


def _reads_a_slice(op, plan) -> bool:
    """Whether the op's (first) input is a channel slice of a wider tensor (a CSP split's part)."""
    if plan is None or not op.reads:
        return False
    src, lo, hi = op.reads[0]
    return lo is not None and hi - lo < plan.source_shape(src)[0]


def op_traffic(op, batch: int, s: int, plan=None, setting: Setting | None = None) -> dict:
    """FLOPs and bytes of one plan op (``cspnet.plan.Op``) at ``batch`` and ``s`` bytes per element,
    under the fused model of the module docstring; also the eager bytes and kernels in ``setting``
    (default: as built, no autocast, NCHW).  Keys: flops, read, write, weights, concat (the part of
    read + write that is concat copies), bytes, eager_bytes, kernels, and ``eager``: the eager kernels as
    ``(kind, flops, bytes, kernels)`` (:data:`KINDS`).  Eager: BN and activation read and write their
    tensor, an add reads two and writes one; under autocast each conv/linear weight is cast first (read 4
    bytes, write ``s``: one more kernel); a conv reading a channel slice copies it first (PyTorch makes a
    conv's input contiguous: every slice in channels_last, a slice of a batch over 1 in NCHW).  With the
    ``plan`` (a ``cspnet.plan.NetPlan``), a residual add reads its other operand as the graph's edges say
    (:meth:`NetPlan.read_elements`: a Darknet shortcut from a wider layer reads only its channels);
    without, an operand of the output's size."""
    setting = setting or Setting("fp32" if s == 4 else "bf16")
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
    ek = kernel_kind(op)
    kernels = [(ek, flops, eager, 1)]
    if kind in WEIGHTED and setting.autocast:   # the fp32 weight cast first (read 4, write s per element)
        kernels.append(("memory", 0, op.params * (4 + s), 1))
    if kind in WEIGHTED and (setting.channels_last or batch > 1) and _reads_a_slice(op, plan):
        kernels.append(("copy", 0, 2 * n_in * s, 1))   # the slice made contiguous before the conv
    return {"flops": flops, "read": read, "write": write, "weights": weights, "concat": concat,
            "bytes": fused, "eager_bytes": sum(k[2] for k in kernels), "kernels": len(kernels),
            "eager": tuple(kernels)}


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
    eager = []
    for r in rows:
        for k in _SUM_KEYS:
            out[k] += r[k]
        eager.extend(r["eager"])
    out["eager"] = tuple(eager)
    return out


def _timm_layout_copies(sp, batch: int, s: int) -> tuple:
    """timm's ``CrossStage`` in channels_last: ``.contiguous()`` after the partial transition writes it in
    NCHW (a transposing copy), the concat of a channels_last part and an NCHW part is written NCHW (the
    concat becomes a transposing copy) and the transition conv converts it back (a transposing copy):
    (the concat op's path or None, [(component, traffic)] of the 2 copies more)."""
    part = [o for o in sp.ops if o.kind in WEIGHTED and o.group[2] == "partial_transition"]
    cat = [o for o in sp.ops if o.kind == "cat" and o.group[2] == "concat"]
    if not (part and cat):
        return None, []
    out = []
    for comp, elements in (("partial_transition", part[-1].out_elements), ("transition", cat[-1].out_elements)):
        b = 2 * batch * elements * s
        out.append((comp, {**dict.fromkeys(_SUM_KEYS, 0), "eager_bytes": b, "kernels": 1,
                           "eager": (("layout", 0, b, 1),)}))
    return cat[-1].path, out


def network_plan(cfg):
    """The plan of ``cfg``: a design's (``cspnet.plan_network``), or the one a planned network carries (a
    detection YAML's ``explorer.io.ultralytics_det.Detector``: no design, its ``plan`` planned whole), so
    that the roofline of a detector is the same arithmetic over its graph."""
    plan = getattr(cfg, "plan", None)
    return plan if isinstance(plan, NetPlan) else plan_network(cfg)


def traffic(cfg, batch: int = 1, dtype="fp32", channels_last: bool = False, autocast: bool = False,
            implementation: str = "cspnet") -> list:
    """Per stage (stem, stages.i, head): the summed :func:`op_traffic` and its components, in order, in
    a setting (``dtype`` may be a :class:`Setting`).  Pure arithmetic over the memoized plan: milliseconds."""
    setting = setting_of(dtype, channels_last, autocast, implementation)
    check_batch(batch)
    s = DTYPE_BYTES[setting.dtype]
    plan = network_plan(cfg)
    family = getattr(cfg, "family", None)   # a detector has none
    stages = []
    for sp in plan.stages:
        comps: dict = {}
        ops = []
        transposed, extra = (_timm_layout_copies(sp, batch, s) if setting.implementation == "timm"
                             and setting.channels_last and family in TIMM_CROSS_STAGE else (None, []))
        for op in sp.ops:
            t = op_traffic(op, batch, s, plan, setting)
            if op.path == transposed:
                t["eager"] = tuple(("layout",) + k[1:] for k in t["eager"])
            ops.append(t)
            comps.setdefault(op.group[2], []).append(t)   # the op's component: down, expand, block, ...
        for comp, t in extra:
            ops.append(t)
            comps.setdefault(comp, []).append(t)
        stages.append({"name": sp.name, "kind": sp.kind, "part": sp.part_name, **_sums(ops),
                       "components": [{"name": k, **_sums(v)} for k, v in comps.items()]})
    return stages


def _stage_rows(stages: list, dev: Device, setting: Setting, cal: "Calibration | None") -> list:
    peak, _ = dev.peak(setting.dtype)
    bw = dev.mem_bw_gbs
    out = []
    for st in stages:
        comps = []
        for c in st["components"]:
            if not (c["flops"] or c["bytes"]):
                continue  # BN/activation layers on their own (the stem's): fused, nothing to show
            comps.append({**{k: c[k] for k in _SUM_KEYS}, "name": c["name"],
                          **_bound(c["flops"], c["bytes"], peak, bw),
                          "estimated_ms": cal.estimate(c, peak, bw, setting) if cal else None})
        out.append({"name": st["name"], "kind": st["kind"], "part": st.get("part", ""), **{k: st[k] for k in _SUM_KEYS},
                    **_bound(st["flops"], st["bytes"], peak, bw),
                    "estimated_ms": cal.estimate(st, peak, bw, setting) if cal else None, "components": comps})
    return out


# --------------------------------------------------------------------------- calibration
CALIBRATION_MODE = "cuda_graphs"   # this project's rows fitted: GPU time without Python launch overhead
REFERENCE_SETTING = "fp32-nchw"    # its setting factor is 1: the others are relative to it
# the CSP / base pairs whose measured ratio the estimate must get the right side of 1
PAIRS = (("cspresnet50", "resnet50"), ("cspresnext50", "resnext50_32x4d"), ("cspdarknet53", "darknet53"),
         ("cspdensenet201", "densenet201"))


@dataclass(frozen=True)
class Point:
    """One measured time of a whole model (or one stage of it) on a GPU, with its setting."""
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
    channels_last: bool = False
    autocast: bool = False
    implementation: str = "cspnet"

    @property
    def setting(self) -> Setting:
        return Setting(self.dtype, self.channels_last, self.autocast, self.implementation)


@lru_cache(maxsize=1)
def project_points() -> tuple:
    """This project's GPU measurements (``data/gpu_measured.csv``, copied from ``benchmarks/results``): our
    models (``measured_ms``); bf16 there is autocast (the latency engine's bf16)."""
    with open(MEASURED_CSV, newline="", encoding="utf-8") as fh:
        return tuple(Point(device=r["device_key"], model=r["model"], input_size=int(r["input_size"]),
                           dtype=r["dtype"], batch=int(r["batch"]), measured_ms=float(r["measured_ms"]),
                           part=r["part"], mode=r["mode"] + ("+channels_last" if r["channels_last"] == "true" else ""),
                           source=r["source"], date=r["date"], channels_last=r["channels_last"] == "true",
                           autocast=r["dtype"] != "fp32")
                     for r in csv.DictReader(fh))


@lru_cache(maxsize=1)
def graph_points() -> tuple:
    """Whole models measured with CUDA graphs, shipped as ``data/gpu_*_graphs*.csv``: timm's models on an
    H100 (``data/gpu_h100_timm_graphs.csv``; the method in its ``.md``: fp32 NCHW and bf16 cast in
    channels_last, batches 1 and 64) and any file ``benchmarks/gpu_checks.py --issue20`` wrote (its
    ``implementation``, ``device_key`` and ``source`` columns; a file without them is timm's, on the H100)."""
    out = []
    for path in sorted(DATA.glob("gpu_*graphs*.csv")):
        with open(path, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                src = r.get("source") or (f"data/{path.name} (CUDA graphs; method in data/{path.stem}.md)")
                out.append(Point(device=r.get("device_key") or "h100", model=r["model"],
                                 input_size=int(r["input_size"]),
                                 dtype="fp32" if r["dtype"].startswith("fp32") else r["dtype"][:4],
                                 batch=int(r["batch"]), measured_ms=float(r["cuda_graphs_ms"]), source=src,
                                 date=r.get("date") or "2026-11-23",
                                 channels_last=r["memory_format"] == "channels_last",
                                 implementation=r.get("implementation") or "timm"))
    return tuple(out)


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
                             source=f"timm {r['source_file']} @ {r['source_commit'][:7]}", autocast=True,
                             implementation="timm"))
    return tuple(out)


def calibration_points() -> tuple:
    """Every whole-model H100 time the estimate is fitted on: this project's (CUDA graphs) and timm's."""
    own = tuple(p for p in project_points() if p.mode == CALIBRATION_MODE and p.part == "whole")
    return own + tuple(p for p in graph_points() if p.device == "h100")


@lru_cache(maxsize=1024)
def _point_stages(model: str, input_size: int, setting: Setting, batch: int, part: str) -> tuple:
    """Summed traffic of a preset (or one of its stages) in a setting."""
    from cspnet import get_preset

    stages = traffic(get_preset(model, input_size=input_size), batch, setting)
    return tuple(stages if part == "whole" else [s for s in stages if s["name"] == part])


def _kind_ms(eager: tuple, peak_tflops: float, bw_gbs: float) -> dict:
    """kind -> summed roofline time (ms) of the eager kernels, each its own max(F / P, B / W)."""
    out = dict.fromkeys(KINDS, 0.0)
    for kind, f, b, _ in eager:
        out[kind] += max(f / (peak_tflops * 1e12), b / (bw_gbs * 1e9)) * 1e3
    return out


def _features(p: Point, dev: Device) -> tuple:
    """(kind -> eager roofline ms, eager kernels, fused lower bound in ms) of a measured point."""
    peak, _ = dev.peak(p.dtype)
    rows = _point_stages(p.model, p.input_size, p.setting, p.batch, p.part)
    eager = tuple(k for r in rows for k in r["eager"])
    bound = sum(_bound(r["flops"], r["bytes"], peak, dev.mem_bw_gbs)["bound_ms"] for r in rows)
    return _kind_ms(eager, peak, dev.mem_bw_gbs), sum(r["kernels"] for r in rows), bound


def _nnls(A: list, t: list, lower: list) -> list:
    """Least squares ``A w ~ t`` with ``w >= lower`` (every subset of free columns tried: a handful)."""
    import itertools

    import numpy as np

    A, t, lo = np.asarray(A, float), np.asarray(t, float), np.asarray(lower, float)
    t = t - A @ lo
    n = A.shape[1]
    best, best_w = math.inf, np.zeros(n)
    for r in range(n + 1):
        for cols in itertools.combinations(range(n), r):
            w = np.zeros(n)
            if cols:
                sol, *_ = np.linalg.lstsq(A[:, cols], t, rcond=None)
                if (sol < 0).any():
                    continue
                w[list(cols)] = sol
            res = float(np.sum((A @ w - t) ** 2))
            if res < best - 1e-15:
                best, best_w = res, w
    return [float(v) for v in best_w + lo]


def _fit(feats: list, ys: list, settings: list, fixed: "Calibration | None" = None) -> tuple:
    """(a per kind, factor per setting, ms per kernel) minimising the squared relative error of
    ``factor[setting] x sum_kind a[kind] x t[kind] + kernel_ms x kernels``; every a and factor >= 1 (no
    faster than the eager roofline), the reference setting's factor 1.  Alternating least squares: a
    and kernel_ms for fixed factors, then each factor for fixed a.  With ``fixed`` (another device's
    calibration) its kernel time is kept and the efficiencies fitted (a setting's factor 1): timm's published
    times are at batch 1024, where the kernel term is negligible."""
    kinds = [k for k in KINDS if k != "layout" and any(f[0][k] for f in feats)]
    sets = list(dict.fromkeys(settings))
    m = {s: 1.0 for s in sets}
    a, kernel_ms = dict.fromkeys(KINDS, 1.0), (fixed.kernel_ms if fixed is not None else 0.0)
    for _ in range(40):
        if fixed is None:
            A = [[m[st] * f[0][k] / y for k in kinds] + [f[1] / y] for f, y, st in zip(feats, ys, settings)]
            w = _nnls(A, [1.0] * len(ys), [1.0] * len(kinds) + [0.0])
            a.update(zip(kinds, w[:-1]))
            kernel_ms = w[-1]
        else:   # the kernel time kept: the efficiencies only
            A = [[m[st] * f[0][k] / y for k in kinds] for f, y, st in zip(feats, ys, settings)]
            w = _nnls(A, [1.0 - kernel_ms * f[1] / y for f, y in zip(feats, ys)], [1.0] * len(kinds))
            a.update(zip(kinds, w))
        for st in sets:
            idx = [i for i, s_ in enumerate(settings) if s_ == st]
            u = [sum(a[k] * feats[i][0][k] for k in KINDS) for i in idx]
            r = [ys[i] - kernel_ms * feats[i][1] for i in idx]
            num = sum(uu * rr / ys[i] ** 2 for uu, rr, i in zip(u, r, idx))
            den = sum(uu * uu / ys[i] ** 2 for uu, i in zip(u, idx))
            fit = float(max(num / den if den else 1.0, 1.0))
            m[st] = 1.0 if (st == REFERENCE_SETTING or fixed is not None) else fit
    for k in KINDS:   # kinds with no data behind them: grouped convs take the k x k convs' efficiency
        if k not in kinds and k != "layout" and fixed is not None:
            a[k] = fixed.a[k]
        elif k == "layout":
            a[k] = LAYOUT_COST * a["copy"]
        elif k not in kinds:
            a[k] = a["conv kxk"] if k == "conv grouped" and "conv kxk" in kinds else max(a.values())
    return a, m, kernel_ms, tuple(kinds)


@dataclass(frozen=True)
class Calibration:
    """estimate = factor[setting] x sum over kinds of a[kind] x (the roofline of PyTorch eager's kernels of
    that kind, each max(F / P, B / W)) + kernel_ms x (eager kernels)."""
    device: str          # the device key whose measurements were fitted
    a: dict              # kind -> 1 / efficiency
    factor: dict         # setting key -> factor (the reference setting's is 1)
    kernel_ms: float     # fixed time per kernel
    fitted_kinds: tuple  # the kinds with measurements behind them
    points: int
    models: tuple
    source: str
    error: dict          # leave-one-model-out: median, p90, share within 10 %, per model, rows, directions
    measured: tuple = ()  # "dtype setting-key" of every point fitted (bf16 and fp16 share a factor, not a check)

    def efficiency(self, kind: str) -> float:
        return 1.0 / self.a[kind]

    def settings(self) -> tuple:
        return tuple(self.factor)

    def factor_for(self, setting: Setting) -> tuple:
        """(factor, calibrated?, note) for a setting: its own, else the nearest one fitted (said so)."""
        if setting.key in self.factor:
            return self.factor[setting.key], True, f"{setting.label}: calibrated"
        same = [k for k in self.factor if k.split("-")[0] == setting.precision]
        near = same[0] if same else (REFERENCE_SETTING if REFERENCE_SETTING in self.factor else next(iter(self.factor)))
        return self.factor[near], False, (f"{setting.label}: no measurement in this setting on this GPU; the factor "
                                          f"of {near} is used (not calibrated)")

    def estimate(self, t: dict, peak_tflops: float, bw_gbs: float, setting: Setting) -> float:
        """Estimated ms of summed traffic ``t`` (a stage or a component) on a device with these roofs."""
        ms = _kind_ms(t["eager"], peak_tflops, bw_gbs)
        return self.factor_for(setting)[0] * sum(self.a[k] * v for k, v in ms.items()) + self.kernel_ms * t["kernels"]

    def to_dict(self) -> dict:
        return {"device": self.device, "efficiency": {k: 1.0 / v for k, v in self.a.items()}, "a": dict(self.a),
                "setting_factor": dict(self.factor), "kernel_us": self.kernel_ms * 1e3,
                "fitted_kinds": list(self.fitted_kinds), "points": self.points, "models": list(self.models),
                "source": self.source, "measured": list(self.measured),
                "error": {k: v for k, v in self.error.items() if k != "rows"}}


def _predict(a: dict, m: dict, kernel_ms: float, feat: tuple, setting: Setting) -> float:
    near = m.get(setting.key)
    if near is None:
        same = [k for k in m if k.split("-")[0] == setting.precision]
        near = m[same[0]] if same else m.get(REFERENCE_SETTING, 1.0)
    return near * sum(a[k] * feat[0][k] for k in KINDS) + kernel_ms * feat[1]


def _percentile(values: list, q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    pos = (len(v) - 1) * q
    lo = math.floor(pos)
    return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (pos - lo)


def directions(rows: list) -> list:
    """For every CSP / base pair (:data:`PAIRS`) measured in the same setting, batch and source: measured
    ratio, estimated ratio (each side's estimate from a fit that never saw it) and whether the estimate
    is on the same side of 1."""
    key = {(r["model"], r["setting"], r["batch"], r["implementation"]): r for r in rows}
    out = []
    for (model, setting, batch, impl), r in key.items():
        for csp, base in PAIRS:
            b = key.get((base, setting, batch, impl))
            if model != csp or b is None:
                continue
            mr, er = r["measured_ms"] / b["measured_ms"], r["estimated_ms"] / b["estimated_ms"]
            out.append({"csp": csp, "base": base, "input_sizes": [r["input_size"], b["input_size"]],
                        "setting": setting, "batch": batch, "implementation": impl, "measured_ratio": mr,
                        "estimated_ratio": er, "right_sign": (mr > 1) == (er > 1)})
    return out


def error_stats(rows: list) -> dict:
    """nn-Meter's figures of leave-one-model-out rows: median and p90 of |error|, the share within ±10 %,
    the largest, per model, and the CSP / base directions."""
    errs = [abs(r["error_pct"]) for r in rows]
    per_model: dict = {}
    for r in rows:
        per_model.setdefault(r["model"], []).append(abs(r["error_pct"]))
    dirs = directions(rows)
    return {"method": "leave-one-model-out: each model's times estimated from a fit on the other models only",
            "points": len(rows), "median_abs_pct": _percentile(errs, 0.5), "p90_abs_pct": _percentile(errs, 0.9),
            "within_10_pct": (sum(e <= 10 for e in errs) / len(errs)) if errs else None,
            "max_abs_pct": max(errs, default=None), "mean_abs_pct": (sum(errs) / len(errs)) if errs else None,
            "per_model_mean_abs_pct": {m: sum(v) / len(v) for m, v in per_model.items()},
            "directions": dirs, "directions_right": sum(d["right_sign"] for d in dirs),
            "rows": rows}


def _row(p: Point, est: float, bound: float) -> dict:
    return {"device": p.device, "model": p.model, "input_size": p.input_size, "dtype": p.dtype,
            "setting": p.setting.key, "implementation": p.implementation, "batch": p.batch,
            "measured_ms": p.measured_ms, "estimated_ms": est, "bound_ms": bound,
            "error_pct": 100.0 * (est - p.measured_ms) / p.measured_ms}


def _calibrate(points: list, dev: Device, device_key: str, source: str, fixed: "Calibration | None" = None):
    feats = [_features(p, dev) for p in points]
    ys = [p.measured_ms for p in points]
    sets = [p.setting.key for p in points]
    a, m, kernel_ms, kinds = _fit(feats, ys, sets, fixed)
    models = tuple(dict.fromkeys(p.model for p in points))
    rows = []
    for held in models if len(models) > 1 else ():
        train = [i for i, p in enumerate(points) if p.model != held]
        ha, hm, hk, _ = _fit([feats[i] for i in train], [ys[i] for i in train], [sets[i] for i in train], fixed)
        for i, p in enumerate(points):
            if p.model == held:
                rows.append(_row(p, _predict(ha, hm, hk, feats[i], p.setting), feats[i][2]))
    return Calibration(device=device_key, a=a, factor=m, kernel_ms=kernel_ms, fitted_kinds=kinds, points=len(points),
                       models=models, source=source, error=error_stats(rows),
                       measured=tuple(dict.fromkeys(f"{p.dtype} {p.setting.key}" for p in points)))


@lru_cache(maxsize=1)
def calibrations() -> dict:
    """device key -> Calibration, fitted on the measurements shipped as data: on the H100, this project's
    times with CUDA graphs and timm's models with CUDA graphs (every parameter); on the RTX 4090 / 5090,
    timm's published batch-1024 AMP times (the efficiency per kind, the H100's time per kernel: at batch
    1024 the kernel term is negligible)."""
    pts = calibration_points()
    h100 = gpu_devices()["h100"]
    own = list(dict.fromkeys(p.model for p in pts if p.implementation == "cspnet"))
    timm = list(dict.fromkeys(p.model for p in pts if p.implementation == "timm"))
    src = (f"H100 with CUDA graphs: this project's {', '.join(own)} (data/gpu_measured.csv"
           + (", data/gpu_*_graphs*.csv" if len(own) > 2 else "") + f") and timm's {', '.join(timm)} "
           "(data/gpu_h100_timm_graphs.csv)")
    out = {"h100": _calibrate(list(pts), h100, "h100", src)}
    for key in dict.fromkeys(p.device for p in published_points()):
        ppts = [p for p in published_points() if p.device == key]
        out[key] = _calibrate(ppts, gpu_devices()[key], key,
                              f"timm's published AMP batch-1024 times on the {gpu_devices()[key].name} "
                              f"({ppts[0].source})", fixed=out["h100"])
    h = out["h100"]
    ratios = [c.a["conv grouped"] / c.a["conv kxk"] for k, c in out.items()
              if k != "h100" and "conv grouped" in c.fitted_kinds]
    if "conv grouped" not in h.fitted_kinds and ratios:   # no grouped conv measured on the H100
        a = {**h.a, "conv grouped": h.a["conv kxk"] * sum(ratios) / len(ratios)}
        out["h100"] = replace(h, a=a)
    return out


@lru_cache(maxsize=1)
def transfer_error() -> dict:
    """How far the H100 calibration lands on GPUs it was not fitted on: applied as is to timm's published
    RTX 4090 / 5090 times (what a GPU without measurements of its own gets)."""
    rows = []
    cal = calibrations()["h100"]
    for p in published_points():
        dev = gpu_devices()[p.device]
        feat = _features(p, dev)
        rows.append(_row(p, _predict(cal.a, cal.factor, cal.kernel_ms, feat, p.setting), feat[2]))
    errs = [r["error_pct"] for r in rows]
    return {"method": "the H100 calibration applied unchanged to timm's published RTX 4090 / 5090 times",
            "min_pct": min(errs, default=None), "max_pct": max(errs, default=None),
            "mean_abs_pct": (sum(abs(e) for e in errs) / len(errs)) if errs else None, "rows": rows}


def calibration_for(device_key: str, dtype: str = "fp32") -> tuple:
    """(Calibration or None, note): the device's own, else the H100's (said so); None on the CPU."""
    if device_key == CPU:
        return None, "this machine is measured, not estimated (the Latency page's Measure, or `bench`)"
    cal = calibrations().get(device_key)
    if cal is not None:
        return cal, f"calibrated on {cal.source}"
    cal = calibrations()["h100"]
    t = transfer_error()
    return cal, (f"no measurements of this GPU: the H100 calibration with this GPU's peaks; on GPUs it was not "
                 f"fitted on it was off by {t['min_pct']:+.0f} % to {t['max_pct']:+.0f} % (timm's RTX 4090 / 5090 "
                 "times)")


def trust(cfg, device_key: str, setting: Setting, cal: "Calibration | None") -> dict:
    """How far to trust an estimate: whether its device and setting have measurements behind them, its
    leave-one-model-out error on the models of the same setting (and of the same family, where any),
    and the kinds of kernel the design runs that no measurement covers."""
    if cal is None:
        return {"calibrated": False, "level": "none", "notes": ["no estimate on this device"]}
    notes = []
    device_ok = cal.device == device_key
    if not device_ok:
        notes.append(f"no measurements of {device_key}: the H100 calibration with its peaks")
    _, setting_ok, setting_note = cal.factor_for(setting)
    if not setting_ok:
        notes.append(setting_note)
    elif f"{setting.dtype} {setting.key}" not in cal.measured:   # bf16 and fp16 share the factor
        setting_ok = False
        other = next(m.split()[0] for m in cal.measured if m.endswith(setting.key))
        notes.append(f"{setting.dtype} has no measurement in this setting on this GPU: {other}'s factor (the same "
                     "tensor-core roof)")
    plan = network_plan(cfg)
    flops = {k: 0 for k in KINDS}
    for op in plan.ops:
        flops[kernel_kind(op)] += FLOPS.per_op(op)
    total = sum(flops.values()) or 1
    uncovered = [k for k in KINDS if k not in cal.fitted_kinds and flops[k] / total > 0.01]
    for k in uncovered:
        notes.append(f"{100 * flops[k] / total:.0f} % of its FLOPs are grouped convs, which no measurement on this "
                     "GPU covers (their efficiency against the k x k convs' is the RTX 4090 / 5090 fits')"
                     if k == "conv grouped" else
                     f"its {k} kernels have no measurement behind them")
    rows = cal.error["rows"]
    same = [r for r in rows if r["setting"] == setting.key] or rows
    from cspnet import get_preset

    def family(model):
        try:
            return get_preset(model).family
        except Exception:  # a model the presets do not have
            return None

    own = getattr(cfg, "family", None)   # a detector has none
    fam = [r for r in same if family(r["model"]) == own]
    pick = fam or same
    errs = [abs(r["error_pct"]) for r in pick]
    calibrated = device_ok and setting_ok and not uncovered
    remarks = []
    if (setting.channels_last and setting.implementation == "cspnet" and own in TIMM_CROSS_STAGE
            and any(op.group[2] == "partial_transition" for op in plan.ops)):
        remarks.append("timm's CSP models run slower in channels_last than this project's: timm's CrossStage turns "
                       "the tensor back to NCHW after the partial transition (its estimate: implementation timm, "
                       "CLI --implementation timm)")
    return {"calibrated": calibrated, "device_calibrated": device_ok, "setting_calibrated": setting_ok,
            "uncovered_kinds": uncovered, "notes": notes, "remarks": remarks,
            "similar": {"models": sorted({r["model"] for r in pick}),
                        "why": ("same family and setting" if fam else "same setting") if same is not rows else
                        "every calibration model",
                        "median_abs_pct": _percentile(errs, 0.5), "max_abs_pct": max(errs, default=None),
                        "points": len(errs)},
            "level": "calibrated" if calibrated else "not calibrated"}


def stage_check() -> list:
    """This project's per-stage H100 measurements (eager, batch 64) against their bound and estimate:
    the bound must never be above the measurement."""
    rows = []
    cal = calibrations()["h100"]
    for p in project_points():
        if p.part == "whole":
            continue
        dev = gpu_devices()[p.device]
        feat = _features(p, dev)
        est = _predict(cal.a, cal.factor, cal.kernel_ms, feat, p.setting)
        rows.append({"model": p.model, "dtype": p.dtype, "batch": p.batch, "stage": p.part, "mode": p.mode,
                     "measured_ms": p.measured_ms, "bound_ms": feat[2], "estimated_ms": est,
                     "pct_of_roofline": 100.0 * feat[2] / p.measured_ms,
                     "error_pct": 100.0 * (est - p.measured_ms) / p.measured_ms})
    return rows


def bound_check() -> list:
    """Every whole-model time shipped as data (this project's, eager and CUDA graphs, and timm's) against
    its lower bound: (point, bound ms); the bound must never be above the measurement."""
    out = []
    for p in tuple(project_points()) + graph_points() + published_points():
        out.append((p, _features(p, gpu_devices()[p.device])[2]))
    return out


# --------------------------------------------------------------------------- the roofline of a design
BYTES_MODEL = ("bytes = feature maps read + written + weights (read once per batch); conv + BatchNorm + "
               "activation are one kernel (inference), a residual add is fused into the conv before it "
               "(reads the shortcut), concat copies its inputs (read + write, as torch.cat), pooling reads "
               "and writes, the channel split is a view; caches ignored")
ESTIMATE_LABEL = "estimated (not measured)"


def roofline(cfg, device: str = "h100", dtype: str = "fp32", batch: int = 1, channels_last: bool = False,
             autocast: bool = False, implementation: str = "cspnet") -> dict:
    """Per stage and per component: FLOPs, bytes, intensity, the bound that applies, the lower-bound
    time and (on a GPU) the calibrated estimate with how far to trust it, in a setting (dtype, memory
    format, cast or autocast).  JSON-safe."""
    setting = setting_of(dtype, channels_last, autocast, implementation)
    check_batch(batch)
    dev = get_device(device)
    peak, peak_label = dev.peak(setting.dtype)
    cal, cal_note = calibration_for(dev.key, setting.dtype)
    stages = _stage_rows(traffic(cfg, batch, setting), dev, setting, cal)
    for s in stages:
        s.pop("eager", None)
        for c in s["components"]:
            c.pop("eager", None)
    tot = _sums([{**s, "eager": ()} for s in stages])
    tot.pop("eager")
    bound_ms = sum(s["bound_ms"] for s in stages)
    total = {**tot, **_bound(tot["flops"], tot["bytes"], peak, dev.mem_bw_gbs), "bound_ms": bound_ms,
             "estimated_ms": sum(s["estimated_ms"] for s in stages) if cal else None,
             "memory_bound_share": (sum(s["bound_ms"] for s in stages if s["bound"] == "memory") / bound_ms
                                    if bound_ms else None)}
    trusted = trust(cfg, dev.key, setting, cal) if cal else None
    return {"name": cfg.name, "input_size": cfg.input_size, "batch": batch, "dtype": setting.dtype,
            "setting": setting.to_dict(),
            "device": dev.to_dict(), "peak_tflops": peak, "peak_label": peak_label, "mem_bw_gbs": dev.mem_bw_gbs,
            "ridge": dev.ridge(setting.dtype), "flops_convention": FLOPS.includes, "bytes_model": BYTES_MODEL,
            "bytes_per_element": DTYPE_BYTES[setting.dtype], "stages": stages, "total": total,
            "parts": roofline_parts(stages),
            "estimate": ({"label": ESTIMATE_LABEL, "note": cal_note, "calibration": cal.to_dict(), "trust": trusted}
                         if cal else {"label": None, "note": cal_note, "calibration": None, "trust": None})}

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
def roofline_parts(stages: list) -> list:
    """The stage rows of :func:`roofline` summed per part of the network (backbone, neck, head: each stage's
    ``part``), in forward order: FLOPs, bytes, kernels, the lower-bound time and the estimate (None without a
    calibration), and each part's share of the lower bound.  The parts add up to the total."""
    parts: dict = {}
    for st in stages:
        p = parts.setdefault(st.get("part") or "backbone", {"name": st.get("part") or "backbone", "stages": [],
                                                            **dict.fromkeys(("flops", "bytes", "kernels",
                                                                             "bound_ms"), 0),
                                                            "estimated_ms": 0.0})
        p["stages"].append(st["name"])
        for k in ("flops", "bytes", "kernels", "bound_ms"):
            p[k] += st[k]
        p["estimated_ms"] = None if st["estimated_ms"] is None or p["estimated_ms"] is None \
            else p["estimated_ms"] + st["estimated_ms"]
    bound = sum(p["bound_ms"] for p in parts.values())
    for p in parts.values():
        p["bound_share"] = p["bound_ms"] / bound if bound else None
    return list(parts.values())


def roofline_part_rows(series: list) -> list:
    """Per model of ``series`` ([(label, :func:`roofline` result)]), one row per part (:func:`roofline_parts`):
    its stages, GFLOP, MB moved, lower bound, its share of the lower bound and the estimate (None without one)."""
    from explorer.counts.analysis import stage_span

    return [{"model": label, "part": p["name"], "stages": stage_span(p["stages"]), "GFLOP": p["flops"] / 1e9,
             "MB moved": p["bytes"] / 1e6, "lower bound ms": p["bound_ms"],
             "share of the lower bound": p["bound_share"], "estimated ms": p["estimated_ms"]}
            for label, roof in series for p in roof["parts"]]


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
    """One row per calibration of the GPU estimates: device, what it was fitted on, the efficiency of each
    kind of kernel, the factor of each setting, µs per kernel, points and its leave-one-model-out error."""
    rows = []
    for c in calibrations().values():
        e = c.error
        rows.append({"device": gpu_devices()[c.device].name, "fitted on": c.source,
                     **{f"{k} efficiency": 1.0 / v for k, v in c.a.items()},
                     "setting factors": ", ".join(f"{k} {v:.2f}" for k, v in c.factor.items()),
                     "µs per kernel": c.kernel_ms * 1e3, "points": c.points,
                     "median error %": e["median_abs_pct"], "p90 error %": e["p90_abs_pct"],
                     "within ±10 %": e["within_10_pct"], "max error %": e["max_abs_pct"]})
    return rows


def error_summary(device: str = "h100") -> dict:
    """The figures the README quotes (``python -m explorer roofline --errors`` prints them): the device's
    calibration, leave-one-model-out, as nn-Meter reports: median, p90, share within ±10 %, and each CSP /
    base pair's direction (batch 64 apart); plus the transfer to GPUs without measurements."""
    cal = calibrations()[device]
    e = cal.error
    b64 = [d for d in e["directions"] if d["batch"] == 64]
    t = transfer_error()
    return {"device": device, "points": e["points"], "models": list(cal.models),
            "median_abs_pct": e["median_abs_pct"], "p90_abs_pct": e["p90_abs_pct"],
            "within_10_pct": e["within_10_pct"], "max_abs_pct": e["max_abs_pct"],
            "directions_right": e["directions_right"], "directions": len(e["directions"]),
            "directions_b64_right": sum(d["right_sign"] for d in b64), "directions_b64": len(b64),
            "efficiency": {k: 1.0 / v for k, v in cal.a.items()}, "setting_factor": dict(cal.factor),
            "kernel_us": cal.kernel_ms * 1e3, "transfer_min_pct": t["min_pct"], "transfer_max_pct": t["max_pct"],
            "rows": e["rows"], "direction_rows": e["directions"]}


def estimate_text(roof: dict) -> str:
    """What a :func:`roofline` result's estimate is and how far to trust it, in one paragraph (the Latency
    page's caption and the CLI's last line); without an estimate, why not."""
    est = roof["estimate"]
    if not est["calibration"]:
        return f"No estimate: {est['note']}."
    cal, t = est["calibration"], est["trust"]
    eff = ", ".join(f"{k} {v:.0%}" for k, v in cal["efficiency"].items() if k in cal["fitted_kinds"])
    factor = cal["setting_factor"].get(roof["setting"]["key"])
    sim = t["similar"]
    text = (f"Estimated ms is an estimate, not a measurement ({roof['setting']['label']}): the roofline of each "
            f"kernel PyTorch eager runs, at the efficiency of its kind ({eff}; layout copies at "
            f"1/{LAYOUT_COST:g} of a copy's)" + (f", times {factor:.2f} for this setting" if factor else "")
            + f", plus {cal['kernel_us']:.1f} µs per kernel; {est['note']}. ")
    if sim["median_abs_pct"] is not None:
        text += (f"Its error on models the fit never saw ({sim['why']}: {', '.join(sim['models'])}): median "
                 f"{sim['median_abs_pct']:.1f} %, at most {sim['max_abs_pct']:.1f} %. ")
    text += ("Calibrated: measurements of this GPU and setting are behind it." if t["calibrated"] else
             "NOT CALIBRATED here: " + "; ".join(t["notes"]) + ".")
    return text + "".join(f" Note: {r}." for r in t.get("remarks", ()))


def record_setting(record: dict) -> dict | None:
    """The roofline setting a latency record was measured in: ``{"device", "dtype", "channels_last",
    "autocast", "batch"}`` (its first batch size; the latency engine's bf16/fp16 is autocast), or None when
    the device table does not have its device."""
    design = record["design"]
    dev = device_for_record(design.get("environment", {}))
    if dev is None:
        return None
    req = design.get("request", {})
    dtype = req.get("dtype", "fp32")
    return {"device": dev, "dtype": dtype, "channels_last": bool(req.get("channels_last")),
            "autocast": dtype != "fp32", "batch": design["results"][0]["batch"]}


def record_stage_ms(record: dict, device: str, dtype: str, batch: int, channels_last: bool | None = None,
                    autocast: bool | None = None) -> dict | None:
    """A latency record's per-stage times (ms) of the design at ``batch``, when it was measured on ``device``
    in ``dtype`` (and, when given, that memory format; the engine's half precision is autocast); else None."""
    design = record["design"]
    req = design.get("request", {})
    if (device_for_record(design.get("environment", {})) != device or req.get("dtype") != dtype
            or (channels_last is not None and bool(req.get("channels_last")) != channels_last)
            or (autocast is not None and dtype != "fp32" and not autocast)):
        return None
    for r in design["results"]:
        if r["batch"] == batch:
            return r.get("per_stage_ms")
    return None


def above_roof(rows: list) -> bool:
    """Whether a stage of :func:`against_measured`'s rows ran faster than its bound (over 100 % of roofline)."""
    return any((r["pct_of_roofline"] or 0) > 100 for r in rows)
