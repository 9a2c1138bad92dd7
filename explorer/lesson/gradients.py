"""The gradient argument (paper Eqs. 2 and 4, Fig. 3): which gradient terms each weight's update uses
in every layout, the weight updates as coloured LaTeX, the forward graph with those gradients drawn as
DOT, and its caption.
"""
from __future__ import annotations

from explorer.lesson.designs import FUSION_NAMES

GRAD_COLORS = {"part1": "#1f77b4", "block": "#ff7f0e", "dense": "#2ca02c", "trans": "#9467bd"}
LAYOUT_WEIGHTS = {
    # weight -> the gradient terms its update uses (Eqs. 2 and 4, and the paper's Fig. 3 text), k = 3
    "none": {"w_1": ["g_0"], "w_2": ["g_0", "g_1"], "w_3": ["g_0", "g_1", "g_2"],
             "w_T": ["g_0", "g_1", "g_2", "g_3"]},
    "csp": {"w_1": ["g_0''"], "w_2": ["g_0''", "g_1"], "w_3": ["g_0''", "g_1", "g_2"],
            "w_T": ["g_0''", "g_1", "g_2", "g_3"], "w_U": ["g_0'", "g_T"]},
    "fusion_first": {"w_1": ["g_0''"], "w_2": ["g_0''", "g_1"], "w_3": ["g_0''", "g_1", "g_2"],
                     "w_T": ["g_0'", "g_0''", "g_1", "g_2", "g_3"]},
    "fusion_last": {"w_1": ["g_0''"], "w_2": ["g_0''", "g_1"], "w_3": ["g_0''", "g_1", "g_2"],
                    "w_T": ["g_0''", "g_1", "g_2", "g_3"]},
}
# the feature map each gradient belongs to, and its colour group
GRAD_MAPS = {"g_0": ("x0", "block"), "g_0''": ("x0''", "block"), "g_0'": ("x0'", "part1"), "g_1": ("x1", "dense"),
             "g_2": ("x2", "dense"), "g_3": ("x3", "dense"), "g_T": ("xT", "trans")}


def grad_color(term: str) -> str:
    return GRAD_COLORS[GRAD_MAPS[term][1]]


def _tex_term(term: str) -> str:
    sub = {"g_0": "0", "g_0''": "0''", "g_0'": "0'", "g_1": "1", "g_2": "2", "g_3": "k", "g_T": "T"}[term]
    return r"{\color{" + grad_color(term) + r"}g_{" + sub + "}}"


def update_equations() -> dict:
    """LaTeX of the paper's weight updates: DenseNet (Eq. 2) and CSPDenseNet (Eq. 4), each gradient
    term coloured by where it comes from (orange the block input, green the dense layers' outputs,
    blue part 1, purple the partial transition's output)."""
    i_terms = (r"{\color{" + GRAD_COLORS["dense"] + r"}g_1, \ldots, g_{i-1}}")
    dense = [r"w_i' = f\big(w_i,\ " + _tex_term("g_0") + ", " + i_terms + r"\big)",
             r"w_T' = f\big(w_T,\ " + _tex_term("g_0") + r", {\color{" + GRAD_COLORS["dense"] + r"}g_1, \ldots, g_k}"
             + r"\big)"]
    csp = [r"w_i' = f\big(w_i,\ " + _tex_term("g_0''") + ", " + i_terms + r"\big)",
           r"w_T' = f\big(w_T,\ " + _tex_term("g_0''") + r", {\color{" + GRAD_COLORS["dense"]
           + r"}g_1, \ldots, g_k}\big)",
           r"w_U' = f\big(w_U,\ " + _tex_term("g_0'") + ", " + _tex_term("g_T") + r"\big)"]
    return {"densenet": dense, "cspdensenet": csp}


def gradient_dot(layout: str, weight: str) -> str:
    """DOT: the forward graph of a k = 3 block in ``layout`` (Fig. 3), with the gradients that reach
    ``weight`` drawn as coloured backward edges (dashed) from their feature maps to the weight."""
    weights = LAYOUT_WEIGHTS[layout]
    if weight not in weights:
        weight = next(iter(weights))
    split = layout != "none"
    x0 = "x0''" if split else "x0"
    n = []
    n.append('digraph G { rankdir=LR; bgcolor="transparent"; node [fontname="Helvetica", fontsize=11, '
             'shape=box, style="rounded,filled", fillcolor="#ffffff"]; edge [color="#888888"];')

    def node(name, label, color="#ffffff", shape="box"):
        n.append(f'"{name}" [label="{label}", fillcolor="{color}", shape={shape}];')

    def edge(a, b, **kw):
        attrs = ", ".join(f'{k}="{v}"' for k, v in kw.items())
        n.append(f'"{a}" -> "{b}"' + (f" [{attrs}]" if attrs else "") + ";")

    if split:
        node("x0", "x0")
        node("x0'", "x0' (part 1)")
        node("x0''", "x0'' (part 2)")
        edge("x0", "x0'")
        edge("x0", "x0''")
    else:
        node("x0", "x0")
    maps = [x0, "x1", "x2", "x3"]
    for i in (1, 2, 3):
        node(f"w_{i}", f"w_{i}", "#fde9d9")
        node(f"x{i}", f"x{i}", shape="ellipse")
        for j in range(i):
            edge(maps[j], f"w_{i}")
        edge(f"w_{i}", f"x{i}")
    node("w_T", "w_T (transition)" if layout in ("none", "fusion_first") else "w_T (partial transition)", "#e5f5e0")
    node("xT", "x_T", shape="ellipse")
    if layout == "fusion_first":
        for m in ["x0'"] + maps:
            edge(m, "w_T")
    else:
        for m in maps:
            edge(m, "w_T")
    edge("w_T", "xT")
    if layout == "csp":
        node("cat", "concat", shape="circle")
        edge("x0'", "cat")
        edge("xT", "cat")
        node("w_U", "w_U (transition)", "#e5f5e0")
        edge("cat", "w_U")
    elif layout == "fusion_last":
        node("cat", "concat (output)", shape="circle")
        edge("x0'", "cat")
        edge("xT", "cat")
    for term in weights[weight]:
        src = GRAD_MAPS[term][0]
        edge(src, weight, color=grad_color(term), style="dashed", penwidth="2.2", constraint="false",
             label=term.replace("_", ""), fontcolor=grad_color(term), fontsize="10")
    n.append(f'"{weight}" [penwidth=3, color="#d62728"];')
    n.append("}")
    return "\n".join(n)


def gradient_caption(layout: str, weight: str) -> str:
    terms = LAYOUT_WEIGHTS[layout].get(weight) or next(iter(LAYOUT_WEIGHTS[layout].values()))
    names = ", ".join(t.replace("_", "") for t in terms)
    mixed = any(GRAD_MAPS[t][1] == "part1" for t in terms) and any(GRAD_MAPS[t][1] in ("dense", "block")
                                                                     for t in terms)
    return (f"{FUSION_NAMES[layout]}: the update of {weight} uses {names}."
            + (" Part 1's gradient is mixed with the dense layers' gradients in this one update: reused gradient "
               "information." if mixed else ""))
