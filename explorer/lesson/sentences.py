"""The sentences with live numbers: each step's takeaway, the captions under its diagram and its arc
figure, and ``safe_step`` (numbers and takeaway together, a ConfigError turned into its message).
"""
from __future__ import annotations

from cspnet import ConfigError
from explorer.lesson.designs import (
    FUSION_NAMES,
    PLAIN,
    _pct,
    _plural,
    _stage,
    _twin_stage,
    feature_reads,
    stage_cio_parts,
)
from explorer.lesson.fusion import paper_number
from explorer.lesson.lineage import lineage_caption, lineage_verdict
from explorer.lesson.numbers import (
    _width_note,
    block_capacity,
    cio_formula,
    step_numbers,
    transition_break_even,
    width_sentence,
)
from explorer.lesson.steps import defaults, step_design


def takeaway(step_key: str, values: dict) -> str:
    """One sentence with the step's live numbers."""
    v = {**defaults(step_key), **(values or {})}
    cfg = step_design(step_key, v)
    if step_key == "dense":
        reads = feature_reads(cfg)
        m, n = len(reads), reads[0]
        who = {1: "its only dense layer", 2: "both dense layers"}.get(m, f"all {m} dense layers")
        grad = ("so its gradient gets 1 contribution from a dense layer" if n == 1 else
                f"so its gradient is a sum of {n} contributions from dense layers that saw the same features")
        return (f"With m = {_plural(m, 'layer')}, the block input x₀ is read by {who}, {grad} (the block's "
                f"concat reads it too); the block makes {_plural(sum(reads), 'feature-map read')} in all "
                "(m(m+1)/2).")
    if step_key == "split":
        sp = _stage(cfg)
        p2 = sp.taps["part2"][0]
        p1 = sp.taps["part1"][0] if "part1" in sp.taps else 0
        c = sp.taps["input"][0]
        if p1 == 0:
            return (f"With split ratio {cfg.split_ratio:g} all {c} channels go through the block: no bypass, "
                    "so every channel still collects the duplicated gradients (γ = 0).")
        cap = block_capacity(cfg)
        return (f"Split ratio {cfg.split_ratio:g} (γ = {1 - cfg.split_ratio:g}): {p2} of {c} channels go "
                f"through the block and collect its gradients; {p1} bypass it and get one clean gradient "
                "from the concat after the partial transition.  What it costs: the block's first layer learns "
                f"from {p2} channels instead of {c}, and its dense layers have "
                f"{_pct(cap['design'], cap['twin']):+.1f} % parameters against the plain block: as γ grows towards 1, "
                "less of the stage's input reaches the layers that learn features (less capacity).")
    if step_key == "transition":
        sp = _stage(cfg)
        d, t = _twin_stage(cfg)
        even = transition_break_even()
        tail = (f" On this stage CSP saves MACs for partial transition ratios up to {even:g}."
                if even is not None else " No ratio on the slider makes this stage cheaper than the plain one.")
        width = width_sentence(cfg)
        return (f"The partial transition turns the {sp.taps['block'][0]}-channel block output into "
                f"{sp.taps['partial_transition'][0]} channels before the concat; the stage costs "
                f"{_pct(d['macs'], t['macs']):+.1f} % MACs against the plain stage." + tail
                + (" " + width if width else ""))
    if step_key == "fusion":
        d, t = _twin_stage(cfg)
        f = v["fusion"]
        out = _stage(cfg).taps["output"][0]
        if f == "none":
            return (f"The plain stage: every channel goes through the dense block, then one transition "
                    f"({out} channels out).")
        width = _width_note(cfg)
        text = (f"{FUSION_NAMES[f]}: {_pct(d['macs'], t['macs']):+.1f} % MACs and {_pct(d['cio'], t['cio']):+.1f} % "
                "memory traffic on the lesson's stage (one DenseNet-121 stage"
                + (f"). {width}" if width else f", {out} channels out like the plain stage)."))
        p = paper_number(f)
        if p is not None:
            top1 = ("" if p["paper_top1_pts"] is None else
                    f" and {p['paper_top1_pts']:+.1f} percentage points of top-1 accuracy")
            text += (f" Whole networks are another scale: for CSPPeleeNet against PeleeNet the paper reports "
                     f"{p['paper_pct']:+.1f} % compute ({p['status_words']}){top1}; this app counts "
                     f"{p['tool_pct']:+.1f} % MACs for the same variant.")
        return text
    if step_key == "cio":
        c, m, k = int(v["c"]), int(v["m"]), int(v["k"])
        f = cio_formula(c, m, k)
        plain = stage_cio_parts(step_design("cio", {**v, "partial": False}))
        csp = stage_cio_parts(step_design("cio", {**v, "partial": True}))
        return (f"c = {c}, m = {m}, k = {k}: the partial block moves {f['saving_pct']:.1f} % less by the formula "
                "(the bound is 50 %, reached only when c·m dominates (m²+m)·k/2).  Built for real, the block "
                f"alone moves {_pct(csp['block'], plain['block']):+.1f} % (its 1×1 bottlenecks are counted too), "
                f"and the partial transition adds {csp['partial_transition']:,} elements that the plain stage "
                f"does not have, so the whole full-CSP stage, transitions included, moves "
                f"{_pct(csp['stage'], plain['stage']):+.1f} % against the plain stage.")
    if step_key == "lineage":
        return lineage_verdict(v)
    raise KeyError(step_key)


