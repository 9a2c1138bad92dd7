"""The app's convention switches offer every registered counting convention (issue 18, item 4), through
AppTest: the Design page's stage table (its column is the picked convention's, adding up to the total it states)
and the Sweep page's MACs convention (its figure plots the picked convention)."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from apptest_helpers import APP, clear_caches, no_problem  # noqa: F401  (clear_caches: autouse)
from cspnet import CSPConfig, get_preset
from explorer.counts.analysis import summarize
from explorer.counts.conventions import REGISTRY
from explorer.design import to_query

TINY = CSPConfig(family="densenet", name="tiny", repeats=(2,), growth_rate=8, stem_channels=16, input_size=32,
                 fusion="csp", num_classes=10)


def stage_df(at: AppTest):
    return next(df.value for df in at.dataframe if "stage" in df.value.columns)


def test_design_switch_offers_every_convention_and_its_column_adds_up():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["preset"] = "cspresnet50"
    at.run()
    no_problem(at)
    radio = at.radio(key="convention")
    assert radio.options == [c.short for c in REGISTRY.values()]
    conventions = summarize(get_preset("cspresnet50"))["conventions"]
    for key, c in REGISTRY.items():
        at.radio(key="convention").set_value(key).run()
        no_problem(at)
        df = stage_df(at)
        assert c.label in df.columns, (key, list(df.columns))
        assert int(df[c.label].sum()) == conventions[key]["value"], key
        others = [o.label for o in REGISTRY.values() if o.label != c.label]
        assert not set(others) & set(df.columns), key                   # one count column: the picked one
        caption = next(x.value for x in at.caption if x.value.startswith(f"**{c.label}**"))
        assert f"{conventions[key]['value']:,} {c.unit}" in caption


def test_sweep_switch_offers_every_convention_and_plots_it():
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params.update(to_query(TINY))
    at.run()
    at.switch_page("pages/Sweep.py").run()
    no_problem(at)
    at.radio(key="sw_metric").set_value("macs").run()
    assert at.radio(key="sw_convention").options == [c.short for c in REGISTRY.values()]
    for key in ("mmcv", "thop", "ultralytics", "darknet"):
        at.radio(key="sw_convention").set_value(key).run()
        no_problem(at)
        fig = json.loads(at.get("plotly_chart")[0].proto.spec)
        assert REGISTRY[key].label in fig["layout"]["title"]["text"], key
        assert at.toggle(key="sw_pct").proto.disabled                  # % vs twin: MACs-proportional ones only
    at.radio(key="sw_convention").set_value("bflops").run()
    assert not at.toggle(key="sw_pct").proto.disabled
