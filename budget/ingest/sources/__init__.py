"""Price source adapters, one module per source.

Each maps its source's payload to :class:`~budget.pricing.refresh.SourceRecord`
objects (USD per million tokens, Decimal), written with
:mod:`budget.ingest.source`; :mod:`budget.ingest.registry` lists them.
"""
