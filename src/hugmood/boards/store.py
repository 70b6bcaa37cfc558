"""Board content in the event log: each accepted Yjs update is an event, compaction a snapshot.

Content lives on the stream `boardDoc-<id>` (lifecycle stays on `board-<id>`, small enough to
load for every command). `BoardContentUpdated` carries one update, `BoardContentCompacted`
the whole document as of a stream version. Appends are atomic and durable before they
return, so a room relays an update only once it is stored. Loading starts at the newest
snapshot (the boards read model says where it is; an outdated hint only means reading more).

A snapshot keeps the document's history (a tombstone per overwrite), so compaction may also
*rebase*: start the next generation, `boardDoc-<id>~<n>`, with a `BoardContentRebased`
holding only the live items (see `hugmood.boards.rebase`). Loading reads the current
generation, and lists what was stored on the previous one after the rebase and not carried
over yet (`stragglers`), for the room to carry over.
"""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from pycrdt import Doc, merge_updates

from hugmood.application.ports import Clock, DataKeys
from hugmood.application.queries.boards import content_position
from hugmood.boards.model import item_count, items_of
from hugmood.boards.protocol import state_vector
from hugmood.boards.rebase import SHRINK, Lineage, fresh_copy
from hugmood.domain.boards import board_doc_stream
from hugmood.eventstore.envelope import NewEvent, RecordedEvent
from hugmood.eventstore.store import (
    ANY_VERSION,
    NO_STREAM,
    AppendResult,
    ConcurrencyError,
    EventStore,
)
from hugmood.sql.database import SqlDatabase

log = logging.getLogger(__name__)

UPDATED = "BoardContentUpdated"
COMPACTED = "BoardContentCompacted"
REBASED = "BoardContentRebased"
_SNAPSHOTS = (COMPACTED, REBASED)


@dataclass(frozen=True, slots=True)
class AcceptedUpdate:
    user_id: str
    update: bytes


@dataclass(frozen=True, slots=True)
class Straggler:
    """An update stored on the previous generation after the rebase: to be carried over."""

    version: int
    user_id: str | None
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
    lineage: Lineage = field(default_factory=Lineage)
    """The generation, with `carried_through` as far as these updates carried."""
    snapshot_version: int = 0
    """Where the snapshot is on the stream (0: none)."""
    stragglers: list[Straggler] = field(default_factory=list)
    """The previous generation's updates after `lineage.carried_through`, oldest first."""


def decode(data: str) -> bytes:
    return base64.b64decode(data, validate=True)


def encode(update: bytes) -> str:
    return base64.b64encode(update).decode("ascii")


