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

Both families are declarations over ``cspnet.families._crossstage``: a style (flags) and a preset
table.  Pure Python; the modules are generated from the plan (``cspnet.graph_model``).
"""
from __future__ import annotations

from . import preset_table
from ._crossstage import CrossStageStyle, cross_stage_family

RESNET_STYLE = CrossStageStyle(block_type="bottleneck", down_growth=False, cross_linear=True, plain_down=False,
                               grouped=False)
RESNEXT_STYLE = CrossStageStyle(block_type="bottleneck", down_growth=False, cross_linear=True, plain_down=False,
                                grouped=True)

# --------------------------------------------------------------------------- presets
# reference params: sum(p.numel() for p in model.parameters()) of torchvision.models.<name>()
# (torchvision 0.29.1) or timm.create_model("<name>") (timm 1.0.31)
_TORCHVISION = "torchvision/models/resnet.py (torchvision 0.29.1)"
_TIMM = "timm/models/cspnet.py model_cfgs (timm 1.0.31)"

_STEM = dict(stem_channels=64, stem_kernel=7, stem_stride=2, stem_pool="max")
_R50 = dict(repeats=(3, 4, 6, 3), strides=(1, 2, 2, 2), expand_ratio=1.0, fusion="none", activation="relu",
            input_size=224)
_CSP50 = dict(repeats=(3, 3, 5, 2), strides=(1, 2, 2, 2), fusion="csp", activation="leaky_relu", input_size=256)
_RESNEXT = dict(groups=32, width_per_group=(4, 8, 16, 32), widths=(256, 512, 1024, 2048))

RESNET_PRESETS = preset_table(dict(family="resnet", **_STEM), [
    # name, config overrides, reference, reference params, source, paper base
    ("resnet50", dict(_R50, widths=(256, 512, 1024, 2048), bottle_ratio=0.25),
     "torchvision resnet50", 25_557_032, _TORCHVISION, None),
    ("cspresnet50", dict(_CSP50, widths=(128, 256, 512, 1024), bottle_ratio=0.5, expand_ratio=2.0),
     "timm cspresnet50", 21_616_168, _TIMM, "resnet50"),
])

RESNEXT_PRESETS = preset_table(dict(family="resnext", **_STEM), [
    # name, config overrides, reference, reference params, source, paper base
    ("resnext50_32x4d", dict(_R50, **_RESNEXT), "torchvision resnext50_32x4d", 25_028_904, _TORCHVISION, None),
    ("cspresnext50", dict(_CSP50, **_RESNEXT, expand_ratio=1.0), "timm cspresnext50", 20_569_896, _TIMM,
     "resnext50_32x4d"),
])

RESNET = cross_stage_family(
    "resnet", "ResNet (torchvision v1.5 bottlenecks) and CSPResNet (timm CrossStage).",
    RESNET_STYLE, RESNET_PRESETS, default_preset="resnet50")

RESNEXT = cross_stage_family(
    "resnext", "ResNeXt (grouped 3x3 bottlenecks, torchvision) and CSPResNeXt (timm CrossStage).",
    RESNEXT_STYLE, RESNEXT_PRESETS, default_preset="resnext50_32x4d")
