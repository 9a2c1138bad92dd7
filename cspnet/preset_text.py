"""The long descriptions of the presets, one per preset name (what ``python -m explorer presets`` and
the app show).  Pure text: the presets themselves are data tables in their family modules
(``cspnet/families/*.py``), which look their descriptions up here."""
from __future__ import annotations


def _densenet(depth: str, growth: int, stem: int, blocks: str) -> str:
    return (f"DenseNet-{depth} (Huang et al. 2017), torchvision layout: growth {growth}, stem {stem}, "
            f"blocks {blocks}, bn_size 4, compression 0.5.")


_CSPDENSE = {
    "": "CSPDenseNet (paper Fig. 3b): half the channels bypass each dense block; the block output goes through "
        "a partial transition that keeps its width (transition_ratio 1.0), is concatenated with the bypass and "
        "compressed by the usual transition (compression 0.5, 2x2 average pool).",
    "_fusion_first": "fusion first (paper Fig. 3c): half the channels bypass each dense block; the block output "
                     "is concatenated with the bypass, then one DenseNet transition (compression 0.5, 2x2 average "
                     "pool).",
    "_fusion_last": "fusion last (paper Fig. 3d): half the channels bypass each dense block; the block output goes "
                    "through a DenseNet transition of its own (its width reduction is transition_ratio, 0.5 here "
                    "like DenseNet's compression, and a 2x2 average pool), the bypass through a 2x2 average pool, "
                    "then they are concatenated.",
}

_PELEE_CSP = ("CSP (paper Fig. 3b): {share} bypass each two-way dense block; the block output goes "
              "through a channel-keeping partial transition (1x1 conv-BN-ReLU), is concatenated with the bypass "
              "and goes through PeleeNet's channel-keeping transition (2x2 average pool after stages 1-3).")
_PELEE_FIRST = ("fusion first (paper Fig. 3c): half the channels bypass each two-way dense block; the block output "
                "is concatenated with the bypass, then one channel-keeping PeleeNet transition.")
_PELEE_LAST = ("fusion last (paper Fig. 3d): {share} bypass each two-way dense block; the block "
               "output goes through a channel-keeping PeleeNet transition (with its 2x2 average pool), the bypass "
               "through a 2x2 average pool, then they are concatenated; nothing after the concat.")
_GAMMA = (" Partial ratio gamma = 0.25 (the bypass share, as inferred from the paper's -3 % / -11 %): "
          "split_ratio 0.75, so three quarters of the channels go through the block.")
_UNRELEASED = (" The authors' CSPPeleeNet cfg was never released, so this is the paper's design read onto "
               "PeleeNet with this tool's stage semantics.")

