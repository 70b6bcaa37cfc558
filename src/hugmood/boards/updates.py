"""What a Yjs update does to a document, as the rooms need to know it."""

from __future__ import annotations

from typing import Any

from pycrdt import Doc, get_state, get_update, merge_updates

from hugmood.boards.protocol import ProtocolError, state_vector


def adds_nothing(doc: Doc[Any], update: bytes) -> bool:
    """Whether an update holds only what the document already has (no new structs, no new
    deletions): Yjs clients always send their whole delete set when they sync."""
    try:
        theirs = state_vector(get_state(update))
        state = doc.get_state()
        known = state_vector(state)
        if any(clock > known.get(client, 0) for client, clock in theirs.items()):
            return False
        # Without the structs the document has, what is left is the delete set.
        theirs_deleted = get_update(update, state)
        ours_deleted = doc.get_update(state)
        return merge_updates(theirs_deleted, ours_deleted) == merge_updates(ours_deleted)
    except ValueError:
        raise ProtocolError("malformed Yjs update") from None


def refused(error: BaseException) -> bool:
    """An update the library would not take: a decoding error, or a panic inside yrs (which
    pyo3 raises as `PanicException`, a `BaseException`) on input it did not expect."""
    return isinstance(error, ValueError) or type(error).__name__ == "PanicException"
