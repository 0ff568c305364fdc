"""Listing: a page of results that also knows how many match in all."""

from __future__ import annotations


class Listing(list):
    """A page of results (a list) that also knows how many match in all."""

    def __init__(self, items, total: int) -> None:
        super().__init__(items)
        self.total = total
