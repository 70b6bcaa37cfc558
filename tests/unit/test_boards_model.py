"""The board document model as readers see it: the JSON snapshot trusts no content."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc

from hugmood.boards.model import item_count, items_of, note, snapshot, sticker


def test_the_snapshot_lists_well_formed_items_in_id_order_and_counts_the_rest() -> None:
    doc: Doc[Any] = Doc()
    items = items_of(doc)
    items["b"] = sticker("calm", x=1, y=2.5, color="#A0B0C0", added_by="u1", added_at=5)
    items["a"] = note("see you sunday", x=0, y=0, color="#ffffff", added_by="u2", added_at=6)
    items["c"] = {"kind": "image", "blobId": "blob-1", "alt": "a kite", "x": 3, "y": 4,
                  "color": "#000000", "addedBy": "u1", "addedAt": 7}  # fmt: skip
    items["bad-mood"] = sticker("hangry", x=0, y=0, color="#ffffff", added_by="u", added_at=1)
    items["bad-colour"] = sticker("calm", x=0, y=0, color="red", added_by="u", added_at=1)
    items["bad-note"] = note("x" * 1001, x=0, y=0, color="#ffffff", added_by="u", added_at=1)
    items["not-an-object"] = 42
    items["no-position"] = {"kind": "note", "text": "hi", "color": "#ffffff"}

    shown = snapshot(doc)

    assert [i["id"] for i in shown["items"]] == ["a", "b", "c"]
    assert shown["items"][1] == {
        "id": "b", "kind": "sticker", "mood": "calm", "x": 1, "y": 2.5, "color": "#A0B0C0",
        "addedBy": "u1", "addedAt": 5,
    }  # fmt: skip
    assert (shown["itemCount"], shown["invalid"]) == (8, 5)
    assert item_count(doc) == 8
