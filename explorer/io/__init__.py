"""Networks from files: bring your own network.

``darknet.py`` reads a Darknet ``.cfg`` into an analytic network (per-layer shapes, parameters, MACs,
Darknet's own BFLOPs, and a ``cspnet.plan.NetPlan`` with stem, stages and head that the counting
conventions and the summaries read); ``darknet_torch.py`` builds the real PyTorch model from it (it and
``family_torch.py`` are the only modules here that import torch); ``family.py`` is the ``darknet_cfg``
family (an imported cfg as a design, in the ``network`` field; declared in ``cspnet.families.PLUGINS``,
loaded by name when a design names it: importing this package registers nothing) and ``rewrite.py`` rewrites
a recognised CSP stage to another fusion.  Pure Python otherwise: no torch, no Streamlit.
"""
from .darknet import CfgError, DarknetNet, darknet_bflops, load_cfg, parse_cfg, summarize_net

__all__ = ["CfgError", "DarknetNet", "darknet_bflops", "load_cfg", "parse_cfg", "summarize_net"]
