"""The project's own benchmark suite: ``python -m bench.run`` (see BENCHMARKS.md)."""
