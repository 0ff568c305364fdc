"""Insight: rollups kept by the write path, reports, forecasts, usage analysis,
model recommendations and budget-aware routing (see docs/insight.md)."""
