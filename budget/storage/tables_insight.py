"""Tables of the reporting rollups (defined with the insight capability)."""
