"""The socket registry's heap policy: freeze after a wave of sockets, thaw when half are gone."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from hugmood.entrypoints.heap import FrozenHeap


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class Node:
    other: object


def test_a_wave_of_sockets_freezes_the_heap_and_small_changes_do_not() -> None:
    heap = FrozenHeap()
    heap.sockets_now(100)
    assert gc.get_freeze_count() == 0  # too few to matter

    heap.sockets_now(1_000)
    frozen = gc.get_freeze_count()
    assert frozen > 0 and heap.frozen_at == 1_000

    kept: list[list[int]] = [[] for _ in range(100)]  # tracked, made after the freeze
    heap.sockets_now(1_100)  # +10%: not a wave
    assert gc.get_freeze_count() == frozen
    heap.sockets_now(1_600)  # +60% and 600 more: a wave
    assert gc.get_freeze_count() >= frozen + 100 and heap.frozen_at == 1_600
    del kept


def test_cycles_frozen_alive_are_reclaimed_once_half_the_sockets_are_gone() -> None:
    heap = FrozenHeap()
    heap.sockets_now(2_000)
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    heap.sockets_now(2_600)  # frozen while alive, like a socket's objects
    del a, b
    gc.collect()
    assert gone() is not None  # garbage, but frozen

    heap.sockets_now(1_400)  # fewer than half of 2,600 would be needed
    assert gone() is not None
    heap.sockets_now(1_200)  # more than half gone: thawed and collected
    assert gone() is None
    assert heap.frozen_at == 1_200 and gc.get_freeze_count() > 0
