"""Teach, not just show (issue 10 part 2): 'predict, then reveal' questions whose right option is
computed from the engine's numbers, the static checks of understanding (``QUIZ``), grading (``judge``) and
the score with the steps to revisit (``recap``).  Content as data; the page lays it out.
"""
from __future__ import annotations

from dataclasses import dataclass

from cspnet import CSPConfig
from explorer.lesson.designs import (
    FUSION_NAMES,
    FUSION_ORDER,
    SHORT_NAMES,
    _pct,
    _plural,
    _stage,
    _twin_stage,
    feature_reads,
)
from explorer.lesson.fusion import fusion_rows, fusion_verdict, network_rows
from explorer.lesson.lineage import lineage_rows
from explorer.lesson.numbers import (
    cio_formula,
    cio_table,
    component_story,
    transition_break_even,
    width_sentence,
)
from explorer.lesson.steps import defaults, get_step, step_design


@dataclass(frozen=True)
class Option:
    text: str
    right: bool
    feedback: str                   # why this option is right or wrong


@dataclass(frozen=True)
class Question:
    key: str
    step: str
    text: str
    options: tuple
    explain: str = ""               # shown after the answer, whatever it was (predictions: the surprise)
    kind: str = "quiz"              # "quiz" (static) or "predict" (options judged from computed numbers)

    @property
    def right_index(self) -> int:
        return next(i for i, o in enumerate(self.options) if o.right)

    def replace_explain(self, explain: str) -> "Question":
        from dataclasses import replace

        return replace(self, explain=explain)


def _bucket_options(value: float, buckets: list) -> tuple:
    """Options from ``[(text, test(value) -> bool, feedback)]``: exactly the first bucket whose test
    holds is right."""
    hit = next(i for i, (_, test, _) in enumerate(buckets) if test(value))
    return tuple(Option(t, i == hit, f) for i, (t, _, f) in enumerate(buckets))


def _story_sentence(cfg: CSPConfig) -> str:
    """Where the stage's MAC change comes from, component by component (computed)."""
    from explorer.fmt import si

    s = component_story(cfg)
    ch = s["change"]
    dense = ch["dense_1x1"] + ch["dense_3x3"]
    bits = [f"the dense layers' 1×1 bottlenecks {'save' if dense < 0 else 'add'} {si(abs(dense), 'MAC')} (only they "
            "read the base channels)"]
    if ch["partial_transition"]:
        sp = _stage(cfg)
        bits.append(f"the partial transition adds {si(ch['partial_transition'], 'MAC')} (a 1×1 conv "
                    f"{sp.taps['block'][0]} → {sp.taps.get('partial_transition', sp.taps['block'])[0]} channels at "
                    f"{sp.taps['block'][1]}×{sp.taps['block'][2]}, which the plain stage does not have)")
    if ch["transition"]:
        bits.append(f"the transition {'saves' if ch['transition'] < 0 else 'adds'} {si(abs(ch['transition']), 'MAC')}")
    text = "; ".join(bits)
    return text[0].upper() + text[1:] + f": net {s['pct']:+.1f} %."


def split_feedback(cfg: CSPConfig) -> str:
    """Step 2's prediction feedback, from the numbers at the learner's split ratio: how many base channels
    the bottlenecks read against the plain stage, and what the partial transition adds (at split ratio 1
    nothing is split, so the bottlenecks read as much as before)."""
    from explorer.fmt import si

    sp = _stage(cfg)
    c, part2 = sp.taps["input"][0], sp.taps["part2"][0]
    ch = component_story(cfg)["change"]
    read = _pct(part2, c)
    if part2 == c:
        head = (f"At split ratio {cfg.split_ratio:g} nothing is split: the bottlenecks read all {c} base channels, as "
                f"in the plain stage ({read:+.1f} %), so the dense layers save nothing")
    else:
        head = (f"At split ratio {cfg.split_ratio:g} the bottlenecks read {part2} of the {c} base channels "
                f"({read:+.1f} %), which saves {si(-ch['dense_1x1'], 'MAC')} in the dense layers' 1×1 convs (the 3×3 "
                "convs are unchanged)")
    return head + (f"; the partial transition is a new conv that adds {si(ch['partial_transition'], 'MAC')}."
                   if ch.get("partial_transition") else ".")


