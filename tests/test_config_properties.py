"""Property-based tests: every valid random design builds and runs with the predicted shapes;
every invalid one raises ConfigError and nothing else."""
import json

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cspnet import FUSIONS, ConfigError, CSPConfig, build_model, count_params, plan_network
from cspnet.config import FIELDS, LINEAGE, family_fields
from cspnet.families import FAMILIES, get_family
from cspnet.families._blocks import LINEAGE_BLOCKS
from plan_check import hooked_tap_shapes

FAST = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def small_designs(draw):
    family = draw(st.sampled_from(sorted(FAMILIES)))
    n = draw(st.integers(1, 4))
    repeats = tuple(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    kw = dict(family=family, repeats=repeats, fusion=draw(st.sampled_from(FUSIONS)),
              split_ratio=draw(st.sampled_from([0.25, 0.5, 0.75, 1.0])),
              transition_ratio=draw(st.sampled_from([0.5, 0.8, 1.0])),
              input_size=draw(st.sampled_from([64, 96, 128])), num_classes=draw(st.integers(2, 20)))
    if family in ("densenet", "peleenet"):
        kw.update(growth_rate=draw(st.sampled_from([4, 8, 12])), stem_channels=draw(st.sampled_from([8, 16, 32])),
                  compression=draw(st.sampled_from([0.5, 1.0])))
        if family == "densenet":
            kw.update(bn_size=draw(st.sampled_from([1, 2, 4])))
        else:
            kw.update(bn_size=1, stem_channels=32)
    else:
        base = draw(st.sampled_from([16, 32]))
        kw.update(widths=tuple(base * 2 ** i for i in range(n)), stem_channels=16, stem_kernel=3,
                  stem_stride=2, stem_pool="none", strides=(1,) + (2,) * (n - 1) if family != "darknet" else 2)
        if family == "resnext":
            kw.update(groups=4, width_per_group=4, bottle_ratio=1.0)
        elif family == "resnet":
            kw.update(bottle_ratio=0.5, expand_ratio=2.0 if kw["fusion"] != "none" else 1.0)
        else:
            kw.update(bottle_ratio=0.5)
        if family in LINEAGE:   # the lineage's own knobs (stem_* are not read there)
            for k in ("stem_channels", "stem_kernel", "stem_stride", "stem_pool"):
                kw.pop(k)
            blocks = st.sampled_from([b for b in LINEAGE_BLOCKS if b != "psa"])
            kw.update(block_type=tuple(draw(blocks) for _ in range(n)),
                      taps=tuple(draw(st.sampled_from(["last", "all"])) for _ in range(n)),
                      residual=draw(st.booleans()), split_convs=draw(st.sampled_from(["one", "two", "two_bare"])),
                      post_concat=draw(st.sampled_from(["none", "bn_act", "attention"])),
                      width_multiple=draw(st.sampled_from([0.25, 0.5, 1.0])),
                      depth_multiple=draw(st.sampled_from([0.5, 1.0])))
    return kw


@FAST
@given(small_designs())
def test_valid_random_designs_build_and_run_as_planned(kw):
    try:
        cfg = CSPConfig(**kw)
    except ConfigError:
        return  # some random combinations are legitimately invalid (e.g. a zero-width branch)
    plan = plan_network(cfg)
    model = build_model(cfg)
    assert count_params(model) == plan.params
    x = torch.randn(1, 3, cfg.input_size, cfg.input_size)
    seen, out = hooked_tap_shapes(model.eval(), plan, x)
    assert tuple(out.shape) == (1, cfg.num_classes)
    assert torch.isfinite(out).all()
    for sp in plan.stages:
        if sp.kind == "stage":
            for tap, shape in sp.taps.items():
                if tap not in ("input", "output"):
                    assert seen[sp.name][tap] == tuple(shape)


BAD_VALUES = {
    "split_ratio": [0.0, -0.1, 1.01, float("nan"), "half", None, True],
    "growth_rate": [0, -4, 2.5, "x", [32, 0, 32, 32]],
    "repeats": [(), 0, (6, -1), (6, 12, 24, 16, 1, 1, 1, 1, 1), "6,12", (1.5,)],
    "family": ["vgg", 3, None],
    "fusion": ["first", "", None],
    "input_size": [0, 8, 100000, 224.0],
    "transition_ratio": [0, -1, 10],
    "compression": [0, 1.5],
    "stem_channels": [0, -1],
    "widths": [-1],
    "last_transition": ["yes", 1],
    "num_classes": [0],
}


@pytest.mark.parametrize("field,value", [(f, v) for f, vs in BAD_VALUES.items() for v in vs])
def test_invalid_field_raises_config_error_naming_the_field(field, value):
    with pytest.raises(ConfigError) as exc:
        CSPConfig(**{field: value})
    assert exc.value.field in (field, "design", "json", "input_size", "split_ratio", "compression")
    assert str(exc.value).startswith(exc.value.field)


@FAST
@given(st.dictionaries(st.sampled_from(list(BAD_VALUES) + ["name", "bn_size", "groups"]),
                       st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                                 st.floats(allow_nan=True), st.text(max_size=5),
                                 st.lists(st.integers(-3, 100), max_size=9)), max_size=4))
