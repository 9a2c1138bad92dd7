"""The ``darknet_cfg`` family: an imported Darknet cfg as a design like any other.

Declared by name in ``cspnet.families.PLUGINS`` (the library sits below the engine and imports this
module only when a design names the family, never at module level), so every page, command and library
call works on an imported network through the usual ``CSPConfig`` paths, whatever was imported first:

* the design's ``network`` field holds the cfg text (parsed, never executed; at most
  :data:`explorer.io.darknet.MAX_CFG_CHARS`); ``input_size`` replaces the ``[net]`` width and height
  (an import starts from the ``[net]`` width).  Every other field is unread: the file fixes the stages,
  the classes and the activations.  ``fusion`` states the network's own fusion (``none`` when no CSP stage
  is recognised, else the fusion of its CSP stages: :func:`explorer.io.rewrite.network_fusion`); it is no
  knob between the CSP fusions (the stages are rewritten one by one: ``explorer.io.rewrite``), but
  ``fusion none`` on a network with CSP stages is its **plain twin**: the network planned and built from
  :func:`explorer.io.rewrite.plain_twin`'s text (every CSP stage rewritten as a plain stage, as the design
  families lay out fusion ``none``; :func:`network_text`), so ``cfg.twin()``, the twin comparisons and a
  Darknet export of the twin work as for any design.  A network whose CSP stage has no plain stage there (a
  dense stage's pooled transition) refuses ``fusion none``, naming the stage.
* ``validate``: parses the text (errors name the field ``network`` and the cfg's line, section and
  layer), requires 3 input channels (the pages feed RGB images) and the consistent ``fusion`` (its own, or
  ``none`` where the plain twin can be written);
* ``plan``: the importer's NetPlan stages (stem, stages, head), memoized by the plan memo;
* ``build``: ``explorer.io.darknet_torch``'s modules grouped as (stem, stages, head) parts (a detector's
  neck and head read earlier parts' outputs: ``explorer.io.family_torch``), each with
  parameter-free tap modules (``down``, ``split``, ``block``, ``partial_transition``, ``concat``,
  ``transition``) called on the tap tensors, so ``cspnet.model.CSPNetModel``, the live trace's hooks,
  latency and ONNX export work unchanged.
"""
from __future__ import annotations

from functools import lru_cache

from cspnet.errors import ConfigError
from cspnet.families import Family, Preset

from . import darknet_texts
from ._text import bounded_text
from .darknet import MAX_CFG_CHARS, CfgError, csp_tap_layers, parse_cfg
from .rewrite import network_fusion, plain_twin

NAME = "darknet_cfg"

# A small CSP network (two CSPDarknet53-like stages, full CSP) in Darknet syntax: the family's default design.
EXAMPLE_CFG = """\
# A small CSPDarknet-like classifier: stem, two full-CSP stages, global pool, 1x1 classifier.
[net]
width=128
height=128
channels=3

[convolutional]
batch_normalize=1
filters=16
size=3
stride=1
pad=1
activation=leaky
""" + "".join(f"""
# stage {k}: down-sampling conv, part 1, split, part 2, dark block, partial transition, concat, transition
[convolutional]
batch_normalize=1
filters={2 * w}
size=3
stride=2
pad=1
activation=leaky

[convolutional]
batch_normalize=1
filters={w}
size=1
stride=1
pad=1
activation=leaky

[route]
layers=-2

[convolutional]
batch_normalize=1
filters={w}
size=1
stride=1
pad=1
activation=leaky

[convolutional]
batch_normalize=1
filters={w}
size=1
stride=1
pad=1
activation=leaky

[convolutional]
batch_normalize=1
filters={w}
size=3
stride=1
pad=1
activation=leaky

[shortcut]
from=-3
activation=linear

[convolutional]
batch_normalize=1
filters={w}
size=1
stride=1
pad=1
activation=leaky

[route]
layers=-1,-7

[convolutional]
batch_normalize=1
filters={2 * w}
size=1
stride=1
pad=1
activation=leaky
""" for k, w in ((0, 16), (1, 32))) + """
[avgpool]

[convolutional]
filters=10
size=1
stride=1
pad=1
activation=linear

[softmax]
groups=1
"""

