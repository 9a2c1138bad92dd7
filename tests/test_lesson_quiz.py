"""Issue 10 part 2: predict then reveal, checks of understanding, the recap, shareable step URLs,
the compute story, Fig. 4 as drawn, the gradient argument and the speed figure."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_ui.figures import compute_story_figure, fig4_figure, speed_figure
from explorer import lesson
from explorer.counts.explain import COMPONENT_LABELS

APP = str(Path(__file__).resolve().parent.parent / "app.py")
LEARN = "pages/Learn.py"


def _one_right_and_feedback(q) -> None:
    assert len(q.options) >= 2, q.key
    assert sum(o.right for o in q.options) == 1, q.key
    assert all(o.text and o.feedback for o in q.options), q.key
    assert len({o.text for o in q.options}) == len(q.options), q.key


def test_every_quiz_question_has_exactly_one_right_answer_and_feedback_for_every_option():
    assert len({q.key for q in lesson.QUIZ}) == len(lesson.QUIZ)
    for k in lesson.STEP_KEYS:
        assert 2 <= len(lesson.quiz(k)) <= 3, k
    for q in lesson.QUIZ:
        _one_right_and_feedback(q)
        for i, o in enumerate(q.options):
            res = lesson.judge(q, i)
            assert res["answered"] and res["right"] == o.right and o.feedback in res["text"]


def _slider_values(c) -> list:
    n = int(round((c.max - c.min) / c.step))
    return [round(c.min + i * c.step, 10) for i in range(0, n + 1, max(1, n // 4))]


@pytest.mark.parametrize("step", ["split", "transition", "cio"])
def test_predictions_are_judged_from_the_computed_numbers(step):
    c = lesson.get_step(step).controls[0]
    for v in _slider_values(c):
        values = {c.name: v}
        q = lesson.predictions(step, values)[0]
        _one_right_and_feedback(q)
        assert q.kind == "predict" and q.explain
        if step in ("split", "transition"):
            d, t = lesson._twin_stage(lesson.step_design(step, values))
            pct = 100 * (d["macs"] - t["macs"]) / t["macs"]
            right = q.options[q.right_index].text
            assert right.startswith("Not cheaper") or right.startswith("No") if pct >= 0 else \
                not (right.startswith("Not cheaper") or right.startswith("No")), (v, pct, right)
            assert f"{pct:+.1f} %" in q.explain


def test_the_plus_seven_percent_is_explained_by_the_components():
    (q,) = lesson.predictions("transition", {})
    story = lesson.component_story(lesson.step_design("transition", {}))
    ch = story["change"]
    assert sum(ch.values()) == story["total_design"] - story["total_twin"]
    assert ch["dense_3x3"] == 0 and ch["dense_1x1"] < 0 < ch["partial_transition"]
    assert ch["partial_transition"] > -ch["dense_1x1"]  # the partial transition outweighs the saving
    assert f"{story['pct']:+.1f} %" == "+7.0 %" and "+7.0 %" in q.explain and "partial transition adds" in q.explain
    d, t = lesson._twin_stage(lesson.step_design("transition", {}))
    assert story["total_design"] == d["macs"] and story["total_twin"] == t["macs"]
    fig = compute_story_figure(story, COMPONENT_LABELS)
    assert {tr.name for tr in fig.data} >= {"partial transition", "dense layers' 1×1 convs"}


def test_fusion_predictions_follow_the_stage_and_the_paper():
    q1, q2 = lesson.predictions("fusion", {})
    rows = {r["fusion"]: r for r in lesson.fusion_rows()}
    cheapest = min(("fusion_first", "fusion_last", "csp"), key=lambda f: rows[f]["stage_macs_pct"])
    assert q1.options[q1.right_index].text == lesson.FUSION_NAMES[cheapest]
    assert q2.options[q2.right_index].text == lesson.FUSION_NAMES["fusion_last"]  # -0.1 vs -1.5 points
    assert "maximize the difference of gradient combination" in q2.explain


def test_recap_scores_and_lists_what_to_revisit():
    right = {q.key: q.right_index for q in lesson.QUIZ}
    assert lesson.recap(right) == {"right": len(lesson.QUIZ), "answered": len(lesson.QUIZ),
                                   "total": len(lesson.QUIZ), "right_now": len(lesson.QUIZ),
                                   "predictions": (0, 0), "revisit": []}
    one_wrong = dict(right, split_gamma=0)
    r = lesson.recap(one_wrong)
    assert r["right"] == len(lesson.QUIZ) - 1 and [x[0] for x in r["revisit"]] == ["split"]
    assert lesson.recap({})["answered"] == 0


def test_a_first_answer_stays_committed_and_the_recap_counts_first_answers():
    """Issue 21.1: every first answer wrong, then right: the recap says 0 right at the first try (18 now)."""
    first, answers = {}, {}
    for q in lesson.QUIZ:
        wrong = (q.right_index + 1) % len(q.options)
        for i in (wrong, q.right_index):
            answers[q.key] = i
            lesson.commit(first, q, i)
        assert first[q.key]["index"] == wrong and not first[q.key]["right"]
    r = lesson.recap(answers, first)
    assert r["right"] == 0 and r["right_now"] == r["answered"] == r["total"] == len(lesson.QUIZ)
    assert len(r["revisit"]) == len(lesson.QUIZ)
    assert lesson.commit(first, lesson.QUIZ[0], None) is first[lesson.QUIZ[0].key]  # kept, not cleared


def test_a_committed_prediction_is_not_regraded_when_the_slider_moves():
    """Issue 21.1: a wrong 'Yes, cheaper' at ratio 1 stays wrong at ratio 0.25, where it would be right."""
    (q1,) = lesson.predictions("transition", {"transition_ratio": 1.0})
    yes = next(i for i, o in enumerate(q1.options) if o.text == "Yes, cheaper")
    first = {}
    rec = lesson.commit(first, q1, yes, {"transition_ratio": 1.0})
    assert not rec["right"] and rec["at"] == "partial transition ratio 1"
    (q2,) = lesson.predictions("transition", {"transition_ratio": 0.25})
    assert q2.options[yes].right  # the same answer is right at the new position...
    assert lesson.commit(first, q2, yes, {"transition_ratio": 0.25}) is rec and not rec["right"]  # ...not re-graded
    text = lesson.committed_text(rec)
    assert text.startswith("Your first answer (at partial transition ratio 1): “Yes, cheaper”. Not quite")
    now = lesson.now_text(q2, rec, {"transition_ratio": 0.25})
    assert now.startswith("Now, at partial transition ratio 0.25: the answer would be “Yes, cheaper”")
    assert lesson.now_text(q1, rec, {"transition_ratio": 1.0}) == ""
    short = lesson.committed_text(rec, short=True)
    assert q1.explain not in short and short in text and rec["explain"] == q1.explain
    assert lesson.recap({}, first)["predictions"] == (0, 1)


@pytest.mark.parametrize("ratio", [0.05, 0.5, 1.0])
def test_split_feedback_follows_the_numbers(ratio):
    """Issue 21.3: at split ratio 1 nothing is halved; the feedback says what the tiles show."""
    (q,) = lesson.predictions("split", {"split_ratio": ratio})
    nums = {n.label: n for n in lesson.step_numbers("split", {"split_ratio": ratio})}
    read = nums["Base channels read by the layers"].delta_pct
    for i in range(len(q.options)):
        text = lesson.judge(q, i)["text"]
        assert "halves" not in text and f"({read:+.1f} %)" in text
    if ratio == 1.0:
        assert "nothing is split" in lesson.split_feedback(lesson.step_design("split", {"split_ratio": 1.0}))


def test_the_split_shows_what_is_lost_as_gamma_grows():
    caps = [lesson.block_capacity(lesson.step_design("split", {"split_ratio": r})) for r in (0.05, 0.5, 1.0)]
    assert caps[0]["design"] < caps[1]["design"] < caps[2]["design"] == caps[2]["twin"]
    nums = {n.label: n for n in lesson.step_numbers("split", {"split_ratio": 0.05})}
    cap = nums["Block weights (capacity)"]
    assert cap.value == caps[0]["design"] and cap.delta_pct < -10
    assert "less capacity" in lesson.takeaway("split", {"split_ratio": 0.05})
    g = lesson.gamma_text()
    rows = {r["preset"]: r for r in lesson.gamma_rows()}
    assert rows["csppeleenet_gamma025"]["gamma"] == 0.25 and rows["csppeleenet_gamma025"]["split_ratio"] == 0.75
    for r in rows.values():
        assert f"{r['paper_pct']:+.1f} %" in g and f"{r['tool_pct']:+.1f} %" in g


@pytest.mark.parametrize("ratio", [0.25, 1.0, 2.0])
def test_step3_flags_the_width_and_compares_at_equal_width(ratio):
    """Issue 21.4: the partial transition ratio changes the stage's output width (44 ch at 0.25, 240 at 2)."""
    cfg = lesson.step_design("transition", {"transition_ratio": ratio})
    eq = lesson.equal_width(cfg)
    assert eq["output"] == {0.25: 44, 1.0: 128, 2.0: 240}[ratio] and eq["plain_output"] == 128
    plain_eq = lesson.lesson_design(compression=eq["compression"])
    assert lesson._stage(plain_eq).taps["output"][0] == eq["output"]
    d, _ = lesson._twin_stage(cfg)
    assert eq["plain_equal_macs"] == lesson._stage_summary(
        __import__("explorer.counts.analysis", fromlist=["summarize"]).summarize(plain_eq))["macs"]
    assert eq["pct_equal"] == pytest.approx(100 * (d["macs"] - eq["plain_equal_macs"]) / eq["plain_equal_macs"])
    text = lesson.takeaway("transition", {"transition_ratio": ratio})
    if ratio == 1.0:
        assert eq["width_share"] is None and "Mind the width" not in text
    else:
        assert f"outputs {eq['output']} channels instead of the plain stage's 128" in text
        assert f"{eq['pct_equal']:+.1f} % MACs" in text
        (q,) = lesson.predictions("transition", {"transition_ratio": ratio})
        assert "Mind the width" in q.explain
    nums = {n.label: n for n in lesson.step_numbers("transition", {"transition_ratio": ratio})}
    assert nums["MACs vs plain at equal width"].delta_pct == pytest.approx(eq["pct_equal"])


