"""Measured latency: whole model and per stage, CPU always, CUDA when there is one.

Method (timm's benchmark.py, plus per-stage timing): warm-up runs, then ``runs`` timed runs;
median, p10 and p90; CUDA events on the GPU (timing the GPU, not the Python launch loop) and
``perf_counter`` on the CPU.  Per-stage times come from events (or clock reads) at the stage
boundaries of one extra set of runs, so they do not perturb the whole-model numbers.

Runs on one device never overlap: ``DEVICE_QUEUE`` serialises them (overlapping runs corrupt each
other's numbers), reports the queue position, and lets a waiting request be cancelled.
"""
from __future__ import annotations

import statistics
import threading
import time
from collections import deque
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from typing import Callable

import torch

from cspnet import ConfigError, CSPConfig, build_model, plan_network
from explorer.counts.conventions import count
from explorer.fmt import gib
from explorer.real.budget import BENCH_BUDGET, estimate, largest_batch

DTYPES = {"fp32": None, "bf16": torch.bfloat16, "fp16": torch.float16}
MAX_BATCH = 1024
STAGE_RUNS = (3, 10)  # the per-stage pass: as many runs as the request, but at least 3 and at most 10


def stage_runs(runs: int) -> int:
    """Runs of the extra per-stage timing pass for a request of ``runs`` timed runs."""
    lo, hi = STAGE_RUNS
    return max(lo, min(runs, hi))


class BenchmarkError(Exception):
    """A benchmark that could not run (bad request, no such device, out of memory): a message."""


class Cancelled(BenchmarkError):
    pass


@dataclass(frozen=True)
class BenchRequest:
    device: str = "cpu"
    batch_sizes: tuple = (1,)
    dtype: str = "fp32"
    channels_last: bool = False
    cuda_graphs: bool = False
    compile: bool = False
    warmup: int = 3
    runs: int = 10
    per_stage: bool = True
    max_seconds: float = 300.0  # a run that takes longer is stopped (nobody waits forever)

    def validate(self):
        if self.device not in ("cpu", "cuda"):
            raise BenchmarkError(f"device: {self.device!r} is not allowed; allowed: cpu, cuda")
        if self.device == "cuda" and not torch.cuda.is_available():
            raise BenchmarkError("device: cuda was asked for but no CUDA GPU is available here; use cpu")
        if self.dtype not in DTYPES:
            raise BenchmarkError(f"dtype: {self.dtype!r} is not allowed; allowed: {', '.join(DTYPES)}")
        if not self.batch_sizes or any((not isinstance(b, int)) or not 1 <= b <= MAX_BATCH for b in self.batch_sizes):
            raise BenchmarkError(f"batch: {self.batch_sizes!r}; allowed integers 1 to {MAX_BATCH}")
        if not 1 <= self.runs <= 1000 or not 0 <= self.warmup <= 100:
            raise BenchmarkError("runs: allowed 1 to 1000 (warmup 0 to 100)")
        if not 1 <= self.max_seconds <= 3600:
            raise BenchmarkError("max_seconds: allowed 1 to 3600")
        if self.cuda_graphs and self.device != "cuda":
            raise BenchmarkError("cuda_graphs: only on device cuda")


def environment(device: str) -> dict:
    env = {"torch": torch.__version__, "device": device, "threads": torch.get_num_threads()}
    if device == "cuda":
        env["device_name"] = torch.cuda.get_device_name()
        env["cuda"] = torch.version.cuda
    else:
        import platform

        env["device_name"] = platform.processor() or platform.machine()
        env["gpu_available"] = torch.cuda.is_available()
    return env


