"""The board document model: what a board's Yjs document holds, and its JSON snapshot.

A board is one Yjs document with one root shared type, the map `items`:

    items: Y.Map<itemId, Item>        itemId: any string (clients use UUIDs)

    Item (a plain JSON object, replaced whole on every change):
      kind      "sticker" | "note" | "image"
      mood      sticker: a word of the mood vocabulary (e.g. "calm")
      text      note: up to 1,000 characters
      blobId    image: the id of a stored image blob; alt: its description (optional)
      x, y      position on the canvas, in canvas units (numbers)
      color     "#rrggbb"
      addedBy   the user id of who added it
      addedAt   epoch milliseconds

Whole-object values (not a nested Y.Map per item) keep a 10,000-item board small and fast to
load; the cost is that two people changing the same item at the same instant keep one
version (last writer wins per item). Deleting an item deletes its key. Readers never trust
content: the snapshot lists only well-formed items and counts the others as `invalid`.
"""

from __future__ import annotations

import re
from typing import Any

from pycrdt import Doc, Map

from hugmood.domain.vocabulary import MOODS

ITEMS = "items"
KINDS = ("sticker", "note", "image")
MAX_NOTE = 1000
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def items_of(doc: Doc[Any]) -> Map[Any]:
    """The board's root map (created empty in a new document)."""
    items: Map[Any] = doc.get(ITEMS, type=Map)
    return items


def item_count(doc: Doc[Any]) -> int:
    return len(items_of(doc))


def sticker(
    mood: str, *, x: float, y: float, color: str, added_by: str, added_at: int
) -> dict[str, Any]:
    return {
        "kind": "sticker",
        "mood": mood,
        "x": x,
        "y": y,
        "color": color,
        "addedBy": added_by,
        "addedAt": added_at,
    }


def note(
    text: str, *, x: float, y: float, color: str, added_by: str, added_at: int
) -> dict[str, Any]:
    return {
        "kind": "note",
        "text": text,
        "x": x,
        "y": y,
        "color": color,
        "addedBy": added_by,
        "addedAt": added_at,
    }


def well_formed(item: object) -> bool:
    """Whether a value in `items` follows the document model above."""
    if not isinstance(item, dict):
        return False
    kind = item.get("kind")
    if kind not in KINDS:
        return False
    for axis in ("x", "y"):
        if not isinstance(item.get(axis), int | float) or isinstance(item.get(axis), bool):
            return False
    if not isinstance(item.get("color"), str) or not _COLOR.match(item["color"]):
        return False
    if not isinstance(item.get("addedBy"), str) or not isinstance(item.get("addedAt"), int | float):
        return False
    if kind == "sticker":
        return item.get("mood") in MOODS
    if kind == "note":
        text = item.get("text")
        return isinstance(text, str) and len(text) <= MAX_NOTE
    return isinstance(item.get("blobId"), str)


_FIELDS = ("kind", "mood", "text", "blobId", "alt", "x", "y", "color", "addedBy", "addedAt")


def snapshot(doc: Doc[Any]) -> dict[str, Any]:
    """The content as JSON for clients that do not speak Yjs: items sorted by id."""
    raw = items_of(doc).to_py() or {}
    items = []
    invalid = 0
    for item_id in sorted(raw):
        value = raw[item_id]
        if not well_formed(value):
            invalid += 1
            continue
        items.append({"id": item_id, **{k: value[k] for k in _FIELDS if k in value}})
    return {"items": items, "itemCount": len(raw), "invalid": invalid}