def test_the_headline_saving_is_explained_and_reproduced():
    """Issue 21.6: why the DenseNet-family CSP presets cost more, and a layout that reproduces the saving."""
    rows = {r["preset"]: r for r in lesson.headline_rows()}
    assert round(rows["cspdensenet121"]["tool_pct"], 1) == 8.6 and round(rows["csppeleenet"]["tool_pct"], 1) == 9.1
    pelee = rows["csppeleenet"]
    assert round(pelee["pool_first_pct"], 1) == -13.7 and round(pelee["paper_pct"], 1) == -12.7
    text = lesson.headline_text()
    assert "did not publish the transition widths" in text and "-13.7 %" in text and "-12.7 %" in text
    assert "+8.6 %" in text and "+9.1 %" in text
    ff, fl = rows["csppeleenet_fusion_first"], rows["csppeleenet_fusion_last"]
    assert f"{ff['paper_pct']:+.1f} %" in text and f"{fl['tool_pct']:+.1f} %" in text
    m = lesson.fusion_last_matching_ratio(fl["paper_pct"])
    assert abs(m["pct"] - fl["paper_pct"]) < 2 and f"ratio {m['ratio']:g}" in text


def test_url_params_round_trip_and_reject_bad_values():
    for k in lesson.STEP_KEYS:
        vals = lesson.defaults(k)
        assert lesson.parse_url_params(lesson.url_params(k, vals)) == (k, vals)
    assert lesson.parse_url_params({"l_step": "split", "l_split_ratio": "0.75"}) == ("split", {"split_ratio": 0.75})
    assert lesson.parse_url_params({"l_step": "split", "l_split_ratio": "7"}) == ("split", {})
    assert lesson.parse_url_params({"l_step": "split", "l_split_ratio": "x"}) == ("split", {})
    assert lesson.parse_url_params({"l_step": "fusion", "l_fusion": "bogus"}) == ("fusion", {})
    assert lesson.parse_url_params({"l_step": "nope"}) == (None, {})
    assert lesson.parse_url_params({"l_step": "cio", "l_partial": "0", "l_m": "12"}) == \
        ("cio", {"partial": False, "m": 12})