DESCRIPTIONS = {
    # ---------------------------------------------------------------- DenseNet
    "densenet121": _densenet("121", 32, 64, "6-12-24-16"),
    "densenet161": _densenet("161", 48, 96, "6-12-36-24"),
    "densenet169": _densenet("169", 32, 64, "6-12-32-32"),
    "densenet201": _densenet("201", 32, 64, "6-12-48-32"),
    **{f"cspdensenet{depth}{suffix}": f"DenseNet-{depth} with {text} No transition after the last stage's concat."
       for depth in ("121", "169", "201") for suffix, text in _CSPDENSE.items()},
    "cspdensenet_walkthrough":
        "The from-scratch CSPDenseNet of the article 'CSPNet Paper Walkthrough: Just Better, No Tradeoffs' "
        "(Muhammad Ardi, Towards Data Science, May 2026): DenseNet stem (7x7/2 conv to 64, 3x3/2 max pool; like "
        "the article's code, no BatchNorm after the stem conv), growth 12 with 4 x growth bottlenecks, blocks "
        "6-12-24-16, split 0.5, partial transition 0.8, compression 0.5, no transition after the last concat, "
        "global average pool (no BatchNorm before it) and a 1000-way linear layer. The article's dropout (p=0.2, "
        "no parameters) and its new-features-first concat order (a channel permutation) change no count.",
    # ---------------------------------------------------------------- ResNet / ResNeXt
    "resnet50": "ResNet-50 v1.5 (stride on the 3x3 conv), 224x224. Switching fusion to csp gives timm's "
                "cspresnet50w layout (with this 7x7 stem).",
    "cspresnet50": "CSPResNet-50 (CSPNet paper, timm): expand x2, bottleneck 0.5, leaky ReLU; 256x256 as timm's "
                   "default config.",
    "resnext50_32x4d": "ResNeXt-50 32x4d: 32 groups, bottleneck width 128..1024, 224x224.",
    "cspresnext50": "CSPResNeXt-50 (CSPNet paper, timm): 32 groups (also on the downsampling conv), bottleneck "
                    "width = part 2; 256x256 as timm's default config.",
    # ---------------------------------------------------------------- Darknet
    "darknet53": "Darknet-53 (YOLOv3 backbone) as in timm: 3x3 stride-1 stem, five stages of Darknet blocks; "
                 "256x256 as timm's default config.",
    "cspdarknet53": "CSPDarknet-53 (CSPNet paper, timm): first stage expands x2 with half-width blocks; 256x256 as "
                    "timm's default config.",
    # ---------------------------------------------------------------- PeleeNet
    "peleenet": "PeleeNet (Wang, Li & Ling, NeurIPS 2018), the official PyTorch model: stem block to 32 channels, "
                "two-way dense layers with growth 32 in blocks 3-4-8-6, bottleneck widths 1-2-4-4, channel-keeping "
                "1x1 conv-BN-ReLU transitions (also after the last block), 2x2 average pool after stages 1-3, "
                "global average pool and a linear classifier. 224x224.",
    "csppeleenet": "PeleeNet with " + _PELEE_CSP.format(share="half the channels") + _UNRELEASED,
    "csppeleenet_fusion_first": "PeleeNet with " + _PELEE_FIRST + _UNRELEASED,
    "csppeleenet_fusion_last": "PeleeNet with " + _PELEE_LAST.format(share="half the channels") + _UNRELEASED,
    "csppeleenet_gamma025":
        "PeleeNet with " + _PELEE_CSP.format(share="a quarter of the channels") + _GAMMA + _UNRELEASED,
    "csppeleenet_fusion_last_gamma025":
        "PeleeNet with " + _PELEE_LAST.format(share="a quarter of the channels") + _GAMMA + _UNRELEASED,
}


# --------------------------------------------------------------------------- CSP's modern lineage
_SCALE = {"n": "nano", "s": "small", "m": "medium", "l": "large", "x": "extra-large", "tiny": "tiny"}
for _k in ("s", "m", "l", "x"):
    DESCRIPTIONS[f"cs3darknet_{_k}"] = (
        f"timm cs3darknet_{_k} ({_SCALE[_k]}): CrossStage3 stages (fusion first: 3x3 s2 down in -> in, one 1x1 "
        "conv split in half, dark blocks on one half, concat, 1x1 transition), SiLU, two-conv stem; 256x256.")
    DESCRIPTIONS[f"cs3darknet_focus_{_k}"] = (
        f"timm cs3darknet_focus_{_k}: cs3darknet_{_k} with a single 6x6 stride-2 'focus' stem conv; 256x256.")
DESCRIPTIONS["cs3sedarknet_l"] = ("timm cs3sedarknet_l: cs3darknet_l with squeeze-and-excitation (ratio 0.25) in "
                                  "every dark block.")
DESCRIPTIONS["cs3sedarknet_x"] = ("timm cs3sedarknet_x: cs3darknet_x with squeeze-and-excitation (ratio 1/16) in "
                                  "every dark block.")
DESCRIPTIONS["cs3edgenet_x"] = ("timm cs3edgenet_x: CrossStage3 with edge blocks (3x3 to 1.5x, 1x1 back, + input) at "
                                "the x scale (width 1.25, depth 1.33).")
