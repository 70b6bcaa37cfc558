"""A bounded in-process cache whose entries carry the people they are about (tags), dropped
when the log says something about one of them changed, and never filled with a value read
before a change this cache has already been told about."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class _Entry(Generic[V]):
    value: V
    tags: frozenset[str]
    expires_at: float


class TaggedCache(Generic[K, V]):
    """LRU of at most `max_entries`, each kept at most `ttl_s` (a backstop: events drop them).

    `changed(tag, position)` drops every entry tagged `tag` and remembers `position`; a value
    loaded when the read models were at a position below it is not kept (`put` refuses it),
    so a load that raced the change cannot bring the old value back."""

    def __init__(self, name: str, *, max_entries: int, ttl_s: float) -> None:
        self.name = name
        self._max = max_entries
        self._ttl_s = ttl_s
        self._entries: OrderedDict[K, _Entry[V]] = OrderedDict()
        self._by_tag: dict[str, set[K]] = {}
        self._changed_at: dict[str, int] = {}
        self._floor = 0
        """No value loaded below this position is kept (set when change marks are pruned)."""
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None or found.expires_at < time.monotonic():
            if found is not None:
                self._drop(key)
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return found.value

    def put(self, key: K, value: V, tags: Iterable[str], loaded_at: int) -> bool:
        """Keep `value` (read when the read models were at `loaded_at`) unless one of its
        tags changed after that; True if kept."""
        tagset = frozenset(tags)
        if loaded_at < self._floor or any(self._changed_at.get(t, 0) > loaded_at for t in tagset):
            return False
        self._drop(key)
        self._entries[key] = _Entry(value, tagset, time.monotonic() + self._ttl_s)
        for tag in tagset:
            self._by_tag.setdefault(tag, set()).add(key)
        while len(self._entries) > self._max:
            self._drop(next(iter(self._entries)))
        return True

    def changed(self, tag: str, position: int) -> None:
        """Something about `tag` changed at log `position`: its entries go at once."""
        if position > self._changed_at.get(tag, 0):
            self._changed_at[tag] = position
        if len(self._changed_at) > 4 * self._max:
            # Bounded memory: forget the marks, refuse every load older than the newest.
            self._floor = max(self._floor, *self._changed_at.values())
            self._changed_at = {}
        for key in list(self._by_tag.get(tag, ())):
            self._drop(key)

    def clear(self, position: int) -> None:
        """Everything goes (the edge lost track of the log): nothing loaded before
        `position` is kept afterwards."""
        self._entries.clear()
        self._by_tag.clear()
        self._changed_at = {}
        self._floor = max(self._floor, position)

    def _drop(self, key: K) -> None:
        found = self._entries.pop(key, None)
        if found is None:
            return
        for tag in found.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]