def test_fig4_speed_and_gradient_data():
    pts = lesson.fig4_points()
    assert pts[0]["preset"] == "peleenet" and any(p["approximate"] for p in pts) and any(
        not p["approximate"] for p in pts)
    assert len(fig4_figure(pts).data) == len(pts) + 2
    sp = lesson.speed_points()
    assert [p["fusion"] for p in sp] == list(lesson.FUSION_ORDER) and all(p["intensity"] > 0 for p in sp)
    assert speed_figure(sp).data[0].x == tuple(p["cio"] for p in sp)
    eq = lesson.update_equations()
    assert len(eq["densenet"]) == 2 and len(eq["cspdensenet"]) == 3 and r"\color" in eq["cspdensenet"][2]
    assert "g_0'" in lesson.LAYOUT_WEIGHTS["fusion_first"]["w_T"]
    assert "g_0'" not in lesson.LAYOUT_WEIGHTS["fusion_last"]["w_T"]
    assert "mixed" in lesson.gradient_caption("fusion_first", "w_T")
    for layout, ws in lesson.LAYOUT_WEIGHTS.items():
        for w in ws:
            dot = lesson.gradient_dot(layout, w)
            assert dot.startswith("digraph") and "dashed" in dot
            if shutil.which("dot"):
                r = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=30)
                assert r.returncode == 0, (layout, w, r.stderr)


