"""Rebasing a board: the fresh generation holds the same items without the history, a stale
replica is recognised by its state vector, and edits made on the old generation are carried
over item by item without undoing what changed since."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc

from hugmood.boards.model import items_of, sticker
from hugmood.boards.rebase import Lineage, carry_over, fresh_copy


def item(mood: str, x: float = 1.0) -> dict[str, Any]:
    return sticker(mood, x=x, y=2.0, color="#ffcc00", added_by="ann", added_at=1)


def synced(source: Doc[Any]) -> Doc[Any]:
    doc: Doc[Any] = Doc()
    doc.apply_update(source.get_update())
    return doc


def content(doc: Doc[Any]) -> dict[str, Any]:
    value: dict[str, Any] = items_of(doc).to_py() or {}
    return value


def edited(doc: Doc[Any], change: dict[str, dict[str, Any] | None]) -> bytes:
    """Apply a change (None deletes) in one transaction; returns its update."""
    before = doc.get_state()
    items = items_of(doc)
    with doc.transaction():
        for key, value in change.items():
            if value is None:
                del items[key]
            else:
                items[key] = value
    return doc.get_update(before)


def long_history() -> Doc[Any]:
    doc: Doc[Any] = Doc()
    for round_ in range(20):
        edited(doc, {f"i{n}": item("calm", x=round_) for n in range(50)})
    return doc


def test_a_fresh_copy_holds_the_same_items_without_the_history() -> None:
    old = long_history()
    copy = fresh_copy(old, avoid=[old.client_id])
    assert content(copy) == content(old)
    assert copy.client_id != old.client_id
    assert len(copy.get_update()) < 0.5 * len(old.get_update())


def test_a_replica_is_placed_by_the_clients_in_its_state_vector() -> None:
    old = long_history()
    lineage = Lineage().successor(old.get_state(), retired_from=0, carried_through=20)
    newer = lineage.successor(fresh_copy(old).get_state(), retired_from=1, carried_through=1)
    assert lineage.staleness(synced(old).get_state()) == 1
    assert lineage.staleness(fresh_copy(old).get_state()) == 0
    assert lineage.staleness(Doc().get_state()) == 0  # a new replica is never stale
    assert newer.staleness(synced(old).get_state()) == 2  # two generations behind
    assert Lineage.from_json(newer.to_json()) == newer


def test_old_generation_edits_are_carried_over_unless_the_item_changed_since() -> None:
    old: Doc[Any] = Doc()
    edited(old, {"kept": item("calm"), "moved": item("calm"), "gone": item("calm")})
    edited(old, {"both": item("calm"), "deleted-here": item("calm")})
    stale = synced(old)  # a replica that goes offline before the rebase
    retired = synced(old)
    base = fresh_copy(old)  # the new generation as stored
    current, watcher = synced(base), synced(base)
    edited(current, {"both": item("joyful"), "deleted-here": None})  # since the rebase

    offline = edited(
        stale,
        {
            "moved": item("calm", x=99),
            "gone": None,
            "new": item("hopeful"),
            "both": item("tired"),
            "deleted-here": item("tired"),
        },
    )
    carried = carry_over(retired, [offline], current)

    assert carried is not None
    assert content(current) == {
        "kept": item("calm"),
        "moved": item("calm", x=99),  # carried
        "new": item("hopeful"),  # carried
        "both": item("joyful"),  # changed since the rebase: the newer generation wins
    }  # "gone" deleted offline, "deleted-here" deleted since the rebase
    watcher.apply_update(current.get_update(watcher.get_state()))
    assert content(watcher) == content(current)  # others on the new generation get the same


def test_carrying_the_same_edit_twice_changes_nothing() -> None:
    old: Doc[Any] = Doc()
    edited(old, {"a": item("calm")})
    stale, current = synced(old), fresh_copy(old)
    offline = edited(stale, {"a": item("calm", x=5)})
    first = carry_over(synced(old), [offline], current)
    again = carry_over(synced(old), [offline], current)  # e.g. by a second process
    assert first is not None and again is None
    assert content(current) == {"a": item("calm", x=5)}
