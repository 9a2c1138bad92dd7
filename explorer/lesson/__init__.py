"""The guided lesson on the CSPNet idea: text, per-step designs and live numbers (no Streamlit).

Six steps, each built around one small design (one DenseNet stage, by default DenseNet-121's
first dense block: 64 input channels at 56x56, 6 layers, growth rate 32; step 6: one stage of each of
three modern descendants, on the same 64-channel 56x56 input):

1. the dense block and its duplicated gradient information;
2. the split (part 1 bypasses, part 2 goes through the block; split ratio vs the paper's gamma);
3. the partial transition (truncating the gradient flow);
4. fusion first vs fusion last vs full CSP (paper Fig. 3 and Fig. 4);
5. memory traffic: the paper's CIO formula for a dense block and a partial dense block, beside the
   real stage's CIO with its transitions;
6. where CSP went: one stage of YOLOv5's C3, YOLOv8's C2f and YOLOv7's ELAN at the same width, each
   the paper's fusion first with other taps, and C2f's concat of every tap beside a dense block's output.

Every number shown is computed here from the engine (``cspnet.plan_network``,
``explorer.counts.analysis``, ``explorer.counts.conventions``) for the values the learner picked: nothing is a
stored result except the paper's own published numbers, read from the published data set through
``explorer.paper.reproduce.fusion_ablation`` (the same values, with the same status, as the Paper
page) and labelled as such.  The lesson's stage (one DenseNet-121 stage) and whole networks
(CSPPeleeNet against PeleeNet) are kept apart: they are different scales.  The growth rate is *k*
everywhere (as on the Design page; the paper's CIO formula writes it *d*).

One concern per module; this package re-exports their public names, so ``from explorer import lesson``
and ``lesson.takeaway(...)`` read as before:

* ``designs``: the lesson's small designs (steps 1-5's stage, step 6's lineage stages), the fusion and
  lineage names, and what every step reads from their plans;
* ``steps``: the six steps as content (text, controls, paper references) and ``step_design``;
* ``numbers``: each step's live numbers, the paper's CIO formula and step 5's table, the compute story;
* ``fusion``: step 4's layouts on the lesson's stage and the paper's Fig. 4 ablation on whole networks;
* ``lineage``: step 6, C3, C2f and ELAN against a dense block;
* ``sentences``: the takeaways and captions; ``safe_step``;
* ``figures``: the figures' data (dense connectivity, the step's DOT, MACs against memory traffic);
* ``gradients``: the gradient argument (Eqs. 2 and 4) as LaTeX and DOT;
* ``questions``: predictions, the quiz, grading and the recap;
* ``roofline``: step 5's four layouts on the roofline of this CPU, an H100 and a small GPU;
* ``own``: every step on the design open on the Design page, where the step applies (and why not, where not);
* ``urls``: the lesson's part of a shareable address;
* ``source``: the stage class's real source.

The page (``pages/Learn.py``) only lays this out.
"""
from __future__ import annotations