# =========================================================================== the page (AppTest)
def _open(params: dict | None = None) -> AppTest:
    """The Learn page opened from an address with ``params`` (AppTest's first run is the default
    page, so the address is set for the run that switches to Learn, as a browser opening /Learn?...)."""
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    for k in list(at.query_params):
        del at.query_params[k]
    for k, v in (params or {}).items():
        at.query_params[k] = v
    at.switch_page(LEARN).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_a_shared_step_link_opens_that_step_with_its_values_and_keeps_the_design_params():
    at = _open({"l_step": "split", "l_split_ratio": "0.75"})
    assert at.subheader[0].value == lesson.get_step("split").title
    assert at.slider(key="learn_split_split_ratio").value == 0.75
    q = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert q["l_step"] == "split" and q["l_split_ratio"] == "0.75" and "preset" in q
    assert not at.error
    at.slider(key="learn_split_split_ratio").set_value(0.25).run()
    q = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert q["l_split_ratio"] == "0.25"
    at.button(key="learn_next").click().run()
    q = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert q["l_step"] == "transition" and "l_split_ratio" not in q and q["l_transition_ratio"] == "1"


def test_design_params_beside_lesson_params_still_open_the_design():
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in {"preset": "cspdensenet201", "l_step": "cio", "l_m": "12"}.items():
        at.query_params[k] = v
    at.run()  # a session's first run reads the design from the address: the lesson's params are no fields
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.session_state["design_preset"] == "cspdensenet201"
    q = {k: (v[-1] if isinstance(v, list) else v) for k, v in at.query_params.items()}
    assert not any(k.startswith("l_") for k in q)  # other pages drop the lesson's params
    for k, v in {"l_step": "cio", "l_m": "12"}.items():
        at.query_params[k] = v
    at.switch_page(LEARN).run()
    assert at.slider(key="learn_cio_m").value == 12
    assert at.session_state["design_preset"] == "cspdensenet201"


def test_predict_hides_the_key_numbers_until_reveal_then_judges_the_guess():
    at = _open({"l_step": "transition"})
    labels = [m.label for m in at.metric]
    assert "Stage MACs" not in labels and "Block output channels" in labels and not at.info
    assert at.button(key="learn_reveal_transition").disabled
    (q,) = lesson.predictions("transition", {})
    at.radio(key="learn_guess_predict_transition").set_value(q.right_index).run()
    at.button(key="learn_reveal_transition").click().run()
    assert "Stage MACs" in [m.label for m in at.metric]
    assert at.success and at.success[0].value.startswith("Your first answer (at partial transition ratio 1): ")
    assert "Right." in at.success[0].value and "+7.0 %" not in at.success[0].value  # short: details on demand
    assert any(m.value.startswith("This stage: +7.0 % MACs") for m in at.markdown)  # in "The numbers behind it"
    assert at.info[0].value == lesson.takeaway("transition", lesson.defaults("transition"))


