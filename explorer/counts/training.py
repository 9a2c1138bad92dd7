"""Training cost of a design, from the analytic plan (no torch): the FLOPs of one training step and the
activation memory a step keeps for its backward pass.

**FLOPs of one step** (per image; times the batch for a step), in the ``flops`` convention's terms
(2 FLOPs per multiply-accumulate of a conv, linear or attention matmul):

- forward: the ``flops`` convention's count.
- backward: each conv, linear and matmul computes the gradient of its input and the gradient of its
  weight (a matmul: of both operands), each as many multiply-accumulates as its forward, so **2 x its
  forward**; a layer that reads the network's input (the first conv) computes no input gradient (the
  image needs none), so 1 x its forward.
- counted as 0: BatchNorm, activations, adds, pooling, concat, upsampling and softmax, forward and
  backward (elementwise work of a few operations per element, memory traffic, as in the ``flops``
  convention), and the optimizer's update (a few operations per parameter).

So ``step = forward + backward`` is 3 x the forward FLOPs less the first conv's input gradient.

**Activation memory kept for the backward pass** (what autograd saves, each tensor counted once, per
image; times the batch and the bytes per element for a step): a conv or linear saves its input,
BatchNorm its input (and its batch mean and inverse std, 2 per channel), ReLU, a sigmoid gate and
softmax their output and the other activations (LeakyReLU, SiLU, Mish) their input, a max-pool its
input and its int64 indices, average pooling its input (global pooling, a mean: nothing), a multiply
and a matmul both operands; a conv reading a reshaped view (attention's ``v``) saves the copy it
makes; an add, a concat, a mean, global pooling and an upsampling save nothing.  A channel slice
(a CSP split's part) is a view: saving it keeps its whole source tensor.  Weights, their gradients,
the optimizer's state and the backward pass's transient gradients are not counted (they are not
activations).
"""
from __future__ import annotations

from explorer.counts.conventions import REGISTRY

FLOPS = REGISTRY["flops"]
WEIGHTED = ("conv", "linear", "matmul")
SAVES_INPUT = ("conv", "linear", "bn", "maxpool", "avgpool", "mul", "matmul")
SAVES_OUTPUT = ("softmax",)
SAVES_NOTHING = ("add", "cat", "mean", "upsample", "gap")   # global pooling is a mean: sizes only
OUTPUT_SAVING_ACTS = (".gate", ".softmax")   # a sigmoid gate and a softmax save their output
INDEX_BYTES = 8   # a max-pool's int64 indices, one per output element
CONVENTION = {
    "step_flops": ("FLOPs of one training step: forward + backward; backward = 2 x the forward of each conv, "
                   "linear and matmul (input and weight gradients; 1 x for the layer reading the image, which "
                   "needs no gradient); BatchNorm, activations, adds, pooling, concat and the optimizer "
                   "counted 0"),
    "saved": ("activations kept for the backward pass, each tensor once: conv, linear, BatchNorm (+ 2 per "
              "channel), max-pool (+ its int64 indices) and average pooling their input, ReLU, sigmoid gates and "
              "softmax their output, other activations their input, multiply/matmul both operands; add, concat, "
              "global pooling nothing; a channel slice keeps its whole source; weights, gradients and optimizer "
              "state not counted"),
}


def _saved_tensors(op, activation: str | None) -> list:
    """The tensors ``op`` saves for its backward, as (id, elements per image) of whole source tensors."""
    kind = op.kind
    if kind == "act":
        if activation == "relu" or op.path.endswith(OUTPUT_SAVING_ACTS):
            return [(op.path, op.out_elements)]
    elif kind in SAVES_OUTPUT:
        return [(op.path, op.out_elements)]
    elif kind in SAVES_NOTHING or kind not in SAVES_INPUT or (kind == "mul" and len(op.reads) < 2):
        return []   # (a multiply by a constant, attention's scale, saves nothing)
    return None   # its inputs: resolved by the caller, which knows the producers


