"""The current design: kept in session_state, mirrored in the URL, shared by every page; and the
frame the router (app.py) draws around every page.

* ``design_cfg`` is always the last *valid* design (a ``CSPConfig``); ``design_preset`` the preset
  it started from (keeps URLs short: the preset plus the fields that differ).
* ``design_rev`` changes when the design is replaced from outside the knobs (a preset, a family
  switch, a click on the Tradeoff chart), telling the Design page to refill its widgets.
* A first visit reads the URL (``explorer.design.from_query``); a bad URL becomes a message and
  the default design.
"""
from __future__ import annotations

import gc
import sys
import threading
import types
from typing import NoReturn

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from cspnet import CSPConfig, all_presets, get_preset
from cspnet.config import FIELDS
from explorer.design import from_query, to_query

from .messages import error_text

DEFAULT_PRESET = "cspdensenet121"

K_CFG = "design_cfg"
K_PRESET = "design_preset"
K_REV = "design_rev"
K_URL_ERROR = "design_url_error"
K_PENDING = "knob_pending"
K_ERRORS = "knob_errors"
K_MEASURED = "measured_models"   # latency records of the models measured in this session (Latency page)
MAX_MEASURED = 20

# the Design page, as st.navigation registers it (app.py): where a click elsewhere opens a design
DESIGN_PAGE = "pages/Design.py"
# the Learn page keeps its own params in the address, beside the design's: ``l_step``, ``l_<control>``
# (explorer.lesson.url_params); the Compare page its ``cmp1``..``cmp4``, ``cmpdevice``, ``cmpsize``.  They are no
# design fields: ensure_design ignores them, and sync_url keeps them while their page runs (and drops them elsewhere).
PAGE_PARAM_PREFIX = {"Learn": "l_", "Compare": "cmp"}


def _page_url_path() -> str | None:
    """The url_path of the page st.navigation picked for this run (None before it, or unknown)."""
    ctx = get_script_run_ctx()
    if ctx is None:
        return None
    info = ctx.pages_manager.get_pages().get(ctx.page_script_hash) or {}
    return info.get("url_pathname")


def _own_params(params: dict) -> dict:
    """The current page's own params (see PAGE_PARAM_PREFIX) in ``params``."""
    prefix = PAGE_PARAM_PREFIX.get(_page_url_path() or "")
    return {k: v for k, v in params.items() if prefix and k.startswith(prefix)}


def _design_params(params: dict) -> dict:
    prefixes = tuple(PAGE_PARAM_PREFIX.values())
    return {k: v for k, v in params.items() if not k.startswith(prefixes)}


def default_design() -> tuple[CSPConfig, str]:
    presets = all_presets()
    name = DEFAULT_PRESET if DEFAULT_PRESET in presets else next(iter(presets))
    return get_preset(name), name


def ensure_design() -> None:
    """On a session's first run: the design from the URL, or the default one."""
    ss = st.session_state
    if K_CFG in ss:
        return
    params = _design_params(st.query_params.to_dict())
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
    """Write the design into the URL (only when it differs, so no needless browser updates); the
    current page's own params (PAGE_PARAM_PREFIX: the Learn page's ``l_*``) are kept."""
    current = st.query_params.to_dict()
    q = {**query(), **_own_params(current)}
    if current != q:
        st.query_params.from_dict(q)


_FROZEN_PAGES: set = set()
_FREEZE_LOCK = threading.Lock()
_FROZEN_MODULES = [0]      # len(sys.modules) at the last freeze
NEW_MODULES_TO_FREEZE = 100  # torch alone brings some 1,000 modules; a page's own imports far fewer


