"""The current design: kept in session_state, mirrored in the URL, shared by every page.

* ``design_cfg`` is always the last *valid* design (a ``CSPConfig``); ``design_preset`` the preset
  it started from (keeps URLs short: the preset plus the fields that differ).
* ``design_rev`` changes when the design is replaced from outside the knobs (a preset, a family
  switch, a click on the Tradeoff chart), telling the Design page to refill its widgets.
* A first visit reads the URL (``explorer.design.from_query``); a bad URL becomes a message and
  the default design.
"""
from __future__ import annotations

import gc
import threading
from pathlib import Path

import streamlit as st

from cspnet import CSPConfig, all_presets, get_preset
from explorer.design import from_query, to_query

from .messages import error_text

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PRESET = "cspdensenet121"

K_CFG = "design_cfg"
K_PRESET = "design_preset"
K_REV = "design_rev"
K_URL_ERROR = "design_url_error"
K_PENDING = "knob_pending"
K_ERRORS = "knob_errors"

# (script path relative to app.py, label, icon); pages whose file is absent are not listed
PAGES = (
    ("app.py", "Design", ":material/tune:"),
    ("pages/1_Diagram.py", "Diagram", ":material/account_tree:"),
    ("pages/2_Tradeoff.py", "Tradeoff", ":material/scatter_plot:"),
    ("pages/3_Latency.py", "Latency", ":material/timer:"),
    ("pages/4_Sweep.py", "Sweep", ":material/stacked_line_chart:"),
    ("pages/5_Learn.py", "Learn", ":material/school:"),
    ("pages/6_Paper.py", "Paper vs tool", ":material/menu_book:"),
)


def default_design() -> tuple[CSPConfig, str]:
    presets = all_presets()
    name = DEFAULT_PRESET if DEFAULT_PRESET in presets else next(iter(presets))
    return get_preset(name), name


def ensure_design() -> None:
    """On a session's first run: the design from the URL, or the default one."""
    ss = st.session_state
    if K_CFG in ss:
        return
    params = st.query_params.to_dict()
    cfg = preset = err = None
    if params:
        try:
            cfg, preset = from_query(params)
        except Exception as exc:  # ConfigError, or anything unexpected: a message, not a traceback
            err = error_text(exc)
    if cfg is None:
        cfg, preset = default_design()
    ss[K_CFG], ss[K_PRESET], ss[K_REV] = cfg, preset, 0
    ss[K_URL_ERROR] = err
    ss[K_PENDING], ss[K_ERRORS] = {}, {}


def design() -> CSPConfig:
    ensure_design()
    return st.session_state[K_CFG]


def preset() -> str | None:
    ensure_design()
    return st.session_state[K_PRESET]


def set_design(cfg: CSPConfig, preset_name: str | None = None, *, external: bool = True,
               keep_preset: bool = False) -> None:
    """Replace the design. ``external``: refill the Design page's widgets and drop pending edits."""
    ss = st.session_state
    ensure_design()
    ss[K_CFG] = cfg
    if not keep_preset:
        ss[K_PRESET] = preset_name
    if external:
        ss[K_REV] = ss.get(K_REV, 0) + 1
        ss[K_PENDING], ss[K_ERRORS] = {}, {}
    ss[K_URL_ERROR] = None


def query() -> dict:
    return to_query(design(), preset())


def sync_url() -> None:
    """Write the design into the URL (only when it differs, so no needless browser updates)."""
    q = query()
    if st.query_params.to_dict() != q:
        st.query_params.from_dict(q)


_FROZEN_PAGES: set = set()
_FREEZE_LOCK = threading.Lock()


def freeze_long_lived(page: str) -> None:
    """Once per page and process: move the objects alive now (the modules this page imported:
    torch, pandas, the engine) into the GC's permanent generation.

    Streamlit runs a full ``gc.collect()`` after every script run (``runner.postScriptGC``).  With
    torch and pandas loaded that walks some 200,000 long-lived objects: about 0.15 s of CPU per
    rerun, under the GIL, for every session (measured: 0.17 s of 0.2 s server CPU per knob change,
    so 30 users turning knobs saturated the server).  Frozen objects are still freed by reference
    counting; the collection after each run then walks only what the scripts made.  At most one
    freeze per page, so what it keeps is bounded.
    """
    if page in _FROZEN_PAGES:
        return
    with _FREEZE_LOCK:
        if page not in _FROZEN_PAGES:
            _FROZEN_PAGES.add(page)
            gc.collect()
            gc.freeze()


def existing_pages() -> list:
    return [p for p in PAGES if (ROOT / p[0]).exists()]


def page_setup(title: str, icon: str | None = None) -> CSPConfig:
    """Every page starts here: page config, the design, the URL, the sidebar navigation."""
    st.set_page_config(page_title=f"{title} · CSPNet Explorer", page_icon=icon or ":material/hub:",
                       layout="wide")
    freeze_long_lived(title)
    ensure_design()
    sync_url()
    _sidebar(title)
    err = st.session_state.get(K_URL_ERROR)
    if err:
        st.error(f"The link's design could not be opened ({err}). Showing the default design "
                 "instead.", icon=":material/link_off:")
    return design()


def _sidebar(current: str) -> None:
    cfg, q = design(), query()
    with st.sidebar:
        st.markdown("### CSPNet Explorer")
        for path, label, icon in existing_pages():
            st.page_link(path, label=label, icon=icon, query_params=q, disabled=False,
                         help=f"{label} page (keeps the current design)")
        st.divider()
        p = preset()
        modified = p is not None and p in all_presets() and get_preset(p) != cfg
        st.caption("Current design")
        st.markdown(f"**{cfg.name}**" + (" (modified)" if modified else "") +
                    f"  \n{cfg.family}, fusion `{cfg.fusion}`, split ratio {cfg.split_ratio:g}, "
                    f"input {cfg.input_size}")
