"""Shared Streamlit helpers for the pages: navigation, the current design (session + URL), messages.

Streamlit code lives here and in the pages; computation lives in ``explorer/``.
"""
