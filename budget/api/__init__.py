"""The REST service: FastAPI under /api/v1, thin over the engine."""