@lru_cache(maxsize=16)   # bounded and thread-safe; the plan memo keeps the plans
def parsed(text: str, size: int | None = None):
    """``explorer.io.darknet.parse_cfg(text, input_size=size)``, memoized (a failed parse is not)."""
    return parse_cfg(text, input_size=size, name="network")


@lru_cache(maxsize=16)
def twin_text(text: str) -> str:
    """``explorer.io.rewrite.plain_twin(text)``, memoized: the cfg with every CSP stage a plain stage."""
    return plain_twin(text)


def network_text(cfg) -> str:
    """The cfg text a darknet_cfg design plans, builds and exports: its network as opened, or, where the design
    says ``fusion none`` of a network with CSP stages (its plain twin, ``cfg.twin()``), :func:`twin_text`."""
    if cfg.fusion == "none" and network_fusion(parsed(cfg.network)) != "none":
        return twin_text(cfg.network)
    return cfg.network


def net_of(cfg, input_size: int | None = None, *, own: bool = False):
    """The parsed network of a darknet_cfg design (:func:`network_text`; ``own``: the network as opened, never its
    twin) at its input size (or ``input_size``)."""
    size = cfg.input_size if input_size is None else input_size
    try:
        return parsed(cfg.network if own else network_text(cfg), size)
    except CfgError as exc:
        if input_size is not None and input_size != cfg.input_size:
            raise ConfigError("input_size", f"{size} px: {exc.detail}") from None
        raise ConfigError("network", exc.detail) from None


def validate(cfg) -> None:
    if not cfg.network.strip():
        raise ConfigError("network", "empty; open a Darknet .cfg (the Design page's 'Open your own network')")
    own_net = net_of(cfg, own=True)
    if own_net.input_shape[0] != 3:
        raise ConfigError("network", f"[net] channels={own_net.input_shape[0]}; this tool feeds RGB images "
                          "(channels=3)")
    own = network_fusion(own_net)
    if own == "none" and cfg.fusion != "none":
        raise ConfigError("fusion", f"{cfg.fusion!r}: this network has no recognised CSP stage, so its fusion is "
                          "'none'")
    if own != "none" and cfg.fusion == "none":
        try:
            twin_text(cfg.network)
        except ConfigError as exc:
            raise ConfigError("fusion", f"'none' (the plain twin): {exc.detail}; this network has no plain twin "
                              f"here, only its own fusion {own}") from None
        net_of(cfg)     # the twin at the design's input size
    elif own != "none" and cfg.fusion not in {info.fusion for info in own_net.stages}:
        raise ConfigError("fusion", f"{cfg.fusion!r}: this network's CSP stages are {own} (or 'none': its plain "
                          "twin)")


def plan(cfg, input_size: int) -> list:
    return net_of(cfg, input_size).plan.stages


# ----------------------------------------------------------------------------- the modules
def tap_layers(info, net) -> dict:
    """tap -> the layer index whose output it is (``split``: (part 1 layer, part 2 layer)): the
    down-sampling conv and ``explorer.io.darknet.csp_tap_layers``, the plan's own taps."""
    out: dict = {}
    if info.kind != "stage" or info.end <= info.start:
        return out
    first = net.layers[info.start]
    if first.kind == "conv" and first.attrs["stride"] > 1:
        out["down"] = info.start
    if info.roles:
        taps = csp_tap_layers(info.roles)
        out["split"] = (taps.pop("part1"), taps.pop("part2"))
        out.update(taps)
    return out


def build(cfg):
    """(stem, [stage modules], head): ``explorer.io.darknet_torch``'s layers grouped as the plan's parts."""
    from .family_torch import build_parts

    net = net_of(cfg)
    parts = build_parts(net, net.stages, [tap_layers(info, net) for info in net.stages])
    return parts[0], parts[1:-1], parts[-1]


def _preset(name: str, text: str, size: int, description: str, reference: str, source: str) -> Preset:
    """A darknet_cfg preset holding ``text`` (a generated cfg: ``explorer.io.darknet_texts``) at ``size``, with
    the network's own fusion.  Its reference is a Darknet BFLOPs figure (no source prints the cfg's parameter
    count), checked in tests/test_yolo_yaml_family.py."""
    fusion = network_fusion(parsed(text))
    return Preset(name=name, config={"family": NAME, "network": text, "input_size": size, "fusion": fusion},
                  description=description, reference=reference, source=source)


