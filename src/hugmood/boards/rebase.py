"""Rebasing a board: a new generation of its document without the history, and carrying
over edits made on the old one.

A Yjs document keeps a tombstone for every overwrite, so a board edited 100,000 times is
mostly history: 10,000 items after 100,000 edits are a 2.3 MB document that takes ~110 ms to
load, while the same items written afresh are 1.2 MB and load in ~30 ms. A rebase writes
the live items afresh into a new generation (its own stream). Replicas holding the old
generation are *stale*: merging them in would bring every tombstone back and duplicate every
item, so they are recognised by the client ids in their state vector, asked for exactly what
they have that the old generation lacks (a sync step 1 with the old generation's state
vector), and those edits are stored on the old generation and carried over here item by
item. Then the replica is told to load the board again (close code 4410).

Carrying over is a three-way merge per item: an item the old-generation edit changed is set
here to its new value, unless it also changed here since the rebase (the newer generation's
value wins). Carrying the same edit twice changes nothing the second time.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pycrdt import Doc, MapEvent

from hugmood.boards.model import items_of
from hugmood.boards.protocol import state_vector

SHRINK = 0.6
"""Rebase only when the fresh document is at most this fraction of the current one."""


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a generation of a board's content comes from (generation 0 has no past)."""

    generation: int = 0
    retired_from: int = 0
    """The previous generation's stream version its loading starts at (its newest snapshot)."""
    carried_through: int = 0
    """Every event of the previous generation up to this version is in this generation."""
    retired_state: bytes = b"\x00"
    """The previous generation's state vector when it was retired."""
    older_clients: frozenset[int] = frozenset()
    """Client ids of every generation before the previous one."""
    retired_clients: frozenset[int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "retired_clients", frozenset(state_vector(self.retired_state)))

    def staleness(self, state: bytes) -> int:
        """How many generations behind a replica with this state vector is (0: current)."""
        return self.staleness_of(state_vector(state).keys())

    def staleness_of(self, clients: Iterable[int]) -> int:
        known = set(clients)
        if known & self.older_clients:
            return 2
        return 1 if known & self.retired_clients else 0

    def advanced(self, carried_through: int) -> Lineage:
        return replace(self, carried_through=max(self.carried_through, carried_through))

    def successor(self, state: bytes, *, retired_from: int, carried_through: int) -> Lineage:
        """The lineage of the next generation, retiring this one at `state`."""
        return Lineage(
            generation=self.generation + 1,
            retired_from=retired_from,
            carried_through=carried_through,
            retired_state=state,
            older_clients=self.older_clients | self.retired_clients,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "generation": self.generation,
            "retiredFrom": self.retired_from,
            "carriedThrough": self.carried_through,
            "retiredState": base64.b64encode(self.retired_state).decode("ascii"),
            "olderClients": sorted(self.older_clients),
        }

    @staticmethod
    def from_json(data: Mapping[str, Any] | None) -> Lineage:
        if not data:
            return Lineage()
        return Lineage(
            generation=int(data["generation"]),
            retired_from=int(data["retiredFrom"]),
            carried_through=int(data["carriedThrough"]),
            retired_state=base64.b64decode(data["retiredState"]),
            older_clients=frozenset(int(c) for c in data["olderClients"]),
        )


def fresh_copy(doc: Doc[Any], *, avoid: Iterable[int] = ()) -> Doc[Any]:
    """The same items in a new document, written in one transaction by one new client id
    (none of `avoid`): no tombstones, no history."""
    taken = set(avoid)
    client_id = random.randrange(1, 2**32)
    while client_id in taken:
        client_id = random.randrange(1, 2**32)
    copy: Doc[Any] = Doc(client_id=client_id)
    live = items_of(doc).to_py() or {}
    target = items_of(copy)
    with copy.transaction():
        for key in sorted(live):
            target[key] = live[key]
    return copy


_ABSENT = object()


def carry_over(retired: Doc[Any], updates: Iterable[bytes], current: Doc[Any]) -> bytes | None:
    """Apply `updates` (made on the old generation) to `retired`, then bring every item they
    changed into `current` unless it changed there since the rebase. Returns the update
    made on `current`, or None if nothing needed carrying. Raises what `apply_update` raises
    for an update that does not apply (then `retired` must be reloaded)."""
    old_items = items_of(retired)
    before: dict[str, Any] = {}

    def remember(event: MapEvent) -> None:
        changes: dict[str, dict[str, Any]] = getattr(event, "keys")  # noqa: B009 (untyped slot)
        for key, change in changes.items():
            before.setdefault(key, change.get("oldValue", _ABSENT))

    subscription = old_items.observe(remember)
    try:
        for update in updates:
            retired.apply_update(update)
    finally:
        old_items.unobserve(subscription)
    items = items_of(current)
    state = current.get_state()
    changed = False
    with current.transaction():
        for key, was in before.items():
            theirs = old_items.get(key, _ABSENT)
            if _same(theirs, was) or not _same(items.get(key, _ABSENT), was):
                continue
            changed = True
            if theirs is _ABSENT:
                del items[key]
            else:
                items[key] = theirs
    return current.get_update(state) if changed else None


def _same(a: Any, b: Any) -> bool:
    return a is b if a is _ABSENT or b is _ABSENT else bool(a == b)
