"""Issue 21, item 5: step 5's memory traffic and time.  The MACs / CIO scatter follows the sliders; the four
layouts sit on the roofline of this CPU (measured), an H100 and a small GPU from the device table, each with
its time bound from the Latency page's model; the prediction asks which is fastest before it is shown; a case
where MACs fall and the time bound does not; the words reconcile with the Latency page's roofline."""
from __future__ import annotations

import pytest

from app_ui.figures import lesson_roofline_figure, speed_figure
from explorer import lesson
from explorer.counts.analysis import summarize
from explorer.real import roofline as R

# fixed CPU figures in measure_cpu's shape (a test must not depend on this machine's speed)
PEAKS = {"tflops": {"fp32": 0.13}, "mem_bw_gbs": 11.2, "gemm_n": {"fp32": 1536}, "copy_mib": 256, "threads": 2}


def test_the_scatter_follows_the_sliders():
    wide = {"c": 512, "m": 1, "k": 8}
    a, b = lesson.speed_points(), lesson.speed_points(wide)
    assert [p["macs"] for p in a] != [p["macs"] for p in b]
    for p in b:
        s = lesson._stage_summary(summarize(lesson.layout_design(p["fusion"], wide)))
        assert (p["macs"], p["cio"]) == (s["macs"], s["cio"])
    assert speed_figure(b).data[0].x == tuple(p["cio"] for p in b)
    # the defaults are step 4's stage: the plain and full-CSP points are step 4's numbers
    step4 = {n.label: n for n in lesson.step_numbers("fusion", {"fusion": "csp"})}
    assert next(p for p in a if p["fusion"] == "csp")["macs"] == step4["Stage MACs"].value


@pytest.mark.parametrize("values", [{}, {"c": 512, "m": 1, "k": 8}, {"c": 16, "m": 32, "k": 64}])
def test_each_layouts_time_bound_is_the_latency_pages(values):
    roofs = lesson.all_rooflines(values, PEAKS)
    assert [r["key"] for r in roofs] == list(lesson.DEVICES) == ["cpu", "h100", "t4"]
    for roof in roofs:
        for row in roof["rows"]:
            cfg = lesson.layout_design(row["fusion"], values)
            if roof["key"] != "cpu":  # the Latency page's roofline of the same stage on the same GPU
                st = next(s for s in R.roofline(cfg, roof["key"], "fp32", 1)["stages"] if s["name"] == "stages.0")
                assert row["bound_us"] == pytest.approx(st["bound_ms"] * 1e3) and row["bound"] == st["bound"]
            dev = R.cpu_device(PEAKS) if roof["key"] == "cpu" else R.get_device(roof["key"])
            assert row["bound_us"] == pytest.approx(1e6 * max(row["flops"] / (dev.peak("fp32")[0] * 1e12),
                                                              row["bytes"] / (dev.mem_bw_gbs * 1e9)))
            assert (row["bound"] == "memory") == (row["intensity"] < roof["ridge"])
        assert roof["fastest"] == min(roof["rows"], key=lambda r: r["bound_us"])["fusion"]
    fig = lesson_roofline_figure(roofs)
    assert len(fig.data) == 2 * len(roofs) + 4


def test_a_case_where_macs_fall_and_the_time_bound_does_not():
    case = lesson.macs_fall_time_does_not(lesson.all_rooflines(lesson.EXAMPLE, PEAKS))
    assert case is not None and case["macs_pct"] < 0 <= case["bound_pct"] and case["bound"] == "memory"
    text = lesson.roofline_text(lesson.all_rooflines({}, PEAKS), {})
    assert "MACs fall and the time bound does not" in text and f"{case['macs_pct']:+.1f} %" in text
    assert "c = 512, m = 1, k = 8" in text


def test_the_words_follow_the_ridge_not_the_kind_of_device():
    """The lesson once said CPUs are memory-bound while the Latency page put this CPU's stages above its ridge."""
    roofs = lesson.all_rooflines({}, PEAKS)
    text = lesson.roofline_text(roofs, {})
    cpu = roofs[0]
    assert cpu["ridge"] == pytest.approx(R.cpu_device(PEAKS).ridge("fp32"))
    assert all(r["intensity"] > cpu["ridge"] and r["bound"] == "compute" for r in cpu["rows"])
    assert f"this CPU (measured): ridge {cpu['ridge']:.1f} FLOP/byte, all compute-bound" in text
    assert "an H100 (datasheet): ridge" in text and "all memory-bound" in text
    assert "such as small GPUs, CPUs" not in lesson.SPEED_TEXT and "ridge" in lesson.SPEED_TEXT


@pytest.mark.parametrize("device", ["h100", "t4"])
def test_the_prediction_asks_which_layout_is_fastest(device):
    qs = lesson.predictions("cio", {"device": device})
    q = qs[1]
    roof = lesson.layout_roofline({}, device)
    assert q.key == "predict_cio_fastest" and q.kind == "predict"
    assert q.options[q.right_index].text == lesson.FUSION_NAMES[roof["fastest"]]
    assert lesson.is_key_number("cio", "Whole CSP stage CIO (elements)")  # the numbers stay hidden till Reveal
    assert lesson.parse_url_params({"l_step": "cio", "l_device": device}) == ("cio", {"device": device})
    assert lesson.parse_url_params({"l_step": "cio", "l_device": "tpu"}) == ("cio", {})
