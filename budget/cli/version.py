"""``budget --version``: the installed distribution's version."""

from __future__ import annotations

from budget.distribution import installed_version


def print_version(value: bool) -> None:
    """The eager ``--version`` option's callback: print and stop."""
    if value:
        import typer

        typer.echo(f"budget {installed_version()}")
        raise typer.Exit()
