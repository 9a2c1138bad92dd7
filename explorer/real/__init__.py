"""Real-model tier: builds the PyTorch model (live trace, agreement, memory budget, latency, exports)."""