DESCRIPTIONS["cs3se_edgenet_x"] = "timm cs3se_edgenet_x: cs3edgenet_x with squeeze-and-excitation (ratio 0.25)."
for _k in ("n", "s", "m", "l", "x"):
    DESCRIPTIONS[f"yolov5{_k}_cls"] = (
        f"YOLOv5{_k}-cls ({_SCALE[_k]}): the YOLOv5 backbone (6x6 focus stem; four 3x3 s2 convs each followed by a "
        "C3: two 1x1 split convs, 1x1-3x3 bottlenecks on one, concat, 1x1) and Ultralytics' Classify head (1x1 "
        "conv to 1280, pool, linear); 224x224.")
    DESCRIPTIONS[f"yolov8{_k}_cls"] = (
        f"YOLOv8{_k}-cls ({_SCALE[_k]}): C2f stages (one 1x1 conv chunked in two, 3x3-3x3 bottlenecks, and the "
        "concat of *every* tap: both halves and each bottleneck's output) and the Classify head; 224x224.")
    DESCRIPTIONS[f"yolo11{_k}_cls"] = (
        f"YOLO11{_k}-cls ({_SCALE[_k]}): C3k2 stages (C2f with "
        + ("nested C3k blocks in every stage" if _k in "mlx" else "3x3-3x3 e=0.5 bottlenecks, then nested C3k blocks")
        + ") and a C2PSA attention stage (multi-head self-attention), Classify head; 224x224.")
_NECK = ("a PAN neck of four CSP stages (top-down to P4 and P3, bottom-up to P4 and P5: upsample or 3x3 s2 conv, "
         "concat with the lateral, {block}) and the anchor-free Detect head (box branch with DFL, class branch{dw}) "
         "on P3, P4, P5; 80 classes, 640x640.")
for _k in ("n", "s", "m", "l", "x"):
    DESCRIPTIONS[f"yolov8{_k}"] = (
        f"YOLOv8{_k} detector ({_SCALE[_k]}): the C2f backbone with SPPF, "
        + _NECK.format(block="C2f without shortcuts", dw=""))
    DESCRIPTIONS[f"yolo11{_k}"] = (
        f"YOLO11{_k} detector ({_SCALE[_k]}): the C3k2 backbone with SPPF and the C2PSA attention stage, "
        + _NECK.format(block="C3k2" + (" with C3k blocks" if _k in "mlx" else ", C3k blocks in the last"),
                       dw=" with depthwise convs"))
    DESCRIPTIONS[f"yolov5{_k}u"] = (
        f"YOLOv5{_k}u detector ({_SCALE[_k]}): the YOLOv5 C3 backbone with SPPF, "
        + _NECK.format(block="C3 without shortcuts, a 1x1 reduce conv before each upsampling", dw="")
        + " Ultralytics' anchor-free rework of YOLOv5.")
for _k in ("tiny", "s", "m", "l", "x"):
    DESCRIPTIONS[f"cspnext_{_k}"] = (
        f"RTMDet CSPNeXt-{_k} ImageNet backbone (mmdet classification config): three-conv stem, CSPLayers with "
        "two 1x1 split convs, 3x3 + depthwise 5x5 blocks, channel attention after the concat, SPP in the last "
        "stage; pool + linear; 224x224.")
DESCRIPTIONS["yolov7_backbone"] = (
    "YOLOv7 backbone (layers 0-50 of yolov7.yaml) with a pool + linear head: ELAN stages (two 1x1 split convs, "
    "four 3x3 convs, every second one tapped, all concatenated, 1x1) and max-pool + conv down-sampling. A "
    "detection backbone: no published ImageNet result.")
DESCRIPTIONS["yolov4_csp_backbone"] = (
    "Scaled-YOLOv4 yolov4-csp backbone with a pool + linear head: BottleneckCSP stages (full CSP: bare 1x1 "
    "partial transition, BN + Mish after the concat, 1x1 transition), Mish. A detection backbone: no published "
    "ImageNet result.")
