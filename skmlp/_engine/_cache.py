"""A bounded cache of compiled work, the least recently used dropped first.

Every compiled training function, pool of trainers and device predictor is
kept in one of these, by its structure's key: a process that tries many
structures (a search over layer sizes) keeps at most ``CACHE_SIZE`` of each,
and memory stays flat. A dropped entry is compiled again if it is needed
again.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

# Structures kept per cache. A grid search varies a few structural settings
# at a time; 32 covers the labs' largest grids (8 structures x 3 optimizers)
# with room to spare, and an MNIST-sized trainer holds a few MB.
CACHE_SIZE = 32


class LRU:
    """A mapping of at most ``size`` entries; the oldest-used goes first."""

    def __init__(self, size: int = CACHE_SIZE):
        self.size = size
        self._entries: OrderedDict = OrderedDict()

    def get_or_make(self, key, make: Callable[[], Any]):
        """The entry of ``key``, made (and the oldest dropped) if absent."""
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        value = self._entries[key] = make()
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key) -> bool:
        return key in self._entries

    def clear(self) -> None:
        self._entries.clear()
