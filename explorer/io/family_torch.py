"""The ``darknet_cfg`` family's modules: an imported cfg's layers grouped as the plan's parts (imports torch).

``build_parts`` makes the stem, the stages and the head of ``cspnet.model.CSPNetModel`` from
``explorer.io.darknet_torch``'s layer modules (named ``layers.<i>``, as the plan's op paths, below the
part's name).  A classifier's part reads only its own layers and its input (the importer cuts its stages
where one tensor is live); a detector's neck stages read backbone stages back and its head reads the neck at
every output scale (``explorer.io.darknet._detector_groups``), so the parts of one model share the outputs
later parts read: the stem starts a fresh table of them per forward pass (per thread), the head drops it.
Each tap point of a CSP stage is a parameter-free module named as the tap (``cspnet.plan.tap_module``:
``split`` returns (part 1, part 2)) called on the tap's tensor, so the live trace's hooks see every tap the
plan records.
"""
from __future__ import annotations

import threading
from collections import ChainMap

from torch import nn

from .darknet import StageInfo
from .darknet_torch import READS_BACK, _module, run_layer


class Tap(nn.Module):
    """A tap point: returns its input (a tensor, or the (part 1, part 2) pair of ``split``)."""

    def forward(self, x):
        return x


class Shared(threading.local):
    """The outputs the parts of one model read from one another, during one forward pass (per thread)."""

    saved: dict | None = None

    def __reduce__(self):   # a copied or pickled model gets its own (empty) table, shared by its copied parts
        return (Shared, ())


class CfgPart(nn.Module):
    """Layers ``info.layers`` of an imported network, run in order; taps called after their layers.

    ``after``: the layer whose output this part's input is (-1: the network input).  ``shared`` (a
    :class:`Shared`) holds the outputs of ``publish``, the layers of this part that a later part reads; the
    outputs only this part reads back stay in the part.  ``first`` / ``last``: this part starts / ends the
    forward pass."""

    def __init__(self, net, info: StageInfo, taps: dict, after: int, shared: Shared, publish: frozenset,
                 first: bool, last: bool):
        super().__init__()
        self.order = tuple(info.layers)
        self.after, self.shared, self.publish, self.first, self.last = after, shared, publish, first, last
        self.layers = nn.ModuleDict({str(i): _module(net.layers[i]) for i in self.order})
        self.kinds = {i: net.layers[i].kind for i in self.order}
        self.inputs = {i: tuple(net.layers[i].inputs) for i in self.order}
        self.heads = [i for i in self.order if net.layers[i].kind in ("yolo", "cost")]
        read = {j for i in self.order if self.kinds[i] in READS_BACK for j in self.inputs[i]}
        self.keep = frozenset(read | set(self.heads))
        self.after_tap: dict = {}          # layer index -> [tap names called after it]
        for tap, where in taps.items():
            self.add_module(tap, Tap())
            last_layer = max(where) if isinstance(where, tuple) else where
            self.after_tap.setdefault(last_layer, []).append(tap)
        self.split_layers = taps.get("split")
        if self.split_layers:   # part 1's tensor, read back when the split tap is called
            self.keep = self.keep | {self.split_layers[0]}

    def forward(self, x):
        if self.first:
            self.shared.saved = {}
        saved = ChainMap({self.after: x}, self.shared.saved)
        prev = self.after
        for i in self.order:
            if prev != i - 1 and (self.kinds[i] != "route" or i - 1 in self.inputs[i]):
                x = saved[i - 1]   # a detector's part resumes after another part's layers
            x = run_layer(self.layers[str(i)], self.kinds[i], self.inputs[i], i, x, saved)
            prev = i
            if i in self.keep:
                saved[i] = x
            if i in self.publish:
                self.shared.saved[i] = x
            for tap in self.after_tap.get(i, ()):
                if tap == "split":
                    p1, _ = self.split_layers
                    self.split((saved[p1] if p1 in saved else x, x))
                else:
                    getattr(self, tap)(x)
        if self.heads:
            outs = tuple(saved[h] for h in self.heads)
            x = outs[0] if len(outs) == 1 else outs
        if self.last:
            self.shared.saved = None
        return x


def build_parts(net, infos: list, taps: list) -> list:
    """One :class:`CfgPart` per plan stage (``infos``: ``net.stages``; ``taps``: each one's tap layers), in
    order; each publishes the outputs a later part reads (by index, or as the layer before one it runs)."""
    shared = Shared()
    afters, after = [], -1
    for info in infos:
        afters.append(after)
        if info.layers and not any(net.layers[i].kind == "yolo" for i in info.layers):
            after = info.layers[-1]
    part_of = {i: k for k, info in enumerate(infos) for i in info.layers}
    needed: set = set()   # layers read by a part other than their own
    for k, info in enumerate(infos):
        prev = afters[k]
        for i in info.layers:
            layer = net.layers[i]
            reads = list(layer.inputs) if layer.kind in READS_BACK else []
            if prev != i - 1 and (layer.kind != "route" or i - 1 in layer.inputs):
                reads.append(i - 1)
            needed.update(j for j in reads if j >= 0 and part_of.get(j) != k)
            prev = i
    return [CfgPart(net, info, tap, afters[k], shared, frozenset(needed & set(info.layers)), k == 0,
                    k == len(infos) - 1) for k, (info, tap) in enumerate(zip(infos, taps))]