def test_quiz_answers_survive_leaving_the_step_and_the_recap_scores_them():
    at = _open({"l_step": "dense"})
    qs = lesson.quiz("dense")
    at.radio(key=f"learn_quiz_{qs[0].key}").set_value(qs[0].right_index).run()
    wrong = (qs[1].right_index + 1) % len(qs[1].options)
    at.radio(key=f"learn_quiz_{qs[1].key}").set_value(wrong).run()
    texts = [s.value for s in at.success] + [w.value for w in at.warning]
    assert any(t.startswith("Right.") for t in texts) and any(t.startswith("Not quite") for t in texts)
    at.session_state["learn_step"] = lesson.STEP_KEYS[-1]  # the recap closes the lesson
    at.run()
    recap = " ".join(m.value for m in at.markdown)
    assert f"you answered **2 of {len(lesson.QUIZ)}** questions, **1** right at the first try" in recap
    assert qs[1].text in recap and qs[0].text not in recap
    at.session_state["learn_step"] = "dense"
    at.run()
    assert at.radio(key=f"learn_quiz_{qs[0].key}").value == qs[0].right_index


def test_page_keeps_a_revealed_prediction_when_the_slider_moves():
    at = _open({"l_step": "transition"})
    (q,) = lesson.predictions("transition", {})
    yes = next(i for i, o in enumerate(q.options) if o.text == "Yes, cheaper")  # wrong at ratio 1 (+7.0 %)
    at.radio(key="learn_guess_predict_transition").set_value(yes).run()
    at.button(key="learn_reveal_transition").click().run()
    assert at.warning and at.warning[0].value.startswith("Your first answer (at partial transition ratio 1)")
    at.slider(key="learn_transition_transition_ratio").set_value(0.25).run()
    assert not at.exception
    assert at.warning and "Yes, cheaper" in at.warning[0].value and not any(
        s.value.startswith("Your first answer") for s in at.success)  # not re-graded
    assert any(c.value.startswith("Now, at partial transition ratio 0.25: the answer would be “Yes, cheaper”")
               for c in at.caption)


def test_page_recap_counts_first_answers_after_a_changed_answer():
    at = _open({"l_step": "dense"})
    q = lesson.quiz("dense")[0]
    wrong = (q.right_index + 1) % len(q.options)
    at.radio(key=f"learn_quiz_{q.key}").set_value(wrong).run()
    at.radio(key=f"learn_quiz_{q.key}").set_value(q.right_index).run()
    assert any(c.value.startswith(f"Your first answer: “{q.options[wrong].text}”, not right") for c in at.caption)
    assert at.success and at.success[0].value.startswith("Right.")
    at.session_state["learn_step"] = lesson.STEP_KEYS[-1]
    at.run()
    recap = " ".join(m.value for m in at.markdown)
    assert "**0** right at the first try (after changing answers, 1 stands right)" in recap
    assert q.text in recap


@pytest.mark.parametrize("m", [1, 6, 16])
def test_step1_asks_before_its_numbers_and_says_why_duplicated_gradients_waste(m):
    """Issue 21.2: step 1 predicts before the numbers are on screen, with the paper's argument."""
    (q,) = lesson.predictions("dense", {"layers": m})
    _one_right_and_feedback(q)
    reads = lesson.feature_reads(lesson.step_design("dense", {"layers": m}))
    assert q.options[q.right_index].text.startswith(f"Every one of its {m} layer") and reads[0] == m
    hidden = ("Dense layers that read x₀", "Feature-map reads in the block")
    assert all(lesson.is_key_number("dense", n) for n in hidden)
    intro = lesson.get_step("dense").intro
    assert "repeatedly learn copied gradient information" in intro and "Predict first" in intro


def test_page_step1_hides_its_numbers_until_reveal():
    at = _open({"l_step": "dense"})
    labels = [m.label for m in at.metric]
    assert "Feature-map reads in the block" not in labels and "Stage MACs" in labels
    assert not at.get("plotly_chart") and not at.info
    at.button(key="learn_skip_dense").click().run()
    assert "Feature-map reads in the block" in [m.label for m in at.metric] and at.get("plotly_chart")