from explorer.lesson.designs import (
    BASE,
    FUSION_NAMES,
    FUSION_ORDER,
    FUSION_SETTINGS,
    LINEAGE_BASE,
    LINEAGE_BLOCK_WORDS,
    LINEAGE_CHOICES,
    LINEAGE_NAMES,
    LINEAGE_ORDER,
    LINEAGE_SHORT,
    PLAIN,
    SHORT_NAMES,
    STAGE,
    block_cio_elements,
    dense_layers,
    feature_reads,
    lesson_design,
    lineage_design,
    plan_cio_channels,
    stage_cio_parts,
)
from explorer.lesson.designs import _stage as _stage
from explorer.lesson.designs import _stage_summary as _stage_summary
from explorer.lesson.designs import _twin_stage as _twin_stage
from explorer.lesson.figures import (
    AFTER_BLOCK,
    MAX_DRAWN_LAYERS,
    SPEED_TEXT,
    dense_graph,
    speed_points,
    stage_dot,
)
from explorer.lesson.fusion import (
    PAPER_SOURCE,
    PELEE_PRESETS,
    STATUS_WORDS,
    equal_width_ratio,
    fig4_points,
    fusion_last_matching_ratio,
    fusion_rows,
    fusion_verdict,
    gamma_rows,
    gamma_text,
    headline_rows,
    headline_text,
    network_rows,
    paper_number,
)
from explorer.lesson.gradients import (
    GRAD_COLORS,
    GRAD_MAPS,
    LAYOUT_WEIGHTS,
    grad_color,
    gradient_caption,
    gradient_dot,
    update_equations,
)
from explorer.lesson.lineage import (
    dense_block_out,
    lineage_caption,
    lineage_growth,
    lineage_rows,
    lineage_stage,
    lineage_verdict,
)
from explorer.lesson.numbers import (
    KEY_NUMBERS,
    Number,
    block_capacity,
    cio_formula,
    cio_table,
    component_story,
    equal_width,
    is_key_number,
    shortest_ratio,
    step_numbers,
    transition_break_even,
    width_sentence,
)
from explorer.lesson.own import (
    own_step,
)
from explorer.lesson.questions import (
    QUIZ,
    Option,
    Question,
    commit,
    committed_text,
    judge,
    now_text,
    predictions,
    quiz,
    recap,
    split_feedback,
    values_text,
)
from explorer.lesson.roofline import (
    DEVICE_NAMES,
    DEVICES,
    EXAMPLE,
    all_rooflines,
    layout_design,
    layout_points,
    layout_roofline,
    macs_fall_time_does_not,
    roofline_text,
)
from explorer.lesson.sentences import (
    arcs_caption,
    diagram_caption,
    reading_minutes,
    safe_step,
    takeaway,
)
from explorer.lesson.source import (
    stage_source,
)
from explorer.lesson.steps import (
    STEP_KEYS,
    STEPS,
    Control,
    Step,
    defaults,
    get_step,
    step_design,
)
from explorer.lesson.urls import (
    URL_PREFIX,
    parse_url_params,
    url_params,
)

__all__ = [
    "STAGE",
    "BASE",
    "PLAIN",
    "SHORT_NAMES",
    "FUSION_ORDER",
    "FUSION_NAMES",
    "FUSION_SETTINGS",
    "LINEAGE_ORDER",
    "LINEAGE_NAMES",
    "LINEAGE_SHORT",
    "LINEAGE_CHOICES",
    "LINEAGE_BLOCK_WORDS",
    "LINEAGE_BASE",
    "dense_layers",
    "feature_reads",
    "plan_cio_channels",
    "block_cio_elements",
    "stage_cio_parts",
    "lesson_design",
    "lineage_design",
    "Control",
    "Step",
    "step_design",
    "STEPS",
    "STEP_KEYS",
    "get_step",
    "defaults",
    "Number",
    "cio_formula",
    "step_numbers",
    "cio_table",
    "transition_break_even",
    "block_capacity",
    "equal_width",
    "shortest_ratio",
    "width_sentence",
    "component_story",
    "KEY_NUMBERS",
    "is_key_number",
    "PAPER_SOURCE",
    "PELEE_PRESETS",
    "STATUS_WORDS",
    "equal_width_ratio",
    "fusion_rows",
    "network_rows",
    "paper_number",
    "fusion_verdict",
    "fig4_points",
    "fusion_last_matching_ratio",
    "gamma_rows",
    "gamma_text",
    "headline_rows",
    "headline_text",
    "lineage_stage",
    "dense_block_out",
    "lineage_rows",
    "lineage_growth",
    "lineage_verdict",
    "lineage_caption",
    "takeaway",
    "diagram_caption",
    "arcs_caption",
    "safe_step",
    "reading_minutes",
    "MAX_DRAWN_LAYERS",
    "AFTER_BLOCK",
    "stage_dot",
    "dense_graph",
    "speed_points",
    "SPEED_TEXT",
    "GRAD_COLORS",
    "LAYOUT_WEIGHTS",
    "GRAD_MAPS",
    "grad_color",
    "update_equations",
    "gradient_dot",
    "gradient_caption",
    "Option",
    "Question",
    "predictions",
    "judge",
    "QUIZ",
    "quiz",
    "recap",
    "commit",
    "committed_text",
    "now_text",
    "values_text",
    "split_feedback",
    "DEVICES",
    "DEVICE_NAMES",
    "EXAMPLE",
    "layout_design",
    "layout_points",
    "layout_roofline",
    "all_rooflines",
    "macs_fall_time_does_not",
    "roofline_text",
    "URL_PREFIX",
    "url_params",
    "parse_url_params",
    "stage_source",
    "own_step",
]
