"""ResNet and ResNeXt (torchvision) and their CSP versions (timm CSPResNet / CSPResNeXt).

``fusion="none"`` is torchvision's ResNet v1.5 exactly: each stage is ``block``, a sequence of
bottlenecks (1x1 -> 3x3 with the stride and the groups -> 1x1, plus a strided 1x1 conv + BN
shortcut where the stride or the channels change).  ``widths[i]`` is the stage output (torchvision's
``planes * 4``).  The bottleneck width ``mid`` is ``round(width * bottle_ratio)`` in the ResNet
family (resnet50: 0.25 -> 64..512) and ``groups * width_per_group`` in the ResNeXt family
(resnext50_32x4d: 32 x (4, 8, 16, 32)).

The CSP fusions follow timm's ``CrossStage`` (``csp``) and ``CrossStage3`` (``fusion_first``) with
the ResNet settings of timm's configs: a 3x3 conv ``down`` with the stride, ``in -> in`` channels
and the stage's groups (``down_growth=False``), present only when the stride is not 1; a *linear*
1x1 ``expand`` to ``C = round(width * expand_ratio)`` (``cross_linear=True``); the split; timm
bottleneck blocks on part 2 (no shortcut conv) with ``mid = round(part2 * bottle_ratio)`` (ResNet)
or ``groups * width_per_group`` (ResNeXt); then the transitions.  ``fusion_last`` (not in timm)
puts the only transition on the block path before the concat, so its stage outputs
``part1 + floor(part2 * transition_ratio)`` channels rather than ``widths[i]``; see
``cspnet.families._crossstage`` for the layouts of every fusion.

Two deliberate layout details (neither changes any count): the split sends the *last* channels
through the blocks and the concat is ``[part1, block path]``; timm's CrossStage3 runs its blocks
on the first half and concatenates ``[blocks, bypass]``.
"""
from __future__ import annotations

from . import Family, Preset
from ._crossstage import (
    COMMON_FIELDS, StageLayout, build_from_layouts, check_layouts, check_widths, plan_from_layouts,
    split_channels,
)


def stage_layouts(cfg) -> list:
    """The channel arithmetic of every stage (ResNet or ResNeXt, from ``cfg.family``)."""
    resnext = cfg.family == "resnext"
    layouts, ch = [], cfg.stem_channels
    for i, width in enumerate(cfg.widths):
        stride = cfg.strides[i]
        groups = cfg.groups[i] if resnext else 1

        def mid_of(block_ch):
            if resnext:
                return groups * cfg.width_per_group[i]
            return int(round(block_ch * cfg.bottle_ratio[i]))

        if cfg.fusion == "none":
            lay = StageLayout(
                fusion="none", block="bottleneck", repeats=cfg.repeats[i], in_ch=ch, stride=stride,
                down_ch=0, down_groups=1, expand_ch=0, expand_act=False, part2=0, block_ch=width,
                mid=mid_of(width), groups=groups, partial_ch=0, out_ch=width)
        else:
            c, part2, partial, out = split_channels(width, cfg.expand_ratio[i], cfg.split_ratio,
                                                    cfg.transition_ratio, cfg.fusion)
            lay = StageLayout(
                fusion=cfg.fusion, block="bottleneck", repeats=cfg.repeats[i], in_ch=ch, stride=stride,
                down_ch=ch if stride != 1 else 0, down_groups=groups, expand_ch=c, expand_act=False,
                part2=part2, block_ch=part2, mid=mid_of(part2), groups=groups, partial_ch=partial,
                out_ch=out)
        layouts.append(lay)
        ch = lay.out_ch
    return layouts


def validate(cfg) -> None:
    check_widths(cfg)
    mid_field = "width_per_group" if cfg.family == "resnext" else "bottle_ratio"
    check_layouts(cfg, stage_layouts(cfg), mid_field)


def plan(cfg, input_size: int) -> list:
    return plan_from_layouts(cfg, input_size, stage_layouts(cfg))


def build(cfg):
    return build_from_layouts(cfg, stage_layouts(cfg))


_TORCHVISION = "torchvision/models/resnet.py (torchvision 0.29.1)"
_TIMM = "timm/models/cspnet.py model_cfgs (timm 1.0.31)"

_RESNET_STEM = dict(stem_channels=64, stem_kernel=7, stem_stride=2, stem_pool="max")

