"""The real source of the plan the lesson's designs are built from (the page shows it): the model is generated
from this plan (``cspnet.graph_model``), so it is the code that defines the network."""
from __future__ import annotations

import inspect
import os


def stage_source(step_key: str | None = None) -> str:
    """The source of the functions that plan the lesson's stage, the stage's wiring first: DenseNet's stage
    (the fusion wiring around a dense block, then the dense block and its layers), or for step 6 the cross
    stage every lineage family is built from and the blocks it repeats."""
    if step_key == "lineage":
        from cspnet.families import _blocks, _crossstage

        funcs = [_crossstage.plan_stage, _blocks.plan_dark_block, _blocks.plan_bottleneck_3x3, _blocks.plan_conv_pair]
    else:
        from cspnet.families import _dense, densenet

        funcs = [_dense.plan_dense_stage, densenet.plan_block, densenet.record_block, densenet.plan_dense_layer,
                 densenet.plan_transition]
    root = os.path.dirname(os.path.dirname(os.path.dirname(inspect.getsourcefile(funcs[0]))))
    parts = []
    for fn in funcs:
        path = os.path.relpath(inspect.getsourcefile(fn), root)
        parts.append(f"# {path}\n" + inspect.getsource(fn))
    return "\n\n".join(parts)
