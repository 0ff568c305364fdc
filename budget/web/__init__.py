"""The web dashboard ``budget serve`` answers at ``/``: server-rendered pages
over the same engine calls as the REST API (docs/dashboard.md)."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"


def mount(app: FastAPI) -> None:
    """Add the dashboard's pages, actions and static files to ``app``."""
    from budget.web import actions, pages

    app.include_router(pages.router)
    app.include_router(actions.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
