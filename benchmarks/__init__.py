"""Benchmark scripts (not installed; run them as ``python benchmarks/<name>.py``)."""
