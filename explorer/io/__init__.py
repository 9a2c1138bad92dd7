"""Networks from files: bring your own network.

``darknet.py`` reads a Darknet ``.cfg`` into an analytic network (per-layer shapes, parameters, MACs,
Darknet's own BFLOPs, and a ``cspnet.plan.NetPlan`` with stem, stages and head that the counting
conventions and the summaries read); ``darknet_torch.py`` builds the real PyTorch model from it (the
only module here that imports torch).  Pure Python otherwise: no torch, no Streamlit.
"""
from .darknet import CfgError, DarknetNet, darknet_bflops, load_cfg, parse_cfg, summarize_net

__all__ = ["CfgError", "DarknetNet", "darknet_bflops", "load_cfg", "parse_cfg", "summarize_net"]