RESNET_PRESETS = (
    Preset(
        name="resnet50",
        config=dict(family="resnet", **_RESNET_STEM, repeats=(3, 4, 6, 3), widths=(256, 512, 1024, 2048),
                    strides=(1, 2, 2, 2), bottle_ratio=0.25, expand_ratio=1.0, fusion="none",
                    activation="relu", input_size=224),
        description="ResNet-50 v1.5 (stride on the 3x3 conv), 224x224. Switching fusion to csp gives "
                    "timm's cspresnet50w layout (with this 7x7 stem).",
        reference="torchvision resnet50",
        # sum(p.numel() for p in torchvision.models.resnet50().parameters()), torchvision 0.29.1
        reference_params=25_557_032,
        source=_TORCHVISION,
    ),
    Preset(
        name="cspresnet50",
        config=dict(family="resnet", **_RESNET_STEM, repeats=(3, 3, 5, 2), widths=(128, 256, 512, 1024),
                    strides=(1, 2, 2, 2), bottle_ratio=0.5, expand_ratio=2.0, fusion="csp",
                    activation="leaky_relu", input_size=256),
        description="CSPResNet-50 (CSPNet paper, timm): expand x2, bottleneck 0.5, leaky ReLU; "
                    "256x256 as timm's default config.",
        reference="timm cspresnet50",
        # sum(p.numel() for p in timm.create_model("cspresnet50").parameters()), timm 1.0.31
        reference_params=21_616_168,
        source=_TIMM,
    ),
)

RESNEXT_PRESETS = (
    Preset(
        name="resnext50_32x4d",
        config=dict(family="resnext", **_RESNET_STEM, repeats=(3, 4, 6, 3), widths=(256, 512, 1024, 2048),
                    strides=(1, 2, 2, 2), groups=32, width_per_group=(4, 8, 16, 32), expand_ratio=1.0,
                    fusion="none", activation="relu", input_size=224),
        description="ResNeXt-50 32x4d: 32 groups, bottleneck width 128..1024, 224x224.",
        reference="torchvision resnext50_32x4d",
        # sum(p.numel() for p in torchvision.models.resnext50_32x4d().parameters()), torchvision 0.29.1
        reference_params=25_028_904,
        source=_TORCHVISION,
    ),
    Preset(
        name="cspresnext50",
        config=dict(family="resnext", **_RESNET_STEM, repeats=(3, 3, 5, 2), widths=(256, 512, 1024, 2048),
                    strides=(1, 2, 2, 2), groups=32, width_per_group=(4, 8, 16, 32), expand_ratio=1.0,
                    fusion="csp", activation="leaky_relu", input_size=256),
        description="CSPResNeXt-50 (CSPNet paper, timm): 32 groups (also on the downsampling conv), "
                    "bottleneck width = part 2; 256x256 as timm's default config.",
        reference="timm cspresnext50",
        # sum(p.numel() for p in timm.create_model("cspresnext50").parameters()), timm 1.0.31
        reference_params=20_569_896,
        source=_TIMM,
    ),
)

_DEFAULTS = dict(**_RESNET_STEM, repeats=(3, 4, 6, 3), widths=(256, 512, 1024, 2048), strides=(1, 2, 2, 2),
                 expand_ratio=1.0, fusion="none", split_ratio=0.5, transition_ratio=1.0, activation="relu",
                 input_size=224)

RESNET = Family(
    name="resnet",
    description="ResNet (torchvision v1.5 bottlenecks) and CSPResNet (timm CrossStage).",
    validate=validate,
    plan=plan,
    build=build,
    defaults=dict(_DEFAULTS, bottle_ratio=0.25),                        # resnet50
    fields=COMMON_FIELDS + ("bottle_ratio",),
    presets=RESNET_PRESETS,
)

RESNEXT = Family(
    name="resnext",
    description="ResNeXt (grouped 3x3 bottlenecks, torchvision) and CSPResNeXt (timm CrossStage).",
    validate=validate,
    plan=plan,
    build=build,
    defaults=dict(_DEFAULTS, groups=32, width_per_group=(4, 8, 16, 32)),  # resnext50_32x4d
    fields=COMMON_FIELDS + ("groups", "width_per_group"),
    presets=RESNEXT_PRESETS,
)
