"""Analytic tier: counting conventions, per-stage analysis, sweeps and diagrams, from the config
alone (no model build, no torch)."""