def freeze_long_lived(page: str) -> None:
    """After a page's first run, and after a wave of imports: move the objects alive now (the
    modules imported so far: torch, pandas, the engine) into the GC's permanent generation.

    Streamlit runs a full ``gc.collect()`` after every script run (``runner.postScriptGC``).  With
    torch and pandas loaded that walks a few hundred thousand long-lived objects on every rerun,
    under the GIL, for every session: most of the server's CPU per knob change, enough for a class
    turning knobs to saturate it (figures in the README).  Frozen objects are still freed by reference
    counting; the collection after each run then walks only what the scripts made.  At most one
    freeze per page, plus one each time NEW_MODULES_TO_FREEZE more modules were imported (torch is
    imported on demand: a live trace, a diagram export), so what it keeps is bounded.
    """
    if page in _FROZEN_PAGES and len(sys.modules) < _FROZEN_MODULES[0] + NEW_MODULES_TO_FREEZE:
        return
    with _FREEZE_LOCK:
        if page not in _FROZEN_PAGES or len(sys.modules) >= _FROZEN_MODULES[0] + NEW_MODULES_TO_FREEZE:
            _FROZEN_PAGES.add(page)
            _FROZEN_MODULES[0] = len(sys.modules)
            gc.collect()
            gc.freeze()


def open_on_design_page() -> NoReturn:
    """Show the current design on the Design page (after ``set_design``), its URL included."""
    st.switch_page(DESIGN_PAGE, query_params=query())


# ----------------------------------------------------------------------------- the router's frame
def leave_legacy_run() -> None:
    """On Streamlit's legacy multipage run, run the router (app.py) here in its place and stop the
    script; otherwise do nothing.  The first call of app.py and (through :func:`page`) of every page.

    Why: a folder named ``pages/`` next to app.py makes Streamlit set the class attribute
    ``PagesManager.uses_pages_directory`` at process start, and while it is True the script
    runner takes its v1 path (``_mpa_v1`` in streamlit/runtime/scriptrunner/script_runner.py):
    it routes the URL itself over the files of pages/ and runs the file it found *directly* (a
    page without app.py: no frame, no sidebar, no design).  ``st.navigation`` sets the attribute
    to False, so only the first script run of a server process is affected (and every AppTest
    run: AppTest resets the attribute).  Here that run leaves the v1 path: the attribute becomes
    False and app.py runs in place of what v1 started, so st.navigation routes the request and
    runs the page inside the frame, in this same run.  (Not ``st.rerun()``: a rerun drops a
    button's click, and would lose the page when v1 had not found it.)

    v1 must find every page a URL names, or it shows "Page not found" before app.py runs: so
    each page's file name equals its ``url_path`` (pages/Diagram.py is served at /Diagram).
    """
    if not PagesManager.uses_pages_directory:
        return
    PagesManager.uses_pages_directory = False
    ctx = get_script_run_ctx()
    main_script = ctx.pages_manager.main_script_path
    module = types.ModuleType("__main__")
    module.__dict__["__file__"] = main_script
    exec(ctx.pages_manager.get_page_script_byte_code(main_script), module.__dict__)  # noqa: S102 - app.py
    st.stop()  # what v1 started (app.py or a page) must not draw again


def page() -> CSPConfig:
    """A page's first call: the current design (after leaving Streamlit's legacy first run)."""
    leave_legacy_run()
    return design()


def frame() -> None:
    """What every page shows around it, drawn once by the router before the page runs: the design
    (from the URL on a session's first run), the URL kept in step with it, the sidebar summary, and a
    message when the link's design could not be opened."""
    ensure_design()
    sync_url()
    _sidebar()
    err = st.session_state.get(K_URL_ERROR)
    if err:
        st.error(f"The link's design could not be opened ({err}). Showing the default design "
                 "instead.")


def _sidebar() -> None:
    cfg = design()
    with st.sidebar:
        p = preset()
        modified = p is not None and p in all_presets() and get_preset(p) != cfg
        st.caption("Current design")
        split = f"split ratio {cfg.split_ratio:g}, " if FIELDS["split_ratio"].reads(cfg.family) else ""
        st.markdown(f"**{cfg.name}**" + (" (modified)" if modified else "") +
                    f"  \n{cfg.family}, fusion `{cfg.fusion}`, {split}input {cfg.input_size}")


def remember_measured(record: dict) -> None:
    """Keep the models of a Latency measurement (the design and what it was compared with) for the
    Tradeoff page's "measured here" axis: this session only, the last MAX_MEASURED models."""
    models = [record["design"]] + ([record["twin"]] if record["twin"]["config"] != record["design"]["config"] else [])
    ss = st.session_state
    ss[K_MEASURED] = (ss.get(K_MEASURED, []) + models)[-MAX_MEASURED:]


def measured() -> list:
    return st.session_state.get(K_MEASURED, [])
