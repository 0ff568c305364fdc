"""How a source fails to deliver. A run reports these per source
(:func:`budget.ingest.runner.fetch_one`); they never reach a caller."""


class SourceError(Exception):
    """A source could not deliver prices this time (network, status, bad document)."""


class SourceUnavailable(SourceError):
    """An offline source whose package or file is not installed here."""
