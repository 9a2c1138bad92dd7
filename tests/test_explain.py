"""explorer.counts.explain: the formula behind each number adds up to the stage totals exactly."""
from __future__ import annotations

import pytest

from explorer import lesson
from explorer.counts.analysis import summarize
from explorer.counts.explain import COMPONENTS, METRICS, breakdown, component_of, explain

DESIGNS = [("dense", {}), ("split", {"split_ratio": 0.25}), ("transition", {"transition_ratio": 0.5}),
           ("fusion", {"fusion": "fusion_first"}), ("fusion", {"fusion": "fusion_last"}),
           ("cio", {"c": 128, "m": 3, "k": 16})]


@pytest.mark.parametrize("step,values", DESIGNS)
@pytest.mark.parametrize("metric", METRICS)
def test_explained_values_sum_to_the_stage_totals(step, values, metric):
    cfg = lesson.step_design(step, values)
    stage = lesson._stage_summary(summarize(cfg))
    assert sum(r["value"] for r in explain(cfg, lesson.STAGE, None, metric)) == stage[metric]
    per_component = sum(sum(r["value"] for r in explain(cfg, lesson.STAGE, c, metric)) for c in COMPONENTS)
    assert per_component == stage[metric]
    assert sum(v[metric] for v in breakdown(cfg, lesson.STAGE).values()) == stage[metric]


def test_a_dense_3x3_conv_formula_has_the_design_values_substituted():
    cfg = lesson.step_design("transition", {})
    row = explain(cfg, lesson.STAGE, "dense_3x3", "macs")[0]
    assert row["formula"].startswith("H_out × W_out × C_in × C_out × k × k = 56 × 56 × 128 × 32 × 3 × 3")
    assert row["value"] == 56 * 56 * 128 * 32 * 9 and row["formula"].endswith(f"= {row['value']:,}")
    p = explain(cfg, lesson.STAGE, "partial_transition", "params")[0]
    assert p["value"] == 224 * 224 and "224 × 224 × 1 × 1" in p["formula"]
    c = explain(cfg, lesson.STAGE, "partial_transition", "cio")[0]
    assert c["value"] == 2 * 224 * 56 * 56


def test_every_conv_of_the_stage_gets_a_textbook_formula():
    cfg = lesson.step_design("fusion", {"fusion": "csp"})
    for metric in METRICS:
        for r in explain(cfg, lesson.STAGE, None, metric):
            if r["kind"] == "conv":
                assert "engine's count" not in r["formula"], r


def test_components_from_module_paths():
    cfg = lesson.step_design("transition", {})
    sp = next(s for s in __import__("cspnet").plan_network(cfg).stages if s.name == lesson.STAGE)
    by = {op.path: component_of(op) for op in sp.ops}
    assert by["stages.0.block.denselayer1.conv1"] == "dense_1x1"
    assert by["stages.0.block.denselayer1.conv2"] == "dense_3x3"
    assert by["stages.0.partial_transition.conv"] == "partial_transition"
    assert by["stages.0.transition.conv"] == "transition"
    assert by["stages.0.block.denselayer1.norm1"] == "other"
    with pytest.raises(KeyError):
        explain(cfg, lesson.STAGE, None, "flops")
