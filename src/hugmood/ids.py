"""The shared vocabulary of ids, so that a signature says what it takes (after Starlette's
`types.py`). They are plain strings: a UUID in canonical form for entries, hugs, boards and
sessions, one derived from the handle for users (decision 0002)."""

from __future__ import annotations

from typing import TypeAlias

UserId: TypeAlias = str
EntryId: TypeAlias = str
"""A check-in's id, chosen by the device."""
HugId: TypeAlias = str
BoardId: TypeAlias = str
SessionId: TypeAlias = str
BlobId: TypeAlias = str
"""The sha256 of a blob's bytes, in hex."""
EventType: TypeAlias = str
StreamId: TypeAlias = str
