"""Real-model tier: builds the PyTorch model (live trace, agreement, memory budget, latency and the
plain-words verdicts on it, exports)."""
