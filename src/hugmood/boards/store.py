"""Board content in the event log: each accepted Yjs update is an event, compaction a snapshot.

Content lives on the stream `boardDoc-<id>` (lifecycle stays on `board-<id>`, small enough to
load for every command). `BoardContentUpdated` carries one update, `BoardContentCompacted`
the whole document as of a stream version. Appends are atomic and durable before they
return, so a room relays an update only once it is stored. Loading starts at the newest
snapshot (the boards read model says where it is; an outdated hint only means reading more),
so a board loads as fast after 100,000 edits as after 100.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, merge_updates

from hugmood.application.ports import Clock
from hugmood.application.queries.boards import snapshot_version
from hugmood.boards.model import item_count
from hugmood.domain.boards import board_doc_stream
from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.store import ANY_VERSION, AppendResult, EventStore
from hugmood.sql.database import SqlDatabase

UPDATED = "BoardContentUpdated"
COMPACTED = "BoardContentCompacted"


@dataclass(frozen=True, slots=True)
class AcceptedUpdate:
    user_id: str
    update: bytes


@dataclass(frozen=True, slots=True)
class StoredContent:
    snapshot: bytes | None
    """The newest snapshot, if there is one."""
    updates: list[bytes]
    """Every update stored after what the snapshot covers."""
    version: int
    """The content stream's version these cover (0: nothing stored yet)."""
    since_snapshot: int
    """How many updates were stored after the snapshot: compaction is due when it grows."""


def decode(data: str) -> bytes:
    return base64.b64decode(data, validate=True)


def encode(update: bytes) -> str:
    return base64.b64encode(update).decode("ascii")


class BoardContentStore:
    def __init__(
        self, store: EventStore, readmodels: SqlDatabase, clock: Clock, *, origin: str
    ) -> None:
        self._store = store
        self._readmodels = readmodels
        self._clock = clock
        self.origin = origin
        """This process, in each event's metadata: its own updates need no relaying back."""

    async def append(
        self, board_id: str, accepted: Sequence[AcceptedUpdate], *, items: int
    ) -> AppendResult:
        """Store updates in one atomic append; they may be relayed once this returns."""
        now = self._clock.now()
        events = [
            NewEvent(
                event_id=uuid.uuid4(),
                event_type=UPDATED,
                version=1,
                timestamp=now,
                user_id=a.user_id,
                data={"boardId": board_id, "update": encode(a.update), "itemCount": items},
                metadata={"processId": self.origin},
            )
            for a in accepted
        ]
        return await self._store.append(board_doc_stream(board_id), events, ANY_VERSION)

    async def load(self, board_id: str) -> StoredContent:
        stream = board_doc_stream(board_id)
        start = max(await snapshot_version(self._readmodels, board_id), 1)
        events = await self._store.read_stream(stream, start)
        snapshot = _latest_snapshot(events)
        if snapshot is not None and snapshot.data["throughVersion"] + 1 < start:
            # Updates stored while the snapshot was being made sit just before it.
            start = snapshot.data["throughVersion"] + 1
            events = await self._store.read_stream(stream, start)
        return _content(events)

    async def compact(self, board_id: str) -> int:
        """Append a snapshot of everything stored so far; returns the version it covers."""
        content = await self.load(board_id)
        if content.since_snapshot == 0:
            return content.version
        doc = materialize(content)
        event = NewEvent(
            event_id=uuid.uuid4(),
            event_type=COMPACTED,
            version=1,
            timestamp=self._clock.now(),
            user_id=None,
            data={
                "boardId": board_id,
                "snapshot": encode(doc.get_update()),
                "throughVersion": content.version,
                "itemCount": item_count(doc),
            },
            metadata={"processId": self.origin},
        )
        await self._store.append(board_doc_stream(board_id), [event], ANY_VERSION)
        return content.version


def _latest_snapshot(events: list[RecordedEvent]) -> RecordedEvent | None:
    for event in reversed(events):
        if event.event_type == COMPACTED:
            return event
    return None


def _content(events: list[RecordedEvent]) -> StoredContent:
    snapshot = _latest_snapshot(events)
    covered = int(snapshot.data["throughVersion"]) if snapshot is not None else 0
    updates = [
        decode(event.data["update"])
        for event in events
        if event.event_type == UPDATED and event.stream_version > covered
    ]
    version = events[-1].stream_version if events else 0
    state = decode(snapshot.data["snapshot"]) if snapshot is not None else None
    return StoredContent(state, updates, version, len(updates))


def materialize(content: StoredContent) -> Doc[Any]:
    """A document holding the stored content. The updates after the snapshot are merged
    first and applied in one go: each separate apply to a big document costs a pass over its
    deletions (measured: 250 single applies 114 ms, merged 12 ms, on 2,000 items)."""
    doc: Doc[Any] = Doc()
    if content.snapshot is not None:
        doc.apply_update(content.snapshot)
    if content.updates:
        doc.apply_update(merge_updates(*content.updates))
    return doc