def _fastest_question(v: dict) -> Question:
    """Step 5: which of the four layouts has the lowest time bound on the chosen device (computed)."""
    from explorer.lesson.roofline import DEVICE_NAMES, layout_roofline

    roof = layout_roofline(v, v["device"])
    rows = {r["fusion"]: r for r in roof["rows"]}

    def why(f: str) -> str:
        r = rows[f]
        return (f"{SHORT_NAMES[f]}: {r['bound_us']:,.1f} µs, {r['bound']}-bound ({r['macs']:,} MACs, "
                f"{r['bytes'] / 1e6:,.1f} MB moved)")

    fastest = roof["fastest"]
    regime = {r["bound"] for r in roof["rows"]}
    return Question(
        "predict_cio_fastest", "cio",
        f"On {DEVICE_NAMES[v['device']]}, which layout of this stage is fastest (the lowest time bound)?",
        tuple(Option(FUSION_NAMES[f], f == fastest, why(f) + ".") for f in FUSION_ORDER),
        f"On {roof['device_name']} (ridge {roof['ridge']:.1f} FLOP/byte) "
        + ({"memory": "every layout is memory-bound: the bound follows the bytes moved, not the MACs",
            "compute": "every layout is compute-bound: the bound follows the MACs"}[regime.pop()]
           if len(regime) == 1 else "some layouts are compute-bound, some memory-bound")
        + f"; the plain stage takes {rows['none']['bound_us']:,.1f} µs.  The roofline below shows all four.", "predict")


