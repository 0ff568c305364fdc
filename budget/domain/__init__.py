"""Budget's domain: entities, enums, periods and rules. Plain Python, no I/O."""