# --------------------------------------------------------------------------- queue
class DeviceQueue:
    """FIFO per device: one benchmark at a time per device, with positions for waiting requests."""

    def __init__(self):
        self._cv = threading.Condition()
        self._queues: dict = {}

    def position(self, device: str, ticket) -> int:
        q = self._queues.get(device, deque())
        return list(q).index(ticket) if ticket in q else -1

    def waiting(self, device: str) -> int:
        return len(self._queues.get(device, ()))

    @contextmanager
    def slot(self, device: str, on_wait: Callable[[int], None] | None = None,
             cancelled: Callable[[], bool] | None = None, timeout: float = 600.0):
        ticket = object()
        with self._cv:
            q = self._queues.setdefault(device, deque())
            q.append(ticket)
            deadline = time.monotonic() + timeout
            try:
                while q[0] is not ticket:
                    if on_wait:
                        on_wait(list(q).index(ticket))
                    if cancelled and cancelled():
                        raise Cancelled("cancelled while waiting for the device")
                    if time.monotonic() > deadline:
                        raise BenchmarkError(f"timed out after {timeout:.0f} s waiting for {device}")
                    self._cv.wait(0.1)
            except BaseException:
                q.remove(ticket)
                self._cv.notify_all()
                raise
        try:
            yield
        finally:
            with self._cv:
                q.remove(ticket)
                self._cv.notify_all()


DEVICE_QUEUE = DeviceQueue()


# --------------------------------------------------------------------------- timing
def _percentiles(times_ms: list) -> dict:
    s = sorted(times_ms)
    n = len(s)

    def pct(p):
        if n == 1:
            return s[0]
        k = (n - 1) * p
        lo, hi = int(k), min(int(k) + 1, n - 1)
        return s[lo] + (s[hi] - s[lo]) * (k - lo)

    return {"median_ms": statistics.median(s), "p10_ms": pct(0.10), "p90_ms": pct(0.90),
            "min_ms": s[0], "runs": n}


class _Timer:
    """Marks time points: CUDA events on a GPU, perf_counter on a CPU."""

    def __init__(self, device: str):
        self.cuda = device == "cuda"

    def mark(self):
        if self.cuda:
            e = torch.cuda.Event(enable_timing=True)
            e.record()
            return e
        return time.perf_counter()

    def elapsed_ms(self, a, b) -> float:
        if self.cuda:
            return a.elapsed_time(b)
        return (b - a) * 1000.0

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize()




def _time_whole(fn, x, timer, warmup, runs, tick):
    for _ in range(warmup):
        fn(x)
        tick()
    timer.sync()
    times = []
    for _ in range(runs):
        a = timer.mark()
        fn(x)
        b = timer.mark()
        timer.sync()
        times.append(timer.elapsed_ms(a, b))
        tick()
    return times


def _time_stages(model, x, timer, runs, autocast):
    parts = model.named_parts()
    per = {name: [] for name, _ in parts}
    for _ in range(runs):
        with autocast:
            marks = [timer.mark()]
            model.run_parts(x, after=lambda _name: marks.append(timer.mark()))
        timer.sync()
        for (name, _), a, b in zip(parts, marks, marks[1:]):
            per[name].append(timer.elapsed_ms(a, b))
    return {name: statistics.median(v) for name, v in per.items()}


def benchmark(cfg: CSPConfig, req: BenchRequest = BenchRequest(),
              progress: Callable[[float, str], None] | None = None,
              cancelled: Callable[[], bool] | None = None,
              on_wait: Callable[[int], None] | None = None) -> dict:
    """Measure ``cfg`` under ``req``. Returns a JSON-safe record; raises BenchmarkError with a message."""
    req.validate()
    check_memory([cfg], req)
    with DEVICE_QUEUE.slot(req.device, on_wait=on_wait, cancelled=cancelled):
        return _measure([cfg], req, progress, cancelled)[0]


def check_memory(cfgs: list, req: BenchRequest, budget: int | None = None) -> None:
    """Refuse, before anything is built, a CPU benchmark whose memory estimate (explorer.real.budget:
    every model's weights plus the largest batch's working set) exceeds the budget.  On a GPU an
    out-of-memory error is caught instead and becomes a message."""
    if req.device != "cpu":
        return
    budget = BENCH_BUDGET if budget is None else budget
    est = estimate(list(cfgs), max(req.batch_sizes), req.dtype)
    if est.total > budget:
        fits = largest_batch(list(cfgs), budget, req.dtype)
        hint = (f"batches up to {fits} fit" if fits >= 1
                else "even batch 1 does not fit: lower input_size or the widths")
        models = "the design and the model it is compared with" if len(cfgs) == 2 else "one model"
        raise BenchmarkError(f"batch: {max(req.batch_sizes)} needs about {gib(est.total)} of memory ({models}, "
                             f"weights {gib(est.weights)}); CPU benchmarks here are limited to "
                             f"{gib(budget)} (CSPNET_BENCH_BUDGET_GIB sets it); {hint}")


