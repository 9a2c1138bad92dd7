"""CSPNet Explorer: the entry point, the router and the frame around every page.

Sets the page up once (page config, the current design from the URL, the URL kept in step with
the design, the sidebar with the navigation and the design's summary), then runs the page the URL
names.  The pages (pages/*.py) draw widgets and layout only; numbers come from explorer/.

Each page's file name equals its ``url_path`` (see ``app_ui.state.leave_legacy_run``); the
URLs are those of the shared links made so far: ``/?preset=...`` (Design), ``/Diagram?...`` etc.
No icons anywhere: a Material icon as the page icon is fetched from a font server on the internet,
and emoji need an emoji font, which a Linux machine may lack (then they are empty boxes).
"""
from __future__ import annotations

import streamlit as st

from app_ui import state


def main() -> None:
    page = st.navigation([
        st.Page("pages/Design.py", title="Design", url_path="Design", default=True),
        st.Page("pages/Diagram.py", title="Diagram", url_path="Diagram"),
        st.Page("pages/Tradeoff.py", title="Tradeoff", url_path="Tradeoff"),
        st.Page("pages/Compare.py", title="Compare", url_path="Compare"),
        st.Page("pages/Latency.py", title="Latency", url_path="Latency"),
        st.Page("pages/Sweep.py", title="Sweep", url_path="Sweep"),
        st.Page("pages/Learn.py", title="Learn", url_path="Learn"),
        st.Page("pages/Paper.py", title="Paper vs tool", url_path="Paper"),
    ], position="sidebar", expanded=True)
    st.set_page_config(page_title=f"{page.title} · CSPNet Explorer", layout="wide")
    state.frame()
    page.run()
    state.freeze_long_lived(page.title)  # after the run: the modules it imported are loaded


state.leave_legacy_run()  # Streamlit's legacy first run of a process: see app_ui.state
main()
