"""The real source of the stage class the lesson's designs are built from (the page shows it)."""
from __future__ import annotations

import inspect


def stage_source(step_key: str | None = None) -> str:
    """The real source of the stage class the lesson's designs are built from, with its cspnet
    base classes (where the split, transitions and concat live), base class first: DenseNet's stage,
    or for step 6 the cross stage every lineage family is built from."""
    import os

    if step_key == "lineage":
        from cspnet.nn._crossstage import CrossStage as stage_cls
    else:
        from cspnet.nn.densenet import DenseStage as stage_cls

    root = os.path.dirname(os.path.dirname(inspect.getsourcefile(stage_cls)))
    parts = []
    for cls in reversed(stage_cls.__mro__):
        if not cls.__module__.startswith("cspnet"):
            continue
        path = os.path.relpath(inspect.getsourcefile(cls), os.path.dirname(root))
        parts.append(f"# {path}\n" + inspect.getsource(cls))
    return "\n\n".join(parts)
