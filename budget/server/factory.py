"""The app factory each uvicorn worker calls, carrying the parent's settings.

A worker unpickles this (with its settings) as it starts, before it answers
its supervisor's health checks, so this module imports nothing heavy: the
app's modules load when the worker calls the factory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from budget.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI


@dataclass(frozen=True)
class AppFactory:
    """Builds a worker's app, which opens its own service from ``settings`` at startup."""

    settings: Settings

    def __call__(self) -> FastAPI:
        from budget.server.app import create_app

        return create_app(settings=self.settings)