class BoardContentStore:
    def __init__(
        self,
        store: EventStore,
        readmodels: SqlDatabase,
        clock: Clock,
        *,
        origin: str,
        keys: DataKeys | None = None,
    ) -> None:
        self._store = store
        self._readmodels = readmodels
        self._clock = clock
        self._keys = keys
        """Each generation's content is sealed under a key of its own (`contentKey`, the
        generation's stream): destroying it is how a board forgets (`forget_author`)."""
        self.origin = origin
        """This process, in each event's metadata: its own updates need no relaying back."""

    async def append(
        self,
        board_id: str,
        accepted: Sequence[AcceptedUpdate],
        *,
        items: int,
        generation: int = 0,
        carried_through: int | None = None,
    ) -> AppendResult:
        """Store updates in one atomic append; they may be relayed once this returns."""
        now = self._clock.now()
        extra = {} if carried_through is None else {"carriedThrough": carried_through}
        stream = board_doc_stream(board_id, generation)
        events = [
            NewEvent(
                event_id=uuid.uuid4(),
                event_type=UPDATED,
                version=1,
                timestamp=now,
                user_id=a.user_id,
                data={
                    "boardId": board_id,
                    "update": encode(a.update),
                    "itemCount": items,
                    "contentKey": stream,
                    **extra,
                },
                metadata={"processId": self.origin},
            )
            for a in accepted
        ]
        return await self._store.append(stream, events, ANY_VERSION)

    async def load(self, board_id: str, generation: int | None = None) -> StoredContent:
        """The current generation's content (or the given one's), and the stragglers of the
        generation before it."""
        current, start = await content_position(self._readmodels, board_id)
        events: list[RecordedEvent] | None = None
        if generation is None:
            generation = current
            # The read model may not have seen a rebase yet: a newer generation wins.
            stream = board_doc_stream(board_id, generation + 1)
            while newer := await self._store.read_stream(stream):
                generation, events = generation + 1, newer
                stream = board_doc_stream(board_id, generation + 1)
        elif generation != current:
            start = 1  # the read model knows where the current generation's snapshot is only
        if events is None:
            events = await self._read(board_id, generation, start)
        content = _content(events)
        if content.lineage.generation != generation:
            raise ValueError(f"board {board_id}: generation {generation} has no rebase event")
        if generation > 0:
            stragglers = await self.stragglers(
                board_id, generation - 1, content.lineage.carried_through
            )
            content = replace(content, stragglers=stragglers)
        return content

    async def stragglers(self, board_id: str, generation: int, after: int) -> list[Straggler]:
        """The updates stored on `generation` after version `after`."""
        events = await self._store.read_stream(board_doc_stream(board_id, generation), after + 1)
        return [
            Straggler(e.stream_version, e.user_id, decode(e.data["update"]))
            for e in events
            if e.event_type == UPDATED and e.data["update"]
        ]

    async def load_retired(self, board_id: str, lineage: Lineage) -> Doc[Any]:
        """The previous generation's document up to `lineage.carried_through`."""
        generation = lineage.generation - 1
        events = await self._read(board_id, generation, lineage.retired_from)
        return materialize(
            _content([e for e in events if e.stream_version <= lineage.carried_through])
        )

    async def compact(self, board_id: str, *, rebase_min_bytes: int | None = None) -> int:
        """Append a snapshot of everything stored so far, or — if `rebase_min_bytes` is given,
        the document is at least that big and mostly history — start the next generation
        with the live items only. Returns the version covered."""
        content = await self.load(board_id)
        if content.since_snapshot == 0:
            return content.version
        doc = materialize(content)
        rebase = rebase_min_bytes is not None and not content.stragglers
        if rebase and await self._rebase(board_id, content, doc, rebase_min_bytes or 0):
            return content.version
        lineage = content.lineage
        stream = board_doc_stream(board_id, lineage.generation)
        data: dict[str, Any] = {
            "boardId": board_id,
            "snapshot": encode(doc.get_update()),
            "throughVersion": content.version,
            "itemCount": item_count(doc),
            "contentKey": stream,
        }
        if lineage.generation:
            data["lineage"] = lineage.to_json()
        await self._store.append(stream, [self._event(COMPACTED, data)], ANY_VERSION)
        return content.version

    async def forget_author(self, board_id: str, user_id: str) -> None:
        """An erased member: the board goes on in a new generation without the items they
        added (a rebase, so none of the history comes along), and the keys of every earlier
        generation, which hold those items and their history, are destroyed."""
        for _ in range(5):
            content = await self.load(board_id)
            doc = materialize(content)
            for late in content.stragglers:
                doc.apply_update(late.update)
            items = items_of(doc)
            theirs = [
                key
                for key, item in items.items()
                if isinstance(item, dict) and item.get("addedBy") == user_id
            ]
            with doc.transaction():
                for key in theirs:
                    del items[key]
            if await self._new_generation(board_id, content, doc, fresh_copy_of(content, doc)):
                break
            # Another process started a generation meanwhile: erase from that one.
        else:
            raise RuntimeError(f"board {board_id}: could not rewrite it without an erased member")
        await self._destroy_generations(board_id, before=content.lineage.generation + 1)
        log.info("board %s rewritten without an erased member's %s items", board_id, len(theirs))

    async def forget_board(self, board_id: str) -> None:
        """An erased owner's board: every generation's key is destroyed, so nothing of its
        content can be read again, from any copy of the log."""
        current, _ = await content_position(self._readmodels, board_id)
        generation = current
        while await self._store.read_stream(board_doc_stream(board_id, generation + 1)):
            generation += 1
        await self._destroy_generations(board_id, before=generation + 1)

    async def _destroy_generations(self, board_id: str, *, before: int) -> None:
        if self._keys is None:
            return
        for generation in range(before):
            await self._keys.destroy(board_doc_stream(board_id, generation))

    async def _rebase(
        self, board_id: str, content: StoredContent, doc: Doc[Any], min_bytes: int
    ) -> bool:
        whole = doc.get_update()
        if len(whole) < min_bytes:
            return False
        copy = fresh_copy_of(content, doc)
        if len(copy.get_update()) > SHRINK * len(whole):
            return False
        await self._new_generation(board_id, content, doc, copy)
        return True  # by this process or, racing it, another: the same outcome

    async def _new_generation(
        self, board_id: str, content: StoredContent, doc: Doc[Any], copy: Doc[Any]
    ) -> bool:
        """Start the next generation with `copy` (`doc`'s live items); False if another
        process started it first."""
        fresh = copy.get_update()
        state = doc.get_state()
        lineage = content.lineage
        successor = lineage.successor(
            state, retired_from=content.snapshot_version, carried_through=content.version
        )
        stream = board_doc_stream(board_id, successor.generation)
        data = {
            "boardId": board_id,
            "snapshot": encode(fresh),
            "throughVersion": 1,
            "itemCount": item_count(copy),
            "lineage": successor.to_json(),
            "contentKey": stream,
        }
        try:
            await self._store.append(stream, [self._event(REBASED, data)], NO_STREAM)
        except ConcurrencyError:
            return False
        log.info(
            "board %s rebased into generation %s: %s bytes",
            board_id,
            successor.generation,
            len(fresh),
        )
        return True

    def _event(self, event_type: str, data: dict[str, Any]) -> NewEvent:
        return NewEvent(
            event_id=uuid.uuid4(),
            event_type=event_type,
            version=1,
            timestamp=self._clock.now(),
            user_id=None,
            data=data,
            metadata={"processId": self.origin},
        )

    async def _read(self, board_id: str, generation: int, start: int) -> list[RecordedEvent]:
        """A generation's events from its newest snapshot at or after `start` on."""
        stream = board_doc_stream(board_id, generation)
        start = max(start, 1)
        events = await self._store.read_stream(stream, start)
        snapshot = _latest_snapshot(events)
        if snapshot is not None and snapshot.data["throughVersion"] + 1 < start:
            # Updates stored while the snapshot was being made sit just before it.
            start = snapshot.data["throughVersion"] + 1
            events = await self._store.read_stream(stream, start)
        return events


