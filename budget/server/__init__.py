"""The server: the served app (:mod:`budget.server.app`: REST API, /mcp,
dashboard), its lifespan, the service-registry client, the housekeeping
runner, the bind checks and the uvicorn runner (:mod:`budget.server.run`).
It builds on :mod:`budget.api`, :mod:`budget.mcp` and :mod:`budget.web`;
none of them imports it. Importing this package imports none of its modules
(a uvicorn worker imports :mod:`budget.server.factory` before it can answer)."""
