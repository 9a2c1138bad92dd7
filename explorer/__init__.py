"""The analysis engine: counting, traces, latency, sweeps, charts, diagrams, exports and the CLI."""

from . import io as _io  # noqa: E402,F401 - registers the darknet_cfg family (cspnet.families.register_family)