def test_random_input_only_ever_raises_config_error(changes):
    try:
        CSPConfig.from_dict(changes)
    except ConfigError:
        pass


def test_small_input_names_input_size_and_the_smallest_allowed():
    with pytest.raises(ConfigError) as exc:
        CSPConfig(input_size=16)
    assert exc.value.field == "input_size"
    assert "smallest allowed" in str(exc.value)


def test_too_large_design_is_refused_with_the_bound():
    with pytest.raises(ConfigError) as exc:
        CSPConfig(growth_rate=1024, repeats=(64, 64, 64, 64), bn_size=16)
    assert exc.value.field in ("design", "bn_size")
    with pytest.raises(ConfigError) as exc:
        CSPConfig(input_size=1024, growth_rate=64, repeats=(12, 24, 64, 32))
    assert exc.value.field == "design" and "bound" in str(exc.value)


def test_json_round_trip_and_bad_json():
    cfg = CSPConfig(fusion="csp", split_ratio=0.75, growth_rate=(12, 16, 24, 32))
    assert CSPConfig.from_json(cfg.to_json()) == cfg
    doc = json.loads(cfg.to_json())
    assert doc["version"] == 1
    for bad in ["{", "[]", '{"version": 2, "config": {}}', '{"version": 1}',
                '{"version": 1, "config": {"evil": 1}}', '{"version": 1, "config": {}, "x": 1}',
                '{"version": 1, "config": {"split_ratio": NaN}}', "[" * 100000, b"\xff\xfe"]:
        with pytest.raises(ConfigError) as exc:
            CSPConfig.from_json(bad)
        assert exc.value.field in ("json", "split_ratio")


# The ``fields=`` tuples the Family objects declared before each field declared its own readers
# (``FieldSpec.families``); a literal copy, so that the move changes no family's field set.
OLD_FAMILY_FIELDS = {
    "densenet": ("stem_channels", "stem_kernel", "stem_stride", "stem_pool", "repeats", "growth_rate", "bn_size",
                 "fusion", "split_ratio", "transition_ratio", "compression", "last_transition", "activation",
                 "input_size", "num_classes", "stem_norm", "head_norm"),
    "peleenet": ("stem_channels", "stem_kernel", "stem_stride", "stem_pool", "repeats", "growth_rate", "bn_size",
                 "fusion", "split_ratio", "transition_ratio", "compression", "last_transition", "head_norm",
                 "activation", "input_size", "num_classes"),
    "resnet": ("stem_channels", "stem_kernel", "stem_stride", "stem_pool", "repeats", "widths", "strides",
               "expand_ratio", "fusion", "split_ratio", "transition_ratio", "activation", "input_size",
               "num_classes", "bottle_ratio"),
    "resnext": ("stem_channels", "stem_kernel", "stem_stride", "stem_pool", "repeats", "widths", "strides",
                "expand_ratio", "fusion", "split_ratio", "transition_ratio", "activation", "input_size",
                "num_classes", "groups", "width_per_group"),
    "darknet": ("stem_channels", "stem_kernel", "stem_stride", "stem_pool", "repeats", "widths", "strides",
                "expand_ratio", "fusion", "split_ratio", "transition_ratio", "activation", "input_size",
                "num_classes", "bottle_ratio"),
}
IDENTITY = ("family", "name")  # every family reads these; the old tuples left them out


LINEAGE_FIELDS = ("repeats", "widths", "strides", "expand_ratio", "fusion", "split_ratio", "transition_ratio",
                  "activation", "input_size", "num_classes", "bottle_ratio", "width_multiple", "depth_multiple",
                  "max_channels", "down_widths", "block_type", "taps", "residual", "split_convs", "post_concat",
                  "stem_type", "se_ratio")
