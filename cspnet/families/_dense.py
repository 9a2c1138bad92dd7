"""What the two dense families (DenseNet and PeleeNet) share: the fusion wiring around a dense block
(CSPNet paper Fig. 3), its channel arithmetic and its checks.  Pure Python; module twin:
``tests/oracle/_dense.py`` (``DenseCSPStage``, the tests' hand-written twin; the modules are generated from
the plan: ``cspnet.graph_model``).

A family describes stage ``i`` as a dict of channel counts (``stage_channels(cfg, i, c)``, keys
``input``, ``last``, ``pool``, ``block_in``, ``block`` and, when split, ``part1``, ``part2``);
:func:`merge_channels` completes it with what the fusion puts after the block.
"""
from __future__ import annotations

import math

from ..errors import ConfigError
from ..plan import PlanBuilder
from ._common import plan_head


# --------------------------------------------------------------------------- channel arithmetic
def split(c: int, ratio: float) -> tuple[int, int]:
    """(part1, part2) for ``c`` channels: part2 = floor(c x ratio) goes through the block."""
    part2 = c if ratio >= 1.0 else math.floor(c * ratio)
    return c - part2, part2


def merge_channels(cfg, ch: dict) -> dict:
    """Complete a stage's channels after its dense block (``ch["block"]``, and ``part1`` when split):
    the partial transition, the concat, the transition and the output, by ``cfg.fusion``."""
    keep_last = not ch["last"] or cfg.last_transition
    if cfg.fusion == "none":
        ch["transition"] = math.floor(ch["block"] * cfg.compression) if keep_last else None
        ch["output"] = ch["transition"] if ch["transition"] is not None else ch["block"]
        return ch
    if cfg.fusion == "fusion_last":
        ch["transition"] = math.floor(ch["block"] * cfg.transition_ratio)
        ch["concat"] = ch["part1"] + ch["transition"]
        ch["output"] = ch["concat"]
        return ch
    if cfg.fusion == "csp":
        ch["partial_transition"] = math.floor(ch["block"] * cfg.transition_ratio)
        ch["concat"] = ch["part1"] + ch["partial_transition"]
    else:  # fusion_first
        ch["concat"] = ch["part1"] + ch["block"]
    ch["transition"] = math.floor(ch["concat"] * cfg.compression) if keep_last else None
    ch["output"] = ch["transition"] if ch["transition"] is not None else ch["concat"]
    return ch


def all_stage_channels(cfg, stage_channels) -> list:
    """``stage_channels(cfg, i, c)`` for every stage, each fed the previous stage's output."""
    out, c = [], cfg.stem_channels
    for i in range(cfg.num_stages):
        ch = stage_channels(cfg, i, c)
        out.append(ch)
        c = ch["output"]
    return out


# --------------------------------------------------------------------------- validation
def check_stages(cfg, chans: list, check_block=None) -> None:
    """The zero-width checks of every dense-family stage, naming the knob at fault.

    Per stage, in order: part 2 of a split stage, the family's ``check_block(cfg, i, name, ch)``
    (if any), then the transitions.  (``config._check_size`` is the backstop; it would name
    ``compression`` for fusion_last's only transition, which reads ``transition_ratio``.)
    ``split`` never leaves part 1 empty but for ``split_ratio == 1.0``, which means no bypass.
    """
    for i, ch in enumerate(chans):
        name = f"stages.{i}"
        if cfg.fusion != "none" and ch["part2"] < 1:
            raise ConfigError("split_ratio", f"{cfg.split_ratio!r} leaves {name} part 2 (through the block) with "
                              f"{ch['part2']} of {ch['input']} channels; allowed range: large enough that "
                              f"floor({ch['input']} x split_ratio) >= 1")
        if check_block is not None:
            check_block(cfg, i, name, ch)
        check_transition_widths(cfg, name, ch)


def check_transition_widths(cfg, name: str, ch: dict) -> None:
    """Raise ConfigError, naming the knob at fault, when a stage's transitions round to 0 channels."""
    pt = ch.get("partial_transition")
    if pt is not None and pt < 1:
        raise ConfigError("transition_ratio", f"{cfg.transition_ratio!r} leaves {name} partial transition with "
                          f"floor({ch['block']} x {cfg.transition_ratio}) = 0 channels; allowed range for this "
                          f"stage: at least {1 / ch['block']:.4g}")
    t = ch.get("transition")
    if t is not None and t < 1:
        if cfg.fusion == "fusion_last":
            raise ConfigError("transition_ratio", f"{cfg.transition_ratio!r} leaves {name} transition with "
                              f"floor({ch['block']} x {cfg.transition_ratio}) = 0 channels; allowed range for "
                              f"this stage: at least {1 / ch['block']:.4g}")
        src = ch["concat"] if "concat" in ch else ch["block"]
        raise ConfigError("compression", f"{cfg.compression!r} leaves {name} transition with "
                          f"floor({src} x {cfg.compression}) = 0 channels; allowed range for this stage: "
                          f"at least {1 / src:.4g}")


# --------------------------------------------------------------------------- plan
def plan_dense_stage(cfg, i: int, ch: dict, s, block, transition):
    """The plan of one dense-family stage with its tap points, wired by ``cfg.fusion``.

    ``block(b, shape)`` records the stage's dense block; ``transition(b, name, shape, out_ch, pool)``
    records a (partial) transition.  Returns (StagePlan, output shape).
    Oracle twin: ``tests/oracle/_dense.py: DenseCSPStage``.
    """
    b = PlanBuilder(f"stages.{i}", "stage", fusion=cfg.fusion)
    b.stage.repeats = cfg.repeats[i]
    b.tap("input", s)
    pool = ch["pool"]
    if cfg.fusion == "none":
        s = b.tap("block", block(b, s))
        if ch["transition"] is not None:
            s = b.tap("transition", transition(b, "transition", s, ch["transition"], pool))
        b.tap("output", s)
        return b.stage, s
    p1, p2 = s.part(0, ch["part1"]), s.part(ch["part1"], ch["part2"])
    if cfg.split_ratio < 1.0:  # split_ratio 1.0: part 1 is deliberately empty, so it is no tap
        b.tap("part1", p1)
    b.tap("part2", p2)
    y = b.tap("block", block(b, p2))
    if cfg.fusion == "fusion_last":
        y = b.tap("transition", transition(b, "transition", y, ch["transition"], pool))
        if pool and ch["part1"] > 0:
            p1 = b.avgpool("part1_pool", p1, 2, 2)
        s = b.tap("concat", b.cat("concat", [p1, y]))
        b.tap("output", s)
        return b.stage, s
    if cfg.fusion == "csp":
        y = b.tap("partial_transition", transition(b, "partial_transition", y, ch["partial_transition"], False))
    s = b.tap("concat", b.cat("concat", [p1, y]))
    if ch["transition"] is not None:
        s = b.tap("transition", transition(b, "transition", s, ch["transition"], pool))
    b.tap("output", s)
    return b.stage, s


def plan_dense_network(cfg, input_size: int, plan_stem, stage_channels, plan_stage) -> list:
    """[stem, stages.0 .. stages.N-1, head] of a dense family: its ``plan_stem(cfg, size)``, then
    ``plan_stage(cfg, i, ch, s)`` over ``stage_channels(cfg)``, then the classifier head."""
    stem = plan_stem(cfg, input_size)
    out, s = [stem], stem.output_shape
    for i, ch in enumerate(stage_channels(cfg)):
        sp, s = plan_stage(cfg, i, ch, s)
        out.append(sp)
    out.append(plan_head(cfg, s, norm_act=cfg.head_norm))
    return out
