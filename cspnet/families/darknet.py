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
"""
from __future__ import annotations

from . import Family, Preset
from ._crossstage import (
    COMMON_FIELDS, StageLayout, build_from_layouts, check_layouts, check_widths, plan_from_layouts,
    split_channels,
)


def stage_layouts(cfg) -> list:
    layouts, ch = [], cfg.stem_channels
    for i, width in enumerate(cfg.widths):
        stride, bottle = cfg.strides[i], cfg.bottle_ratio[i]
        if cfg.fusion == "none":
            lay = StageLayout(
                fusion="none", block="dark", repeats=cfg.repeats[i], in_ch=ch, stride=stride,
                down_ch=width, down_groups=1, expand_ch=0, expand_act=True, part2=0, block_ch=width,
                mid=int(round(width * bottle)), groups=1, partial_ch=0, out_ch=width)
        else:
            c, part2, partial, out = split_channels(width, cfg.expand_ratio[i], cfg.split_ratio,
                                                    cfg.transition_ratio, cfg.fusion)
            lay = StageLayout(
                fusion=cfg.fusion, block="dark", repeats=cfg.repeats[i], in_ch=ch, stride=stride,
                down_ch=width if stride != 1 else 0, down_groups=1, expand_ch=c, expand_act=True,
                part2=part2, block_ch=part2, mid=int(round(part2 * bottle)), groups=1, partial_ch=partial,
                out_ch=out)
        layouts.append(lay)
        ch = lay.out_ch
    return layouts


def validate(cfg) -> None:
    check_widths(cfg)
    check_layouts(cfg, stage_layouts(cfg), "bottle_ratio")


def plan(cfg, input_size: int) -> list:
    return plan_from_layouts(cfg, input_size, stage_layouts(cfg))


def build(cfg):
    return build_from_layouts(cfg, stage_layouts(cfg))


_TIMM = "timm/models/cspnet.py model_cfgs (timm 1.0.31)"
_DARK_STEM = dict(stem_channels=32, stem_kernel=3, stem_stride=1, stem_pool="none")

PRESETS = (
    Preset(
        name="darknet53",
        config=dict(family="darknet", **_DARK_STEM, repeats=(1, 2, 8, 8, 4), widths=(64, 128, 256, 512, 1024),
                    strides=2, bottle_ratio=0.5, expand_ratio=1.0, fusion="none", activation="leaky_relu",
                    input_size=256),
        description="Darknet-53 (YOLOv3 backbone) as in timm: 3x3 stride-1 stem, five stages of Darknet "
                    "blocks; 256x256 as timm's default config.",
        reference="timm darknet53",
        # sum(p.numel() for p in timm.create_model("darknet53").parameters()), timm 1.0.31
        reference_params=41_609_928,
        source=_TIMM,
    ),
    Preset(
        name="cspdarknet53",
        config=dict(family="darknet", **_DARK_STEM, repeats=(1, 2, 8, 8, 4), widths=(64, 128, 256, 512, 1024),
                    strides=2, bottle_ratio=(0.5, 1.0, 1.0, 1.0, 1.0), expand_ratio=(2.0, 1.0, 1.0, 1.0, 1.0),
                    fusion="csp", activation="leaky_relu", input_size=256),
        description="CSPDarknet-53 (CSPNet paper, timm): first stage expands x2 with half-width blocks; "
                    "256x256 as timm's default config.",
        reference="timm cspdarknet53",
        # sum(p.numel() for p in timm.create_model("cspdarknet53").parameters()), timm 1.0.31
        reference_params=27_642_184,
        source=_TIMM,
    ),
)

FAMILY = Family(
    name="darknet",
    description="Darknet-53 (timm DarkStage) and CSPDarknet-53 (timm CrossStage).",
    validate=validate,
    plan=plan,
    build=build,
    defaults=dict(**_DARK_STEM, repeats=(1, 2, 8, 8, 4), widths=(64, 128, 256, 512, 1024), strides=2,
                  bottle_ratio=0.5, expand_ratio=1.0, fusion="none", split_ratio=0.5, transition_ratio=1.0,
                  activation="leaky_relu", input_size=256),   # darknet53
    fields=COMMON_FIELDS + ("bottle_ratio",),
    presets=PRESETS,
)
