"""Darknet-53 (YOLOv3 backbone, timm ``darknet53``) and CSPDarknet-53 (timm ``cspdarknet53``).

``fusion="none"`` is timm's ``DarkStage`` exactly: a 3x3 conv ``down`` with the stride,
``in -> width`` (present in every stage, even at stride 1), then ``block``, a sequence of Darknet
residual blocks (1x1 ``width -> mid``, 3x3 ``mid -> width``, + input; no activation after the add)
with ``mid = round(width * bottle_ratio)``.

The CSP fusions follow timm's ``CrossStage`` (``csp``) and ``CrossStage3`` (``fusion_first``) with
the Darknet settings of timm's configs: ``down`` grows the channels, ``in -> width``
(``down_growth=True``), present only when the stride is not 1; the 1x1 ``expand`` to
``C = round(width * expand_ratio)`` *has* an activation (``cross_linear=False``); the Darknet blocks
on part 2 use ``mid = round(part2 * bottle_ratio)``.  ``fusion_last`` (not in timm) puts the only
transition on the block path before the concat, so its stage outputs
``part1 + floor(part2 * transition_ratio)`` channels rather than ``widths[i]``; see
``cspnet.families._crossstage`` for the layouts of every fusion.

The Darknet blocks' 3x3 conv is never grouped here (``groups`` is not read by this family).

A declaration over ``cspnet.families._crossstage``: a style (flags) and a preset table.  Pure
Python; the modules are generated from the plan (``cspnet.graph_model``).
"""
from __future__ import annotations

from . import preset_table
from ._crossstage import CrossStageStyle, cross_stage_family

STYLE = CrossStageStyle(block_type="dark", down_growth=True, cross_linear=False, plain_down=True, grouped=False)

# --------------------------------------------------------------------------- presets
# reference params: sum(p.numel() for p in timm.create_model("<name>").parameters()), timm 1.0.31
_TIMM = "timm/models/cspnet.py model_cfgs (timm 1.0.31)"

_BASE = dict(family="darknet", stem_channels=32, stem_kernel=3, stem_stride=1, stem_pool="none",
             repeats=(1, 2, 8, 8, 4), widths=(64, 128, 256, 512, 1024), strides=2, activation="leaky_relu",
             input_size=256)

PRESETS = preset_table(_BASE, [
    # name, config overrides, reference, reference params, source, paper base
    ("darknet53", dict(bottle_ratio=0.5, expand_ratio=1.0, fusion="none"), "timm darknet53", 41_609_928, _TIMM,
     None),
    ("cspdarknet53", dict(bottle_ratio=(0.5, 1.0, 1.0, 1.0, 1.0), expand_ratio=(2.0, 1.0, 1.0, 1.0, 1.0),
                          fusion="csp"), "timm cspdarknet53", 27_642_184, _TIMM, "darknet53"),
])

FAMILY = cross_stage_family(
    "darknet", "Darknet-53 (timm DarkStage) and CSPDarknet-53 (timm CrossStage).",
    STYLE, PRESETS, default_preset="darknet53")