def training_cost(plan, activation: str | None = None) -> dict:
    """Per stage and in total, per image: forward, backward and step FLOPs, and the elements kept for the
    backward pass (a tensor saved by several layers counts in the stage of the first that saves it).
    ``activation``: the network's activation (``relu`` saves its output; any other its input)."""
    producers = {op.path: op for op in plan.ops}
    c0, h0, w0 = plan.input_shape
    seen: set = set()
    stages = []
    for sp in plan.stages:
        fwd = bwd = saved = index_bytes = 0
        for op in sp.ops:
            f = FLOPS.per_op(op)
            fwd += f
            if op.kind in WEIGHTED:
                reads_image = bool(op.reads) and op.reads[0][0] == "input"
                bwd += f if reads_image else 2 * f
            tensors = _saved_tensors(op, activation)
            if tensors is None:
                tensors = []
                for src, lo, _hi in op.reads or ():
                    if src == "input":
                        tensors.append(("input", c0 * h0 * w0))
                    elif lo is None and op.kind in ("conv", "linear"):   # a reshaped view: copied, then saved
                        tensors.append((f"{op.path}:in", op.in_elements))
                    elif src in producers:
                        tensors.append((src, producers[src].out_elements))
                if op.kind == "act" or not op.reads:   # an activation that saves its input; no edge recorded
                    tensors = tensors or [(f"{op.path}:in", op.in_elements)]
            for key, n in tensors:
                if key not in seen:
                    seen.add(key)
                    saved += n
            if op.kind == "bn":   # its batch mean and inverse std, per channel
                saved += 2 * op.out_shape[0]
            if op.kind == "maxpool":
                index_bytes += op.out_elements * INDEX_BYTES
        stages.append({"name": sp.name, "forward_flops": fwd, "backward_flops": bwd, "step_flops": fwd + bwd,
                       "saved_elements": saved, "index_bytes": index_bytes})
    total = {k: sum(s[k] for s in stages) for k in ("forward_flops", "backward_flops", "step_flops",
                                                     "saved_elements", "index_bytes")}
    return {"stages": stages, "total": total, "activation": activation, "conventions": dict(CONVENTION)}


def training_summary(plan, batch: int = 1, activation: str | None = None) -> tuple:
    """(totals, stage name -> per-image figures) for a summary: the totals per image and, at ``batch``,
    the step's FLOPs and the bytes kept for the backward pass per dtype (fp32 4, bf16 2 bytes per element;
    a max-pool's indices are int64 whatever the dtype)."""
    t = training_cost(plan, activation)
    tot = t["total"]
    totals = {**tot, "batch": batch, "step_flops_batch": tot["step_flops"] * batch,
              "saved_bytes": {"fp32": (tot["saved_elements"] * 4 + tot["index_bytes"]) * batch,
                              "bf16": (tot["saved_elements"] * 2 + tot["index_bytes"]) * batch},
              "conventions": t["conventions"]}
    return totals, {s["name"]: s for s in t["stages"]}


def training_text(summary: dict) -> str:
    """One line for a summary's training figures: a step's FLOPs and the activation memory it keeps at the
    summary's batch, with the conventions in short (the Design page's caption under the stage table; the
    full wording is the summary's ``training.conventions``)."""
    from explorer.fmt import si

    t = summary["training"]
    n = t["batch"]
    return (f"**Training** (columns 'training step FLOPs' and 'kept for backward', per image): one step at batch "
            f"{n} is {si(t['step_flops_batch'], 'FLOPs')} (forward {si(t['forward_flops'] * n, 'FLOPs')} + backward "
            f"{si(t['backward_flops'] * n, 'FLOPs')}: 2 x the forward of each conv, linear and matmul, for the "
            f"input and weight gradients; BatchNorm, activations, pooling, concat and the optimizer not counted) "
            f"and keeps {t['saved_bytes']['fp32'] / 2 ** 20:,.0f} MiB of activations in fp32 "
            f"({t['saved_bytes']['bf16'] / 2 ** 20:,.0f} MiB in bf16) for the backward pass: what autograd saves, "
            "each tensor once; weights, gradients and optimizer state not counted.")
