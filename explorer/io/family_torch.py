"""The ``darknet_cfg`` family's modules: an imported cfg's layers grouped as the plan's parts (imports torch).

``build_part`` makes the stem, one stage or the head of ``cspnet.model.CSPNetModel`` from
``explorer.io.darknet_torch``'s layer modules (named ``layers.<i>``, as the plan's op paths, below the
part's name).  A part reads only its own layers and its input: the importer cuts stages only where one
tensor is live.  Each tap point of a CSP stage is a parameter-free module named as the tap
(``cspnet.plan.tap_module``: ``split`` returns (part 1, part 2)) called on the tap's tensor, so the live
trace's hooks see every tap the plan records.
"""
from __future__ import annotations

from torch import nn

from .darknet import StageInfo
from .darknet_torch import READS_BACK, _module, run_layer


class Tap(nn.Module):
    """A tap point: returns its input (a tensor, or the (part 1, part 2) pair of ``split``)."""

    def forward(self, x):
        return x


class CfgPart(nn.Module):
    """Layers ``start..end-1`` of an imported network, run in order; taps called after their layers."""

    def __init__(self, net, info: StageInfo, taps: dict):
        super().__init__()
        self.start, self.end = info.start, info.end
        idx = range(info.start, info.end)
        self.layers = nn.ModuleDict({str(i): _module(net.layers[i]) for i in idx})
        self.kinds = {i: net.layers[i].kind for i in idx}
        self.inputs = {i: tuple(net.layers[i].inputs) for i in idx}
        self.heads = [i for i in idx if net.layers[i].kind in ("yolo", "cost")]
        read = {j for i in idx if self.kinds[i] in READS_BACK for j in self.inputs[i]}
        self.keep = frozenset(read | set(self.heads))
        self.after: dict = {}          # layer index -> [tap names called after it]
        for tap, where in taps.items():
            self.add_module(tap, Tap())
            last = max(where) if isinstance(where, tuple) else where
            self.after.setdefault(last, []).append(tap)
        self.split_layers = taps.get("split")
        if self.split_layers:   # part 1's tensor, read back when the split tap is called
            self.keep = self.keep | {self.split_layers[0]}

    def forward(self, x):
        saved = {self.start - 1: x}
        for i in range(self.start, self.end):
            x = run_layer(self.layers[str(i)], self.kinds[i], self.inputs[i], i, x, saved)
            if i in self.keep:
                saved[i] = x
            for tap in self.after.get(i, ()):
                if tap == "split":
                    p1, _ = self.split_layers
                    self.split((saved[p1] if p1 in saved else x, x))
                else:
                    getattr(self, tap)(x)
        if self.heads:
            outs = tuple(saved[h] for h in self.heads)
            return outs[0] if len(outs) == 1 else outs
        return x


def build_part(net, info: StageInfo, taps: dict) -> CfgPart:
    return CfgPart(net, info, taps)
