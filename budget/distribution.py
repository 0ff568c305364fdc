"""The package's version and the installed distribution's, for ``budget --version``,
``doctor`` and the client's User-Agent; a leaf module, so nothing below the
package root needs ``budget`` itself for them."""

from __future__ import annotations

DISTRIBUTION = "budget-gate"
__version__ = "0.1.0"


def installed_version() -> str:
    """The version of the installed ``budget-gate`` distribution; from a source
    checkout that is not installed, the package's own ``__version__``."""
    import importlib.metadata  # slow to import: only when asked

    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return f"{__version__} (not installed)"
