"""Text in: designs from presets, JSON files, ``key=value`` overrides and URL parameters
(``text``), and knob edits as a form types them (``edits``)."""
from explorer.design.text import (
    ALL_FIELDS,
    apply_overrides,
    format_value,
    from_query,
    load_design,
    parse_value,
    to_query,
    with_changes,
)

__all__ = ["ALL_FIELDS", "apply_overrides", "format_value", "from_query", "load_design", "parse_value", "to_query",
           "with_changes"]