def _measure(cfgs, req, progress, cancelled, rounds: int = 1) -> list:
    """Records for ``cfgs`` measured together (interleaved in ``rounds``); errors become messages."""
    progress = progress or (lambda f, msg: None)
    try:
        return _benchmark(cfgs, req, progress, cancelled, rounds)
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        raise BenchmarkError(f"out of GPU memory at batch {max(req.batch_sizes)}; "
                             "lower the batch size (the GPU stays usable)") from None
    except BenchmarkError:
        raise
    except Exception as exc:
        if req.compile:  # inductor needs a working C++/Triton toolchain; say so instead of a traceback
            raise BenchmarkError(f"torch.compile failed here ({type(exc).__name__}: {str(exc)[:160]}); "
                                 "measure without compile") from None
        raise
    finally:
        if req.device == "cuda":
            torch.cuda.empty_cache()


def _benchmark(cfgs, req, progress, cancelled, rounds):
    """Time every config at every batch size. With several configs, the timed runs alternate between
    them in ``rounds`` so that drift on a busy machine hits all of them alike."""
    device = torch.device(req.device)
    progress(0.0, "building the model" + ("s" if len(cfgs) > 1 else ""))
    entries = []
    for cfg in cfgs:
        model = build_model(cfg).to(device)
        if req.channels_last:
            model = model.to(memory_format=torch.channels_last)
        entries.append((cfg, model, torch.compile(model) if req.compile else model,
                        count(plan_network(cfg), "macs")))
    amp_dtype = DTYPES[req.dtype]
    total_steps = len(req.batch_sizes) * len(cfgs) * (req.warmup + req.runs)
    done = [0]
    deadline = time.monotonic() + req.max_seconds

    def tick():
        done[0] += 1
        if cancelled and cancelled():
            raise Cancelled("cancelled")
        if time.monotonic() > deadline:
            raise BenchmarkError(f"stopped after {req.max_seconds:.0f} s (max_seconds); use fewer runs or "
                                 "smaller batches")
        progress(min(done[0] / max(total_steps, 1), 1.0), f"run {done[0]} of {total_steps}")

    def autocast():
        return torch.autocast(req.device, dtype=amp_dtype) if amp_dtype else nullcontext()

    timer = _Timer(req.device)
    rounds = max(1, min(rounds, req.runs))
    per_round = [req.runs // rounds + (1 if r < req.runs % rounds else 0) for r in range(rounds)]
    results = [[] for _ in entries]
    for bs in req.batch_sizes:
        size = cfgs[0].input_size
        x = torch.randn(bs, 3, size, size, device=device)
        if req.channels_last:
            x = x.to(memory_format=torch.channels_last)
        with torch.inference_mode():
            calls = []
            for _, model, fn, _ in entries:
                def run(inp, fn=fn):
                    with autocast():
                        return fn(inp)
                calls.append(_cuda_graph(run, x) if req.cuda_graphs else run)
            for call in calls:
                _time_whole(call, x, timer, req.warmup, 0, tick)
            times = [[] for _ in calls]
            for n in per_round:
                for k, call in enumerate(calls):
                    times[k] += _time_whole(call, x, timer, 0, n, tick)
            for k, (cfg, model, _, macs) in enumerate(entries):
                stats = _percentiles(times[k])
                stage_ms = (_time_stages(model, x, timer, stage_runs(req.runs), autocast())
                            if req.per_stage else None)
                part_ms = part_times(plan_network(cfg), stage_ms)
                sec = stats["median_ms"] / 1000.0
                results[k].append({
                    "batch": bs, **stats,
                    "throughput_img_s": bs / sec if sec > 0 else None,
                    "achieved_tflops": (2.0 * macs * bs / sec / 1e12) if sec > 0 else None,
                    "per_stage_ms": stage_ms,
                    "per_part_ms": part_ms,   # backbone, neck, head: the stages' medians summed per part
                })
    progress(1.0, "done")
    note = ("measured on the CPU; no GPU here" if req.device == "cpu" and not torch.cuda.is_available()
            else f"measured on {req.device}")
    if len(cfgs) > 1:
        note += f"; timed runs alternate between the models in {rounds} rounds"
    return [{"name": cfg.name, "config": cfg.to_dict(), "request": asdict(req), "macs": macs,
             "environment": environment(req.device), "note": note, "results": results[k]}
            for k, (cfg, _, _, macs) in enumerate(entries)]


def _cuda_graph(run, x):
    """Capture ``run(x)`` once in a CUDA graph; replays time GPU work without launch overhead."""
    static_x = x.clone()
    s = torch.cuda.Stream()
    s.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(s):
        for _ in range(3):
            run(static_x)
    torch.cuda.current_stream().wait_stream(s)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        static_y = run(static_x)

    def replay(inp):
        g.replay()
        return static_y

    return replay


def compare_latency(cfg: CSPConfig, req: BenchRequest = BenchRequest(), progress=None, cancelled=None,
                    on_wait=None, rounds: int = 5, reference: CSPConfig | None = None,
                    reference_label: str | None = None) -> dict:
    """The design and a reference design in one queue slot, their timed runs alternating in ``rounds``
    (so a busy machine's drift hits both alike).

    ``reference`` is the design's plain twin by default (``cfg.twin()``), or any other design, e.g. its
    paper base (``cspnet.presets.base_config``); it is measured at the design's input size.  The
    record keeps the reference's measurement under ``"twin"`` and its times as ``twin_ms`` whatever it
    is (the key every reader of a record knows); ``"reference"`` says what it is: ``kind`` ("twin" or
    "other"), ``name`` and ``label`` (e.g. "plain twin", "resnet50")."""
    req.validate()
    try:
        twin = cfg.twin()
    except ConfigError:  # no valid plain twin (an imported network's CSP stages): measured alone
        twin = cfg
    ref = twin if reference is None else reference
    if ref.input_size != cfg.input_size:  # one input tensor feeds both models
        ref = ref.replace(input_size=cfg.input_size)
    kind = "twin" if ref == twin else "other"
    label = reference_label or ("plain twin" if kind == "twin" else ref.name)
    check_memory([cfg] if ref == cfg else [cfg, ref], req)
    with DEVICE_QUEUE.slot(req.device, on_wait=on_wait, cancelled=cancelled):  # one slot: same conditions
        if ref == cfg:
            design = plain = _measure([cfg], req, progress, cancelled)[0]
        else:
            design, plain = _measure([cfg, ref], req, progress, cancelled, rounds=rounds)
    rows = []
    for a, b in zip(design["results"], plain["results"]):
        rows.append({
            "batch": a["batch"], "design_ms": a["median_ms"], "twin_ms": b["median_ms"],
            "time_delta_pct": 100.0 * (a["median_ms"] - b["median_ms"]) / b["median_ms"],
            "macs_delta_pct": 100.0 * (design["macs"] - plain["macs"]) / plain["macs"],
        })
    return {"design": design, "twin": plain, "comparison": rows,
            "reference": {"kind": kind, "name": ref.name, "label": label}}


# --------------------------------------------------------------------------- a record, for the page
TWIN_LABEL = "plain twin"  # what the latency figures call the reference


def reference_label(record: dict) -> str:
    """What a :func:`compare_latency` record's design was measured against: "plain twin" or, for
    another reference, its label (e.g. "paper base resnet50")."""
    return (record.get("reference") or {}).get("label") or TWIN_LABEL


def reference_column(record: dict) -> str:
    """The results table's column of the reference's times: "twin median ms" or e.g. "resnet50 median ms"."""
    ref = record.get("reference") or {}
    return "twin median ms" if ref.get("kind", "twin") == "twin" else f"{ref.get('name', 'reference')} median ms"


def reference_text(text: str | None, record: dict, trace_name: bool = False) -> str | None:
    """A latency figure's ``text`` (title, axis title, hover, legend group) for ``record``: the figures say
    "plain twin"; a record measured against another design says that design's label instead.  With
    ``trace_name``, "plain twin: <the reference's name>" becomes the label alone (it names the model
    already).  ``text`` as it is (None and '' included) for a record against the plain twin."""
    label = reference_label(record)
    if label == TWIN_LABEL or not text:
        return text
    if trace_name:
        text = text.replace(f"{TWIN_LABEL}: {record['twin'].get('name', '')}", label)
    return text.replace(TWIN_LABEL, label)


def part_times(plan, per_stage_ms: dict | None) -> dict | None:
    """``per_stage_ms`` (a stage's name -> its median ms, :func:`_time_stages`) summed per part of the network
    (the plan's ``StagePlan.part_name``: backbone, neck, head), in forward order; None without stage times."""
    if not per_stage_ms:
        return None
    part_of = {sp.name: sp.part_name for sp in plan.stages}
    out: dict = {}
    for name, ms in per_stage_ms.items():
        part = part_of.get(name, "backbone")
        out[part] = out.get(part, 0.0) + ms
    return out


def part_rows(record: dict, batch: int) -> list:
    """A :func:`compare_latency` record's time per part (backbone, neck, head) at ``batch``: the design's
    and the reference's medians summed over each part's stages, the change in %, and the part's share of
    the design's per-stage total.  [] where the record has no per-part times at that batch."""
    def parts(rec):
        return next((r.get("per_part_ms") or {} for r in rec.get("results", []) if r["batch"] == batch), {})

    d, t = parts(record["design"]), parts(record["twin"])
    total = sum(d.values())
    col = reference_column(record)
    return [{"part": p, "design ms": ms, col: t.get(p),
             "time change %": 100.0 * (ms - t[p]) / t[p] if t.get(p) else None,
             "share of the design's time": ms / total if total else None} for p, ms in d.items()]


def results_rows(record: dict) -> list:
    """The results table of a record, one row per batch size: the design's median, p10 and p90, the
    reference's median (column :func:`reference_column`), the time and MACs changes and the design's
    throughput."""
    rows = []
    twin = {r["batch"]: r for r in record["twin"]["results"]}
    for r in record["design"]["results"]:
        t = twin.get(r["batch"], {})
        c = next((x for x in record["comparison"] if x["batch"] == r["batch"]), {})
        rows.append({"batch": r["batch"], "design median ms": r["median_ms"], "design p10": r["p10_ms"],
                     "design p90": r["p90_ms"], reference_column(record): t.get("median_ms"),
                     "time change %": c.get("time_delta_pct"), "MACs change %": c.get("macs_delta_pct"),
                     "design images/s": r.get("throughput_img_s")})
    return rows


def request_macs(req: BenchRequest, macs_design: int, macs_reference: int = 0) -> int:
    """About how many multiply-accumulates ``req`` computes in all: every batch size, every run (warm-up,
    timed and the per-stage pass), for the design and (``macs_reference`` > 0) the model it is measured
    against; MACs per image in."""
    runs = req.warmup + req.runs + stage_runs(req.runs)
    return sum(req.batch_sizes) * runs * (macs_design + macs_reference)


def memory_problem(cfg: CSPConfig, req: BenchRequest, ref: CSPConfig | None = None) -> str | None:
    """Said before a benchmark starts: why :func:`check_memory` would refuse measuring ``cfg`` and
    ``ref`` (default: its plain twin; ``ref == cfg``: the design alone) with ``req``, or None."""
    ref = cfg.twin() if ref is None else ref
    try:
        check_memory([cfg] if ref == cfg else [cfg, ref], req)
    except BenchmarkError as exc:
        return f"{exc}. Measure would refuse it."
    return None