def _latest_snapshot(events: list[RecordedEvent]) -> RecordedEvent | None:
    for event in reversed(events):
        if event.event_type in _SNAPSHOTS:
            return event
    return None


def _content(events: list[RecordedEvent]) -> StoredContent:
    snapshot = _latest_snapshot(events)
    covered = int(snapshot.data["throughVersion"]) if snapshot is not None else 0
    lineage = Lineage.from_json(snapshot.data.get("lineage")) if snapshot is not None else Lineage()
    tail = [e for e in events if e.event_type == UPDATED and e.stream_version > covered]
    for event in tail:
        if "carriedThrough" in event.data:
            lineage = lineage.advanced(int(event.data["carriedThrough"]))
    # An empty update or snapshot is one whose generation's key was destroyed (erasure).
    updates = [decode(event.data["update"]) for event in tail if event.data["update"]]
    version = events[-1].stream_version if events else 0
    state = decode(snapshot.data["snapshot"]) if snapshot is not None else None
    state = state or None
    at = snapshot.stream_version if snapshot is not None else 0
    return StoredContent(state, updates, version, len(updates), lineage, at)


def fresh_copy_of(content: StoredContent, doc: Doc[Any]) -> Doc[Any]:
    """`doc`'s live items in a new document, under client ids no generation used."""
    lineage = content.lineage
    used = lineage.retired_clients | lineage.older_clients | state_vector(doc.get_state()).keys()
    return fresh_copy(doc, avoid=used)


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