PRESETS = (
    _preset("yolov4_csp", darknet_texts.yolov4_csp(512), 512,
            "YOLOv4-CSP (Scaled-YOLOv4) as Darknet's cfg/yolov4-csp.cfg: CSPDarknet53 (a plain first stage), SPPCSP, a "
            "PAN of CSP blocks, three [yolo] heads; mish.",
            "AlexeyAB/darknet cfg/yolov4-csp.cfg: 77 BFLOPs at 512, 120 at 640 (Darknet's own count)",
            "AlexeyAB/darknet README 'Pre-trained models' (shared/reference/published_detection.csv, YOLOv4-CSP)"),
    _preset("cspresnext50_panet_spp", darknet_texts.cspresnext50_panet_spp(512), 512,
            "The CSPNet paper's detector CSPResNeXt50-PANet-SPP (its Table 4) as its cfg writes it: CSPResNeXt-50 "
            "(four CSP stages of grouped ResNeXt blocks), SPP, a PANet neck, three YOLOv3 heads; leaky.",
            "WongKinYiu/CrossStagePartialNetworks cfg/csresnext50-panet-spp.cfg: 71.3 BFLOPs at 512 (Darknet's count)",
            "CSPNet repository README and AlexeyAB/darknet README 'Pre-trained models' (shared/reference/"
            "published_detection.csv, CSPResNeXt50-PANet-SPP)"),
)

FAMILY = Family(
    name=NAME,
    description="An imported Darknet .cfg: its layers as written (stem, stages, head found from its routes).",
    validate=validate, plan=plan, build=build,
    defaults={"network": EXAMPLE_CFG, "input_size": 128, "fusion": "csp", "name": "darknet_cfg_example"},
    presets=PRESETS,
)


def design_from_cfg(text, name: str = "network"):
    """A darknet_cfg ``CSPConfig`` from cfg text (bytes or str): input size from the ``[net]`` width, the
    network's own fusion.  Raises ConfigError (field ``network``: line, section and what was expected)."""
    from cspnet import CSPConfig
    from cspnet.config import INPUT_SIZE_RANGE

    text = bounded_text(text, MAX_CFG_CHARS, "cfg", lambda message: ConfigError("network", message))
    try:
        net = parsed(text)
    except CfgError as exc:
        raise ConfigError("network", exc.detail) from None
    c, h, w = net.input_shape
    lo, hi = INPUT_SIZE_RANGE
    if not lo <= w <= hi:
        raise ConfigError("network", f"[net] width={w}: this tool takes input sizes {lo} to {hi}")
    return CSPConfig(family=NAME, name=_clean_name(name), network=text, input_size=w, fusion=network_fusion(net))


def _clean_name(name: str) -> str:
    keep = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in str(name))[:80]
    return keep or "network"


def with_stage_fusion(cfg, stage: str, fusion: str):
    """``cfg`` (darknet_cfg) with CSP stage ``stage`` rewritten to ``fusion`` (``explorer.io.rewrite``)."""
    from .rewrite import rewrite_fusion

    text = rewrite_fusion(cfg.network, stage, fusion)
    net = parsed(text)
    return cfg.replace(network=text, fusion=network_fusion(net))


def with_stage_split(cfg, stage: str, part2_share: float):
    """``cfg`` (darknet_cfg) with CSP stage ``stage``'s split rewritten: part 2 (the block path) takes
    ``part2_share`` of the stage's split channels (``explorer.io.rewrite.rewrite_split``)."""
    from .rewrite import rewrite_split

    text = rewrite_split(cfg.network, stage, part2_share)
    net = parsed(text)
    return cfg.replace(network=text, fusion=network_fusion(net))


__all__ = ["EXAMPLE_CFG", "FAMILY", "NAME", "PRESETS", "design_from_cfg", "net_of", "network_text", "tap_layers",
           "twin_text", "with_stage_fusion", "with_stage_split"]
