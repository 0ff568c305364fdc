"""Use cases: budgets and policies, allocate, record, release, alerts, summaries."""
