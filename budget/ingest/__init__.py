"""Bringing prices and model facts in from outside: the price refresh.

Sources are fetched (:mod:`.runner`, over :mod:`.http` for the network ones;
one adapter module each in :mod:`.sources`, listed by :mod:`.registry`), their
records grouped per model (:mod:`.collect`), checked against each other
(:mod:`.verify`, field by field with :mod:`.fields`, magnitudes by
:mod:`.family`) and weighed against the stored prices (:mod:`.plan`), which
says what a run writes. :mod:`.scheduler` repeats runs in the background;
:mod:`.facts` reads model facts for ``scripts/build_model_facts.py``.

Nothing here touches the database: the engine (``budget.engine.catalog_admin``)
hands a plan to storage. The records passed between them are the pricing
core's (:mod:`budget.pricing.refresh`, :mod:`budget.pricing.refresh_report`),
and the core never imports this package. See ``docs/prices.md``.
"""
