"""The installed distribution's version, for ``budget --version`` and ``doctor``."""

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