OLD_FAMILY_FIELDS.update({fam: tuple(f for f in LINEAGE_FIELDS if f != "max_channels") for fam in LINEAGE})
OLD_FAMILY_FIELDS.update({fam: LINEAGE_FIELDS for fam in ("yolov5", "yolov8", "yolo11")})    # Ultralytics' cap
# and the detectors they build (task = detect): the neck's knobs
DETECTOR_FIELDS = ("task", "neck_fusion", "neck_split_ratio", "neck_repeats", "neck_widths", "neck_block_type",
                   "neck_taps", "neck_residual")
OLD_FAMILY_FIELDS.update({fam: LINEAGE_FIELDS + DETECTOR_FIELDS for fam in ("yolov5", "yolov8", "yolo11")})
OLD_FAMILY_FIELDS["yolov7"] = tuple(f for f in OLD_FAMILY_FIELDS["yolov7"] if f != "depth_multiple")
# an imported network (explorer.io.family): its file fixes everything but the input size
OLD_FAMILY_FIELDS["darknet_cfg"] = ("input_size", "network")
# an opened detection YAML (explorer.io.yolo_family): its fusion is its own or none (its plain twin)
OLD_FAMILY_FIELDS["yolo_yaml"] = ("fusion", "input_size", "network")
# an opened cfg's default design also states its own fusion (validated against the file, no knob)
STATED = {"darknet_cfg": {"fusion"}}


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_family_fields_equal_the_old_family_declarations(family):
    fields = family_fields(family)
    assert fields[:2] == IDENTITY and {n for n, s in FIELDS.items() if s.group == "identity"} == set(IDENTITY)
    assert set(fields) - set(IDENTITY) == set(OLD_FAMILY_FIELDS[family])
    assert list(fields) == [n for n in FIELDS if n in fields]           # declaration order
    assert all(FIELDS[n].reads(family) for n in fields)
    assert set(get_family(family).defaults) <= set(fields) | STATED.get(family, set())  # sets only read fields
    assert not hasattr(get_family(family), "fields")


# --------------------------------------------------------------------------- errors name a field the change gave
CHANGE_OTHERS = [None, ("input_size", 64), ("input_size", 512), ("growth_rate", 16), ("widths", 64),
                 ("stem_channels", 8), ("split_ratio", 0.05), ("bn_size", (1, 2)), ("strides", (1, 2, 2, 2, 2))]


@FAST
@given(st.sampled_from(["densenet121", "cspdensenet201", "peleenet", "resnet50", "cspresnext50", "cspdarknet53"]),
       st.lists(st.integers(1, 4), min_size=1, max_size=8), st.sampled_from(CHANGE_OTHERS))
def test_a_change_is_refused_only_by_an_error_about_a_field_it_gave(preset, reps, other):
    """A new stage count (with or without another change) is valid, or a ConfigError names a
    changed field: never a per-stage field the change left behind or the family does not read."""
    from cspnet import get_preset
    from explorer.design import with_changes

    changes = {"repeats": tuple(reps), **({other[0]: other[1]} if other else {})}
    try:
        cfg = with_changes(get_preset(preset), changes)
    except ConfigError as exc:
        assert exc.field in changes, str(exc)
        assert str(exc).startswith(f"{exc.field}: ")
        return
    assert cfg.num_stages == len(reps)
    assert all(len(getattr(cfg, n)) == len(reps) for n, f in FIELDS.items() if f.per_stage and f.axis == "stages")


UNREAD_VALUES = {"widths": st.integers(0, 8192), "strides": st.integers(1, 2), "groups": st.integers(1, 64),
                 "width_per_group": st.integers(1, 64), "bottle_ratio": st.sampled_from([0.25, 0.5, 1.0]),
                 "expand_ratio": st.sampled_from([0.5, 1.0, 2.0])}


@FAST
@given(st.integers(1, 4), st.dictionaries(st.sampled_from(sorted(UNREAD_VALUES)), st.integers(1, 9), max_size=4),
       st.data())
def test_per_stage_fields_the_family_does_not_read_never_make_a_design_invalid(n, lengths, data):
    base = dict(family="densenet", repeats=(2,) * n, growth_rate=8, stem_channels=16, input_size=128)
    extra = {k: tuple(data.draw(st.lists(UNREAD_VALUES[k], min_size=m, max_size=m))) for k, m in lengths.items()}
    cfg = CSPConfig(**base, **extra)  # whatever their lengths: valid, each fitted to n stages
    assert all(len(getattr(cfg, k)) == n for k in extra)
    assert cfg.plan_key() != () and plan_network(cfg).params == plan_network(CSPConfig(**base)).params