def predictions(step_key: str, values: dict) -> tuple:
    """The step's 'predict, then reveal' questions for the learner's ``values``:
    which option is right is computed from the engine's numbers, and so is the explanation."""
    v = {**defaults(step_key), **(values or {})}
    if step_key == "dense":
        cfg = step_design("dense", v)
        reads = feature_reads(cfg)
        m, n = len(reads), reads[0]
        why = (f"All {m} dense layers read x₀ (layer j reads x₀, x₁ … x₍ⱼ₋₁₎), so x₀'s gradient is a sum of "
               f"{_plural(n, 'contribution')}; the block makes {_plural(sum(reads), 'feature-map read')} in all.")
        return (Question("predict_dense", "dense",
                         f"In a dense block of {_plural(m, 'layer')} (m = {m}), how many dense layers send gradient "
                         "back into the block input x₀ during training?",
                         _bucket_options(n, [
                             (f"Every one of its {_plural(m, 'layer')}", lambda x: x == m, why),
                             ("Only the first layer, which reads x₀ directly", lambda x: x == 1, why),
                             (f"{m * (m + 1) // 2}, one per feature-map read", lambda x: True, why)]),
                         "Each of those layers saw the same features, so x₀'s update is made of copies: the "
                         "duplicated gradient information.", "predict"),)
    if step_key == "split":
        cfg = step_design("split", v)
        pct = _pct(*[x["macs"] for x in _twin_stage(cfg)])
        r = cfg.split_ratio
        why = split_feedback(cfg)
        return (Question("predict_split", "split",
                         f"At split ratio {r:g} only part 2 goes through the dense block. Will this full-CSP stage "
                         "need fewer MACs than the plain stage (no split)?",
                         _bucket_options(pct, [
                             ("Much cheaper: more than 10 % fewer MACs", lambda p: p < -10, why),
                             ("A little cheaper: up to 10 % fewer MACs", lambda p: p < 0, why),
                             ("Not cheaper: the same or more MACs", lambda p: True, why)]),
                         f"This stage: {pct:+.1f} % MACs against the plain stage (the bars below show each part).",
                         "predict"),)
    if step_key == "transition":
        cfg = step_design("transition", v)
        pct = _pct(*[x["macs"] for x in _twin_stage(cfg)])
        even = transition_break_even()
        return (Question("predict_transition", "transition",
                         f"With a partial transition ratio of {cfg.transition_ratio:g}, is the CSP stage cheaper "
                         "(fewer MACs) than the plain one?",
                         _bucket_options(pct, [
                             ("Yes, cheaper", lambda p: p < 0,
                              "The partial transition is small enough here to leave part of the split's saving."),
                             ("No, the same or more expensive", lambda p: True,
                              "The partial transition's extra conv at full resolution costs more than the split "
                              "saves.")]),
                         f"This stage: {pct:+.1f} % MACs. " + _story_sentence(cfg)
                         + (f" On this stage CSP is cheaper only for partial transition ratios up to {even:g}."
                            if even is not None else " No ratio on the slider makes it cheaper.")
                         + (" " + width_sentence(cfg) if width_sentence(cfg) else ""), "predict"),)
    if step_key == "fusion":
        rows = {r["fusion"]: r for r in fusion_rows()}
        net = {r["fusion"]: r for r in network_rows()}
        three = ("fusion_first", "fusion_last", "csp")
        cheapest = min(three, key=lambda f: rows[f]["stage_macs_pct"])
        two = ("fusion_first", "fusion_last")
        tops = {f: net[f]["paper_top1_pts"] for f in two}
        best = max(two, key=lambda f: tops[f])
        q1 = Question(
            "predict_fusion_compute", "fusion",
            "On the lesson's stage (one DenseNet-121 stage, counted here), which layout needs the fewest MACs?",
            tuple(Option(FUSION_NAMES[f], f == cheapest,
                         f"{SHORT_NAMES[f]}: {rows[f]['stage_macs_pct']:+.1f} % MACs against the plain stage"
                         + (f", with {rows[f]['output_channels']} channels out instead of "
                            f"{rows[f]['plain_output_channels']}" if rows[f]["output_channels"] !=
                            rows[f]["plain_output_channels"] else "") + ".") for f in three),
            "Full CSP pays for a partial transition and a transition; fusion first and fusion last have one "
            "transition each. " + fusion_verdict(list(rows.values()), list(net.values())).split(". Whole")[0] + ".",
            "predict")
        q2 = Question(
            "predict_fusion_accuracy", "fusion",
            "In the paper (Fig. 4, CSPPeleeNet on ImageNet), which of the two fusions loses less top-1 accuracy?",
            tuple(Option(FUSION_NAMES[f], f == best,
                         f"The paper: {SHORT_NAMES[f]} {tops[f]:+.1f} percentage points of top-1 "
                         f"({net[f]['status_words']}).") for f in two),
            f"Fusion last {tops['fusion_last']:+.1f} points, fusion first {tops['fusion_first']:+.1f} points: in "
            "fusion first the single transition after the concat mixes part 1's gradient with the dense layers' "
            "(a large amount of gradient information is reused); in fusion last the gradient flow is truncated. "
            "The paper's conclusion: 'the goal is to maximize the difference of gradient combination'.", "predict")
        return (q1, q2)
    if step_key == "cio":
        c, m, k = int(v["c"]), int(v["m"]), int(v["k"])
        f = cio_formula(c, m, k)
        table = {r["part"]: r for r in cio_table(v)}
        whole = table["whole stage, transitions included"]["change_pct"]
        return (Question("predict_cio", "cio",
                         f"With c = {c}, m = {m}, k = {k}: does the partial dense block move less memory (CIO) than "
                         "the dense block?",
                         _bucket_options(f["saving_pct"], [
                             ("Yes, about half as much (it saves 40 % or more)", lambda s: s >= 40,
                              "Only when the c·m term dominates, that is a wide base layer and a shallow block."),
                             ("Yes, but it saves well under half (less than 40 %)", lambda s: s > 0,
                              "The growth term (m²+m)·k/2 is the same in both blocks; only c·m is halved."),
                             ("No, it moves as much or more", lambda s: True,
                              "By the formula the partial block never moves more: only c·m changes, and it halves.")]),
                         f"By the formula the partial block moves {f['saving_pct']:.1f} % less ({f['partial']:,.0f} "
                         f"instead of {f['dense']:,.0f} channels per pixel): only c·m is halved, the growth term "
                         f"stays. But the whole full-CSP stage, with its partial transition, moves {whole:+.1f} % "
                         "against the plain stage.", "predict"), _fastest_question(v))
    if step_key == "lineage":
        n, w = int(v["blocks"]), int(v["width"])
        now = {r["key"]: r for r in lineage_rows(v)}["c2f"]
        more = {r["key"]: r for r in lineage_rows({**v, "blocks": n + 1})}["c2f"]
        grow = more["concat"] - now["concat"]
        return (Question("predict_lineage", "lineage",
                         f"C2f at W = {w} with {_plural(n, 'block')}: how does its concat change when you add "
                         "one block?",
                         _bucket_options(grow, [
                             ("It stays the same, like C3's", lambda g: g == 0,
                              "C3 concatenates only the last block's output, so its concat never grows."),
                             (f"It grows by part 2's width, {now['part2']} channels: linearly with n", lambda g:
                              g == now["part2"], "Every block adds one tap of W/2 channels to the concat, as each "
                              "dense layer adds k channels to a dense block's output."),
                             ("It doubles", lambda g: True, "Each block's output has W/2 channels, whatever n is.")]),
                         f"With one more block C2f's concat goes from {now['concat']} to {more['concat']} channels "
                         f"(+{grow}), and its transition reads that many: the concat grows with n, C3's does not.",
                         "predict"),)
    return ()


