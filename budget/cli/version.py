"""``budget --version``: the installed distribution's version."""

from __future__ import annotations

import importlib.metadata

DISTRIBUTION = "budget-gate"


def installed_version() -> str:
    """The version of the installed ``budget-gate`` distribution; from a source
    checkout that is not installed, the package's own ``__version__``."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        from budget import __version__

        return f"{__version__} (not installed)"


def print_version(value: bool) -> None:
    """The eager ``--version`` option's callback: print and stop."""
    if value:
        import typer

        typer.echo(f"budget {installed_version()}")
        raise typer.Exit()