def diagram_caption(step_key: str, values: dict) -> str:
    """The caption under a step's diagram: what its colours mean for *this* design (the plain
    network has no bypass; split ratio 1 leaves part 1 empty; fusion last's transition is on the
    block path, with nothing after the concat)."""
    if step_key == "lineage":
        return lineage_caption(values)
    cfg = step_design(step_key, values)
    taps = _stage(cfg).taps
    head = "The small design as the Diagram page draws it"
    if cfg.fusion == "none":
        return (f"{head}: {PLAIN} has no split and no bypass, so every channel goes through the dense block "
                "and then the transition (green box); edges carry C×H×W.")
    bits = ["dashed blue is part 1 (the bypass)" if "part1" in taps else
            "part 1 is empty at split ratio 1, so there is no bypass (no dashed blue line)"]
    if cfg.fusion == "fusion_last":
        bits.append("orange the block path, with the transition (green box) on it before the concat and nothing "
                    "after the concat")
    elif cfg.fusion == "fusion_first":
        bits.append("orange the block path into the concat, green the transition after it")
    else:
        bits.append("orange the block path through the partial transition into the concat, green the transition "
                    "after it")
    return (f"{head}: " + "; ".join(bits) + "; the dense block's output already holds part 2 (its concat of x₀″ and "
            "every layer's features); edges carry C×H×W.")


def arcs_caption(graph: dict) -> str:
    """The caption under the arc figure, from its data."""
    text = ("Each dense layer reads every earlier feature map (orange arcs: the block input, read by every "
            "layer); the block's concat reads them all")
    steps = [a["label"] for a in graph.get("after") or []]
    if steps:
        text += "; then the rest of the stage, in the model's order: " + " → ".join(steps)
    if graph.get("part1_joins"):
        text += ("; dashed blue: part 1, which bypasses the block and joins at the concat"
                 + (" after the partial transition" if "partial transition" in steps else ""))
    elif graph.get("split"):
        text += "; part 1 is empty: nothing bypasses the block"
    return text + ". Hover an arc to see who reads what."


def safe_step(step_key: str, values: dict):
    """(numbers, takeaway, error): a ConfigError becomes its message (the sliders' ranges keep
    every value valid; this guards custom values)."""
    try:
        return step_numbers(step_key, values), takeaway(step_key, values), None
    except ConfigError as exc:
        return [], "", str(exc)


WORDS_PER_MINUTE = 200        # a student reading a technical text (a common reading-speed figure)
SECONDS_PER_QUESTION = 30     # reading the options, choosing, reading the feedback's first line
SECONDS_PER_STEP = 60         # moving the sliders and looking at the figures


def _words(text: str) -> int:
    return len((text or "").split())


def reading_minutes() -> dict:
    """How long the lesson takes, from its own texts at the defaults: ``core`` (each step's intro, its
    predictions and checks, its takeaway, plus a minute a step for the sliders and figures) and ``all``
    (also every reveal's explanation, each option's feedback and the step's longer texts: the fusion
    verdict, the headline saving, Fig. 4's γ = 0.25 points, why memory traffic matters; the roofline's words,
    which need this CPU measured, are left out).  Minutes,
    rounded up to 5.  The figures behind it: ``WORDS_PER_MINUTE``, ``SECONDS_PER_QUESTION``,
    ``SECONDS_PER_STEP``."""
    import math

    from explorer.lesson.figures import SPEED_TEXT
    from explorer.lesson.fusion import fusion_rows, fusion_verdict, gamma_text, headline_text
    from explorer.lesson.questions import predictions, quiz
    from explorer.lesson.steps import STEPS

    core_words = detail_words = questions = 0
    for s in STEPS:
        v = defaults(s.key)
        qs = list(predictions(s.key, v)) + list(quiz(s.key))
        questions += len(qs)
        core_words += _words(s.intro) + _words(takeaway(s.key, v)) + sum(
            _words(q.text) + sum(_words(o.text) for o in q.options) for q in qs)
        detail_words += sum(_words(q.explain) + max(_words(o.feedback) for o in q.options) for q in qs)
    detail_words += sum(_words(t) for t in (fusion_verdict(fusion_rows()), headline_text(), gamma_text(),
                                           SPEED_TEXT))
    core = core_words / WORDS_PER_MINUTE + (questions * SECONDS_PER_QUESTION + len(STEPS) * SECONDS_PER_STEP) / 60
    full = core + detail_words / WORDS_PER_MINUTE

    def up5(x: float) -> int:
        return int(5 * math.ceil(x / 5))

    return {"core": up5(core), "all": up5(full), "core_words": core_words, "detail_words": detail_words,
            "questions": questions}