def judge(question: Question, index: int | None) -> dict:
    """The feedback for the learner's choice: ``{"answered", "right", "text"}``."""
    if index is None or not 0 <= index < len(question.options):
        return {"answered": False, "right": False, "text": ""}
    o = question.options[index]
    right = question.options[question.right_index]
    head = "Right. " if o.right else f"Not quite: the answer is “{right.text}”. "
    # a prediction's options are judged from the numbers: the right option's reason explains them
    why = right.feedback if question.kind == "predict" else o.feedback
    return {"answered": True, "right": o.right, "text": head + why + (" " + question.explain if
                                                                       question.explain else "")}


def _q(key, step, text, explain, *options) -> Question:
    return Question(key, step, text, tuple(Option(t, r, f) for t, r, f in options), explain)


QUIZ = (
    _q("dense_readers", "dense", "In a dense block with m = 6 layers, how many dense layers read the block input x₀?",
       "Every dense layer reads the concatenation of all earlier maps, x₀ included.",
       ("Only the first one", False, "The first reads only x₀, but every later layer reads x₀ too."),
       ("All 6", True, "Each dense layer reads [x₀, x₁, …, x₍ⱼ₋₁₎]: x₀ is in every one of them."),
       ("21", False, "21 = m(m+1)/2 is the number of all feature-map reads, not the readers of x₀.")),
    _q("dense_duplicated", "dense", "What does the paper call 'duplicated gradient information' (Eq. 2)?",
       "Eq. 2: w′ᵢ = f(wᵢ, g₀, g₁, …, g₍ᵢ₋₁₎).",
       ("Each layer's weight update reuses the gradients of all earlier layers' outputs g₀ … g₍ᵢ₋₁₎", True,
        "So many layers learn from copies of the same gradient information."),
       ("Gradients are computed twice in every training step", False,
        "The cost of backpropagation is not the point: it is what the updates are made of."),
       ("Each layer keeps two copies of its weights", False, "There is one set of weights per layer.")),
    _q("dense_growth", "dense", "How does the number of feature-map reads in a dense block grow with its depth m?",
       "Layer j reads j maps: 1 + 2 + … + m.",
       ("Linearly, m", False, "Each layer reads more maps than the one before it."),
       ("Quadratically, m(m+1)/2", True, "Step 1's slider shows it: 6 layers make 21 reads, 8 make 36."),
       ("It does not depend on m", False, "Each extra layer reads all earlier maps.")),
    _q("split_who", "split", "With split ratio 0.5, which channels collect the dense block's duplicated gradients?",
       "x₀ = [x₀′, x₀″]: part 2 (x₀″) enters the block.",
       ("Only part 2, the channels that go through the block", True,
        "Only the dense layers reuse gradients, and only part 2 is read by them."),
       ("Only part 1, the bypass", False, "Part 1 skips the block: it gets one gradient from the concat."),
       ("Both parts equally", False, "Part 1 is never read by a dense layer.")),
    _q("split_gamma", "split", "This app's split ratio is 0.75. What is the paper's partial ratio γ?",
       "γ = 1 − split ratio.",
       ("0.75", False, "The split ratio is the share that goes through the block; γ is the share that bypasses it."),
       ("0.25", True, "A quarter of the channels bypass the block."),
       ("1.33", False, "γ is a share of the channels, between 0 and 1.")),
    _q("split_cost", "split", "Which convs of the dense layers get cheaper when fewer channels enter the block?",
       "A dense layer is a 1×1 bottleneck (reads all earlier maps, writes bn_size·k) then a 3×3 conv (bn_size·k → k).",
       ("Only the 1×1 bottlenecks", True, "They read the base channels; the 3×3 convs read the bottleneck's "
        "bn_size·k channels, whatever the split."),
       ("Every conv, by the split ratio", False, "The 3×3 convs read bn_size·k = 128 channels, unchanged."),
       ("None: the split only changes the gradients", False,
        "The bottlenecks read fewer channels: see the compute story bars.")),
    _q("trans_where", "transition", "What does CSPDenseNet's partial transition (w_T) act on?",
       "x_T = w_T ∗ [x₀″, x₁, …, x_k], then x_U = w_U ∗ [x₀′, x_T].",
       ("The block path only, before the concat with part 1", True,
        "That is why its update sees only the block's gradients, not part 1's."),
       ("The concat of both parts", False, "That is the transition after the concat (w_U), or fusion first's."),
       ("Part 1 only", False, "Part 1 goes straight to the concat.")),
    _q("trans_cost", "transition", "Why can full CSP cost more MACs than the plain stage?",
       "The compute story bars on this step show it.",
       ("The partial transition is an extra 1×1 conv at the stage's full resolution", True,
        "At ratio 1 it keeps the block's width: here that outweighs the bottlenecks' saving."),
       ("It doubles the number of dense layers", False, "The block has the same m layers."),
       ("The split makes every conv wider", False, "The split makes the bottlenecks read fewer channels.")),
    _q("trans_eq4", "transition", "In Eq. 4, which gradients update w_U, the transition after the concat?",
       "w_U′ = f(w_U, g(x₀′), g(x_T)), where g(·) is the gradient of a map.",
       ("g(x₀′) and g(x_T): part 1's and the partial transition's", True,
        "The dense layers' gradients reach w_U only through x_T: the flow is truncated."),
       ("g₀ … g_k of every dense layer", False, "That is DenseNet's transition, or fusion first's."),
       ("None: w_U is not trained", False, "Every conv is trained.")),
    _q("fusion_first_grad", "fusion", "In fusion first, does one weight update mix part 1's gradient with the dense "
       "layers' gradients?", "Fusion first: x_T = w_T ∗ [x₀′, x₀″, x₁, …, x_k].",
       ("Yes: the single transition after the concat reads both parts", True,
        "Its update uses g(x₀′) together with g₀″, g₁ … gₖ: a large amount of gradient is reused."),
       ("No: the transition acts on the block path only", False, "That is fusion last."),
       ("No: part 1 has no gradient", False, "Part 1 feeds the transition, so it gets a gradient.")),
    _q("fusion_paper", "fusion", "Why does fusion last keep accuracy better than fusion first, in the paper's words?",
       "Sec. 3.1: 'the goal is to maximize the difference of gradient combination'.",
       ("The gradient flow is truncated, so gradient information is not reused", True,
        "Fusion last: top-1 drops only 0.1 percentage points; fusion first: it drops 1.5 points."),
       ("Fusion last has more parameters", False, "The paper credits the gradient flow, not the size."),
       ("Fusion last computes more", False, "Both save compute in the paper's Fig. 4.")),
    _q("fusion_width", "fusion", "In this app, why are fusion last's stage MACs not directly comparable with the "
       "others'?", "Step 4's caption gives the equal-width variant.",
       ("It outputs more channels: nothing after the concat sets its width", True,
        "The next stage would read more channels; the equal-width bars compare fairly."),
       ("It uses a different input size", False, "Every layout has the same 56×56 input."),
       ("It has no dense block", False, "All layouts have the same partial dense block.")),
    _q("cio_term", "cio", "Which term of the dense block's CIO, c·m + (m²+m)·k/2, does the partial block halve?",
       "Partial: (c·m + (m²+m)·k)/2 = c·m/2 + (m²+m)·k/2.",
       ("c·m", True, "Half of the base channels enter; the layers' own outputs are as many as before."),
       ("(m²+m)·k/2", False, "That growth term is the same in both blocks."),
       ("Both", False, "Then the saving would always be 50 %.")),
    _q("cio_bound", "cio", "At most, how much CIO can the partial dense block save by the formula?",
       "The saving is c·m/2 out of c·m + (m²+m)·k/2.",
       ("50 %", True, "Reached only when c·m dominates: a wide base layer and a shallow block."),
       ("100 %", False, "The dense layers still read and write their own features."),
       ("25 %", False, "With c large against m·k it approaches 50 %.")),
    _q("cio_latency", "cio", "Why do fewer MACs not always mean less time?",
       "See 'Why memory traffic matters' above.",
       ("On memory-bound hardware the time goes into moving feature maps, not multiply-adds", True,
        "That is why the paper counts CIO, and why a design can save MACs and not time."),
       ("MACs are always exactly proportional to time", False, "Only on compute-bound hardware, roughly."),
       ("Because BatchNorm dominates", False, "Norms are cheap; memory traffic is the usual limit.")),
    _q("lineage_fusion", "lineage", "In the paper's terms (Fig. 3), which fusion strategy are C3, C2f and ELAN?",
       "Each splits, runs blocks on part 2, concatenates, then applies one 1×1 transition.",
       ("Fusion first: concat, then one transition", True,
        "No partial transition on the block path; the only transition comes after the concat."),
       ("Fusion last: a transition on the block path, then concat", False,
        "Their block path goes straight into the concat; the transition comes after it."),
       ("Full CSP: partial transition, concat, transition", False,
        "That is CSPDarknet53's and Scaled-YOLOv4's BottleneckCSP, not C3, C2f or ELAN.")),
    _q("lineage_taps", "lineage", "What does C2f concatenate that C3 does not?",
       "C3's taps are 'last', C2f's 'all'.",
       ("Part 2 and every block's output, not only the last block's", True,
        "So its concat, and its transition's input, grow with the number of blocks."),
       ("Part 1", False, "Both concatenate part 1: that is the CSP bypass."),
       ("The stage input before the split", False, "Neither concatenates the unsplit input.")),
    _q("lineage_dense", "lineage", "C2f's concat of every tap is as wide as a dense block's output. Why does its "
       "compute still grow only linearly with the number of blocks?",
       "Compare the channels the last block reads with a dense layer's input.",
       ("Each block reads only the output before it; only the concat sees every tap", True,
        "A dense layer reads every earlier map, so its input grows; a C2f block's input stays W/2."),
       ("C2f has no 3×3 convs", False, "Its bottlenecks are 3×3 → 3×3."),
       ("The transition drops the extra channels before the concat", False,
        "The transition comes after the concat and reads all of it.")),
)


