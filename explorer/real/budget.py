"""Memory a real model will take, estimated before anything is allocated.

The analytic counts never build a model; the live trace, the ONNX export and a latency benchmark
do.  On a shared server (a class on one machine) one request for a huge design at a big batch
could take all the memory and get the whole server killed, so these builds are checked against a
budget first and refused with a message that names the estimate and the bound.

The estimate: the weights, plus ``batch`` x the peak of live activation bytes of one image, plus a
fixed allowance for the allocator and the convolution backend's scratch space.  The activation
peak comes from running the model on the ``meta`` device (no memory) under a dispatch mode that
follows every tensor's storage from the op that makes it to its release, so it knows what is
alive at once (a DenseNet keeps its block's features, a ResNet only a few tensors); it is scaled
by ``SAFETY`` for what the CPU allocator does not give back between layers.
``benchmarks/memory_estimate.py`` measures the real peak against it.
"""
from __future__ import annotations

import os
import threading
import weakref
from dataclasses import dataclass
from functools import lru_cache

from cspnet import CSPConfig, plan_network
from cspnet.errors import ConfigError
from explorer.fmt import GiB, gib

FP32 = 4
SAFETY = 1.5          # headroom over the traced peak for what the allocator keeps (README: measured)
SLACK = 1 * GiB       # allocator and backend scratch, and small batches' fixed overhead


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 8 * GiB


def _env_gib(name: str, default: float) -> int:
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        value = default
    return int(max(value, 0.0) * GiB)


# What one request may build on a shared server (override with the environment variables).
BUILD_BUDGET = _env_gib("CSPNET_BUILD_BUDGET_GIB", 3.0)                             # live trace, ONNX
BENCH_BUDGET = _env_gib("CSPNET_BENCH_BUDGET_GIB", 0.5 * _physical_memory() / GiB)  # one CPU benchmark


@dataclass(frozen=True)
class Estimate:
    weights: int        # bytes
    per_image: int      # bytes: the traced activation peak of one image, times SAFETY
    batch: int

    @property
    def total(self) -> int:
        return self.weights + self.batch * self.per_image + SLACK


class _LiveBytes:
    """A dispatch mode's bookkeeping: bytes of the storages made by ops and still referenced."""

    def __init__(self):
        self.live = self.peak = 0
        self.refs: dict = {}

    def made(self, t) -> None:
        storage = t.untyped_storage()
        key, n = storage._cdata, storage.nbytes()
        if key not in self.refs:
            self.refs[key] = 0
            self.live += n
            self.peak = max(self.peak, self.live)
        self.refs[key] += 1
        weakref.finalize(t, self._released, key, n)

    def _released(self, key, n) -> None:
        self.refs[key] -= 1
        if not self.refs[key]:
            del self.refs[key]
            self.live -= n


def activation_peak(cfg: CSPConfig) -> int:
    """Peak bytes of activations alive at once in one forward pass of one image (fp32), traced on the
    meta device; the input is included, the weights are not."""
    return _activation_peak(cfg.key())


_TRACE_LOCK = threading.Lock()


@lru_cache(maxsize=64)
def _activation_peak(key: str) -> int:
    import json

    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    from cspnet import build_model

    cfg = CSPConfig.from_dict(json.loads(key))
    book = _LiveBytes()

    class Track(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            out = func(*args, **(kwargs or {}))
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    book.made(t)
            return out

    with _TRACE_LOCK:
        model = build_model(cfg, device="meta").eval()
        x = torch.empty(1, 3, cfg.input_size, cfg.input_size, device="meta")
        book.made(x)
        with torch.inference_mode(), Track():
            y = model(x)
        del y
    return book.peak


def estimate(cfgs: CSPConfig | list, batch: int = 1, dtype: str = "fp32") -> Estimate:
    """Memory to hold every model in ``cfgs`` and run any one of them at ``batch``.

    Activations are counted at 4 bytes even under bf16/fp16 autocast (the input stays fp32 and
    autocast adds half-precision copies of the weights: counted too).
    """
    cfgs = list(cfgs) if isinstance(cfgs, (list, tuple)) else [cfgs]
    weight_bytes = FP32 + (2 if dtype in ("bf16", "fp16") else 0)
    weights = sum(plan_network(c).params for c in cfgs) * weight_bytes
    per_image = int(max(activation_peak(c) for c in cfgs) * SAFETY)
    return Estimate(weights=weights, per_image=per_image, batch=batch)


def check_build(cfg: CSPConfig, budget: int | None = None) -> Estimate:
    """Raise ConfigError('design', ...) when building ``cfg`` and running it once would exceed ``budget``."""
    budget = BUILD_BUDGET if budget is None else budget
    weights = plan_network(cfg).params * FP32
    if weights + SLACK > budget:  # no trace needed to know
        est = Estimate(weights=weights, per_image=0, batch=1)
    else:
        est = estimate(cfg)
    if est.total > budget:
        raise ConfigError("design", f"the real model needs about {gib(est.total)} to build and run once "
                                    f"({gib(est.weights)} of weights); this server builds designs up to "
                                    f"{gib(budget)}. Lower input_size or the widths, or run it on your "
                                    "own machine with the CLI")
    return est


def largest_batch(cfgs, budget: int, dtype: str = "fp32") -> int:
    """The largest batch whose estimate fits ``budget`` (0 if not even batch 1)."""
    est = estimate(cfgs, 1, dtype)
    room = budget - est.weights - SLACK
    return max(int(room // max(est.per_image, 1)), 0)
