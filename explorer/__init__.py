"""The analysis engine: counting, traces, latency, sweeps, charts, diagrams, exports and the CLI."""