def quiz(step_key: str | None = None) -> tuple:
    return tuple(q for q in QUIZ if step_key is None or q.step == step_key)


def values_text(step_key: str, values: dict | None) -> str:
    """The step's slider positions in words: 'partial transition ratio 0.25' (selects and toggles that
    only choose what the diagram shows are left out); '' for a step without sliders."""
    v = {**defaults(step_key), **(values or {})}
    bits = []
    for c in get_step(step_key).controls:
        if c.kind != "slider":
            continue
        x = v[c.name]
        bits.append(f"{c.label[0].lower() + c.label[1:]} {x:g}" if isinstance(x, float) else
                    f"{c.label[0].lower() + c.label[1:]} {x}")
    return ", ".join(bits)


def commit(first: dict, question: Question, index: int | None, values: dict | None = None) -> dict | None:
    """Record the learner's **first** answer to ``question`` in ``first`` ({question key: record}) and
    return the record; a question already answered keeps its first record (a later answer, or a slider
    moved afterwards, never re-grades it).  ``index`` None records nothing.  The record keeps what was
    asked and judged then: ``{"key", "step", "question", "index", "option", "right", "text", "values",
    "at"}`` (``at``: the slider positions in words, '' for a static question)."""
    if question.key in first:
        return first[question.key]
    if index is None or not 0 <= index < len(question.options):
        return None
    res = judge(question, index)
    short = judge(question.replace_explain(""), index)["text"] if question.explain else res["text"]
    first[question.key] = {
        "key": question.key, "step": question.step, "question": question.text, "index": index,
        "option": question.options[index].text, "right": res["right"], "text": res["text"], "short": short,
        "explain": question.explain,
        "values": dict(values or {}), "at": values_text(question.step, values) if question.kind == "predict" else ""}
    return first[question.key]


