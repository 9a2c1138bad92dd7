"""The design of a network as one frozen, validated, JSON-serialisable dataclass.

Every knob the app and the CLI expose is a field of :class:`CSPConfig`; its field names are the
names accepted by ``--set key=value`` and by the app's URL.  Per-stage fields accept a single value
(filling every stage) or one value per stage; after construction they are always tuples of length
``len(repeats)``.

Channel arithmetic floors everywhere (as torchvision's ``num_features // 2``):

* ``split_ratio`` is the fraction of a stage's channels ``C`` sent *through* the block (part 2):
  ``part2 = floor(C * split_ratio)``, ``part1 = C - part2`` bypasses the block.  The CSPNet paper's
  partial ratio gamma is the bypass share, ``gamma = 1 - split_ratio``.
* ``transition_ratio``: the partial transition on the block path outputs
  ``floor(block_out * transition_ratio)`` channels.
* ``compression``: the transition after the concat outputs ``floor(C_concat * compression)``
  channels (DenseNet's transition; the DenseNet family only).

Construction validates the fields *and* the whole design (spatial sizes, zero-width branches, size
bounds) through the family's analytic plan, so a ``CSPConfig`` that exists can be built.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, fields
from typing import Any

from .errors import ConfigError

CONFIG_VERSION = 1

FUSIONS = ("none", "fusion_first", "fusion_last", "csp")
FUSION_LABELS = {
    "none": "none (plain base network, paper Fig. 3a)",
    "csp": "full CSP: partial transition -> concat -> transition (Fig. 3b)",
    "fusion_first": "fusion first: concat -> transition (Fig. 3c)",
    "fusion_last": "fusion last: transition on block path -> concat (Fig. 3d)",
}
ACTIVATIONS = ("relu", "leaky_relu", "silu", "mish")
STEM_POOLS = ("max", "none")

# Per-stage fields: a scalar fills all stages, a sequence sets each stage.
STAGE_FIELDS = (
    "widths", "strides", "growth_rate", "bn_size", "bottle_ratio", "groups", "width_per_group",
    "expand_ratio",
)

# Safety bounds: designs beyond these are refused before anything is allocated.
MAX_STAGES = 8
MAX_REPEATS = 64
MAX_PARAMS = 400_000_000
MAX_ACTIVATION_BYTES = 4 * 1024**3  # fp32 activations of one image (batch 1)
INPUT_SIZE_RANGE = (16, 1024)


@dataclass(frozen=True)
class CSPConfig:
    """A network design. See the module docstring and README for every field's meaning."""

    family: str = "densenet"
    name: str = "custom"
    # stem
    stem_channels: int = 64
    stem_kernel: int = 7
    stem_stride: int = 2
    stem_pool: str = "max"
    stem_norm: bool = True     # BatchNorm + activation after the stem conv (torchvision: yes)
    # stages
    repeats: tuple = (6, 12, 24, 16)
    widths: Any = 0            # resnet/resnext/darknet: stage output channels (0 = unused)
    strides: Any = 2           # resnet/resnext/darknet: stride of each stage
    growth_rate: Any = 32      # densenet/peleenet: channels added per dense layer
    bn_size: Any = 4           # densenet: bottleneck width = bn_size x growth_rate
    bottle_ratio: Any = 0.25   # resnet/darknet: bottleneck width = block width x bottle_ratio
    groups: Any = 1            # resnext: groups of the 3x3 conv
    width_per_group: Any = 4   # resnext: bottleneck width = groups x width_per_group
    expand_ratio: Any = 1.0    # resnet/darknet CSP: split channels C = round(width x expand_ratio)
    # CSP knobs
    fusion: str = "none"
    split_ratio: float = 0.5
    transition_ratio: float = 1.0
    compression: float = 0.5
    last_transition: bool = False
    head_norm: bool = True     # densenet/peleenet: BatchNorm + activation before the pooling head
    activation: str = "relu"
    # input / output
    input_size: int = 224
    num_classes: int = 1000

    # ------------------------------------------------------------------ validation
    def __post_init__(self):
        from .families import get_family  # local import: families import this module

        fam = self.family
        if not isinstance(fam, str) or fam not in _family_names():
            raise ConfigError("family", f"unknown family {fam!r}; allowed: {', '.join(_family_names())}")
        _check_str(self, "name", max_len=80)
        _check_choice(self, "fusion", FUSIONS)
        _check_choice(self, "stem_pool", STEM_POOLS)
        _check_choice(self, "activation", ACTIVATIONS)
        _check_int(self, "stem_channels", 1, 4096)
        _check_int(self, "stem_kernel", 1, 11)
        _check_int(self, "stem_stride", 1, 4)
        _check_int(self, "input_size", *INPUT_SIZE_RANGE)
        _check_int(self, "num_classes", 1, 100_000)
        _check_bool(self, "last_transition")
        _check_bool(self, "stem_norm")
        _check_bool(self, "head_norm")
        _check_float(self, "split_ratio", 0.0, 1.0, low_open=True)
        _check_float(self, "transition_ratio", 0.0, 4.0, low_open=True)
        _check_float(self, "compression", 0.0, 1.0, low_open=True)

        repeats = _as_tuple(self.repeats, "repeats")
        if not repeats:
            raise ConfigError("repeats", "empty; give at least one stage (e.g. 6,12,24,16)")
        if len(repeats) > MAX_STAGES:
            raise ConfigError("repeats", f"{len(repeats)} stages; allowed 1 to {MAX_STAGES}")
        for i, r in enumerate(repeats):
            if not _is_int(r) or not 1 <= r <= MAX_REPEATS:
                raise ConfigError("repeats", f"stage {i} has {r!r}; allowed integers 1 to {MAX_REPEATS}")
        object.__setattr__(self, "repeats", tuple(int(r) for r in repeats))
        n = len(repeats)
        for name, kind, lo, hi in (
            ("widths", int, 0, 8192), ("strides", int, 1, 2), ("growth_rate", int, 1, 1024),
            ("bn_size", int, 1, 16), ("bottle_ratio", float, 0.0, 4.0), ("groups", int, 1, 1024),
            ("width_per_group", int, 1, 1024), ("expand_ratio", float, 0.0, 4.0),
        ):
            object.__setattr__(self, name, _broadcast(self, name, n, kind, lo, hi))

        get_family(fam).validate(self)
        _check_size(self)

    # ------------------------------------------------------------------ conveniences
    @property
    def num_stages(self) -> int:
        return len(self.repeats)

    @property
    def gamma(self) -> float:
        """The CSPNet paper's partial ratio: the share of channels that bypasses the block."""
        return 1.0 - self.split_ratio

    @property
    def is_csp(self) -> bool:
        return self.fusion != "none"

    def replace(self, **changes) -> "CSPConfig":
        return dataclasses.replace(self, **changes)

    def twin(self) -> "CSPConfig":
        """The same design without CSP (``fusion='none'``)."""
        return self.replace(fusion="none", name=f"{self.name} (plain twin)" if self.is_csp else self.name)

    def to_dict(self) -> dict:
        out = {}
        for f in fields(self):
            v = getattr(self, f.name)
            out[f.name] = list(v) if isinstance(v, tuple) else v
        return out

    def key(self) -> str:
        """A canonical string for caching and comparison."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps({"version": CONFIG_VERSION, "config": self.to_dict()}, indent=indent)

    @classmethod
    def from_dict(cls, data: dict) -> "CSPConfig":
        if not isinstance(data, dict):
            raise ConfigError("json", f"config must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError("json", f"unknown field(s) {', '.join(map(str, unknown[:5]))}; "
                              f"allowed: {', '.join(sorted(known))}")
        clean = {}
        for k, v in data.items():
            clean[k] = tuple(v) if isinstance(v, list) else v
        try:
            return cls(**clean)
        except ConfigError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:  # defensive: never leak other errors
            raise ConfigError("json", f"invalid value: {exc}") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> "CSPConfig":
        if isinstance(text, bytes):
            try:
                text = text.decode("utf-8")
            except UnicodeDecodeError:
                raise ConfigError("json", "not UTF-8 text") from None
        if len(text) > MAX_JSON_CHARS:
            raise ConfigError("json", f"{len(text)} characters; allowed at most {MAX_JSON_CHARS}")
        try:
            doc = json.loads(text, parse_constant=_reject_constant)
        except RecursionError:
            raise ConfigError("json", "nested too deeply") from None
        except ValueError as exc:
            raise ConfigError("json", f"malformed JSON: {exc}") from None
        if not isinstance(doc, dict):
            raise ConfigError("json", f"expected an object with 'version' and 'config', got {type(doc).__name__}")
        version = doc.get("version")
        if version != CONFIG_VERSION:
            raise ConfigError("json", f"version {version!r} is not supported; this tool reads version {CONFIG_VERSION}")
        extra = sorted(set(doc) - {"version", "config"})
        if extra:
            raise ConfigError("json", f"unknown top-level key(s) {', '.join(map(str, extra[:5]))}; allowed: version, config")
        return cls.from_dict(doc.get("config"))


MAX_JSON_CHARS = 64 * 1024


def _reject_constant(name):
    raise ValueError(f"{name} is not allowed")


def _family_names():
    from .families import FAMILIES

    return tuple(FAMILIES)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _check_int(cfg, name, lo, hi):
    v = getattr(cfg, name)
    if not _is_int(v) or not lo <= v <= hi:
        raise ConfigError(name, f"{v!r} is not allowed; allowed integers {lo} to {hi}")


def _check_float(cfg, name, lo, hi, low_open=False):
    v = getattr(cfg, name)
    ok = _is_num(v) and (lo < v if low_open else lo <= v) and v <= hi
    if not ok:
        rng = f"({lo}, {hi}]" if low_open else f"[{lo}, {hi}]"
        raise ConfigError(name, f"{v!r} is not allowed; allowed range {rng}")
    object.__setattr__(cfg, name, float(v))


def _check_bool(cfg, name):
    v = getattr(cfg, name)
    if not isinstance(v, bool):
        raise ConfigError(name, f"{v!r} is not allowed; allowed: true or false")


def _check_choice(cfg, name, choices):
    v = getattr(cfg, name)
    if v not in choices:
        raise ConfigError(name, f"{v!r} is not allowed; allowed: {', '.join(choices)}")


def _check_str(cfg, name, max_len):
    v = getattr(cfg, name)
    if not isinstance(v, str) or len(v) > max_len:
        raise ConfigError(name, f"must be text of at most {max_len} characters")


def _as_tuple(v, name):
    if isinstance(v, (list, tuple)):
        return tuple(v)
    if _is_int(v):
        return (v,)
    raise ConfigError(name, f"{v!r} is not allowed; give an integer or a list of integers")


def _broadcast(cfg, name, n, kind, lo, hi):
    v = getattr(cfg, name)
    vals = tuple(v) if isinstance(v, (list, tuple)) else (v,) * n
    if len(vals) == 1 and n > 1:
        vals = vals * n
    if len(vals) != n:
        raise ConfigError(name, f"{len(vals)} values for {n} stages; give one value or {n}")
    out = []
    for i, x in enumerate(vals):
        if kind is int:
            ok = _is_int(x) and lo <= x <= hi
            rng = f"integers {lo} to {hi}"
        else:
            ok = _is_num(x) and lo < x <= hi
            rng = f"range ({lo}, {hi}]"
        if not ok:
            where = f"stage {i} has " if n > 1 and isinstance(v, (list, tuple)) else ""
            raise ConfigError(name, f"{where}{x!r}; allowed {rng}")
        out.append(kind(x))
    return tuple(out)


def _check_size(cfg):
    """Whole-design checks via the analytic plan: spatial sizes, zero-width branches, size bounds."""
    from .plan import plan_network

    plan = plan_network(cfg, validate=False)
    for stage in plan.stages:
        for tap, (c, h, w) in stage.taps.items():
            if h < 1 or w < 1:
                raise ConfigError("input_size", f"{cfg.input_size} is too small: {stage.name} {tap} would be "
                                  f"{h}x{w}; smallest allowed for this design is {min_input_size(cfg)}")
            if c < 1:
                raise ConfigError(_channel_field(tap), f"{stage.name} {tap} would have {c} channels; "
                                  "channel arithmetic must leave at least 1 channel on every branch")
    if plan.params > MAX_PARAMS:
        raise ConfigError("design", f"{plan.params / 1e6:.1f}M parameters; the bound is {MAX_PARAMS / 1e6:.0f}M")
    act = plan.activation_elements * 4
    if act > MAX_ACTIVATION_BYTES:
        raise ConfigError("design", f"{act / 2**30:.2f} GiB of fp32 activations at batch 1; "
                          f"the bound is {MAX_ACTIVATION_BYTES / 2**30:.0f} GiB (lower input_size or width)")


def _channel_field(tap: str) -> str:
    return {"part1": "split_ratio", "part2": "split_ratio", "partial_transition": "transition_ratio",
            "transition": "compression"}.get(tap, "design")


def min_input_size(cfg: CSPConfig) -> int:
    """The smallest input size for which every tap point keeps a spatial size of at least 1."""
    from .plan import plan_network

    def ok(size):
        p = plan_network(cfg, input_size=size, validate=False)
        return all(h >= 1 and w >= 1 for s in p.stages for (_, h, w) in s.taps.values())

    lo, hi = 1, INPUT_SIZE_RANGE[1]
    if not ok(hi):
        return hi + 1
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid + 1
    return max(lo, INPUT_SIZE_RANGE[0])
