"""The command groups of ``budget``, one module each."""