def committed_text(record: dict, short: bool = False) -> str:
    """The first answer as kept: 'Your first answer (at split ratio 0.5): “…”.' and its grade then; ``short``:
    without the question's explanation (the page shows it on demand, the record keeps it as ``explain``)."""
    where = f" (at {record['at']})" if record.get("at") else ""
    return f"Your first answer{where}: “{record['option']}”. " + record["short" if short else "text"]


def now_text(question: Question, record: dict, values: dict | None) -> str:
    """For a prediction answered at other slider positions: what the answer is at the positions now, said
    as information, not as a grade ('' when the positions are those of the answer)."""
    if question.kind != "predict" or not record:
        return ""
    now = values_text(question.step, values)
    if now == record.get("at"):
        return ""
    right = question.options[question.right_index]
    return (f"Now, at {now}: the answer would be “{right.text}” ({right.feedback}) Your first answer keeps the grade "
            "it had where you gave it.")


def recap(answers: dict, first: dict | None = None) -> dict:
    """The score of the checks of understanding.  ``first`` ({question key: :func:`commit` record}) counts
    each question's **first** answer (a changed answer does not raise the score); without it, ``answers``
    ({question key: chosen index}) is read as first answers.  ``{"right", "answered", "total",
    "right_now", "predictions", "revisit": [(step key, step title, question text)]}``: ``right_now`` the
    answers as they stand after any change, ``predictions`` the first predictions' (right, answered);
    revisit lists the questions whose first answer was wrong or missing, in lesson order."""
    first = first if first is not None else {k: {"right": judge(q, answers.get(k))["right"]}
                                             for q in QUIZ for k in [q.key] if answers.get(k) is not None}
    right = answered = right_now = 0
    revisit = []
    for q in QUIZ:
        rec = first.get(q.key)
        answered += rec is not None
        right += bool(rec and rec["right"])
        right_now += judge(q, answers.get(q.key))["right"]
        if not (rec and rec["right"]):
            revisit.append((q.step, get_step(q.step).title, q.text))
    quiz_keys = {q.key for q in QUIZ}
    preds = [r for k, r in first.items() if k not in quiz_keys]
    return {"right": right, "answered": answered, "total": len(QUIZ), "right_now": right_now,
            "predictions": (sum(bool(r["right"]) for r in preds), len(preds)), "revisit": revisit}
