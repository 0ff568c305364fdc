"""The ``budget`` command line."""
