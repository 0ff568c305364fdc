"""Pydantic and query types of the declared text fields (:mod:`budget.domain.scope`):
the REST API accepts exactly what the domain does and the database can hold."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Query
from pydantic import Field, StringConstraints

from budget.domain import scope

NO_NUL = r"^[^\x00]*$"


def declared(name: str, *, min_length: int = 1) -> Any:
    """The string type of the text field ``name`` as :mod:`budget.domain.scope`
    declares it (its length; never a NUL)."""
    longest = scope.text_field(name).max_length
    return Annotated[
        str, StringConstraints(min_length=min_length, max_length=longest, pattern=NO_NUL)
    ]


def declared_query(name: str, *, min_length: int = 1) -> Any:
    """An optional query parameter filtering on the declared text field ``name``."""
    longest = scope.text_field(name).max_length
    return Annotated[str | None, Query(min_length=min_length, max_length=longest, pattern=NO_NUL)]


def declared_param(name: str) -> Any:
    """A required query parameter holding the declared text field ``name``."""
    longest = scope.text_field(name).max_length
    return Annotated[str, Query(min_length=1, max_length=longest, pattern=NO_NUL)]


def optional(name: str) -> tuple[Any, Any]:
    """A model field for the declared text field ``name``: optional, described."""
    return declared(name) | None, Field(None, description=scope.text_field(name).help)
