"""One board's room in this process: its Yjs document and the sockets editing it.

A single worker task owns the document. It takes what arrived (client updates, sync
requests, updates other processes stored), applies the client updates, stores them in one
atomic append, and only then relays them and answers sync requests: no peer ever receives
content that is not stored. If storing fails the room is closed (the document in memory
may hold what was not stored) and reloaded from the log by the next socket.

Once a board has been rebased (`hugmood.boards.rebase`), a socket whose replica holds the
previous generation is *stale*: it is sent the previous generation's state vector, what it
answers is stored there and carried over, and it is closed with 4410 to load the board
again. A stale socket is never sent this generation's updates.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, get_state, merge_updates

from hugmood.boards.connection import BoardConnection
from hugmood.boards.model import item_count
from hugmood.boards.protocol import (
    EMPTY_UPDATE,
    AwarenessEntry,
    AwarenessMessage,
    CloseCode,
    Message,
    ProtocolError,
    QueryAwareness,
    SyncMessage,
    SyncType,
    awareness_message,
    sync_message,
)
from hugmood.boards.rebase import Lineage
from hugmood.boards.stale import Advance, Stale, StaleReplicas, StaleSync, StaleUpdate
from hugmood.boards.store import AcceptedUpdate, BoardContentStore, materialize
from hugmood.boards.updates import adds_nothing, refused
from hugmood.domain.boards import BoardRole
from hugmood.tasks import cancel_and_wait

log = logging.getLogger(__name__)

BATCH = 256
"""At most this many queued messages are applied and stored in one append."""
LIVE_REBASE = 16
"""An open room rebases only documents this many times bigger than an emptying room would:
everyone on the board reloads it."""


@dataclass(frozen=True, slots=True)
class _ClientUpdate:
    connection: BoardConnection
    update: bytes


@dataclass(frozen=True, slots=True)
class _SyncRequest:
    connection: BoardConnection
    state: bytes


@dataclass(frozen=True, slots=True)
class _Remote:
    update: bytes


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


_Work = _ClientUpdate | _SyncRequest | _Remote | Stale | Advance | _Stop

DRAIN_S = 10.0
"""How long closing a room waits for what was received to be stored."""


class BoardRoom(StaleReplicas):
    def __init__(
        self,
        board_id: str,
        content: BoardContentStore,
        *,
        compact_every: int,
        rebase_min_bytes: int | None = None,
        on_failed: Callable[[BoardRoom], None],
        on_awareness: Callable[[BoardRoom, bytes], Awaitable[None]] | None = None,
    ) -> None:
        self.board_id = board_id
        self.doc: Doc[Any] = Doc()
        self.connections: set[BoardConnection] = set()
        self.since_snapshot = 0
        self.lineage = Lineage()
        self.failed = False
        self._content = content
        self._compact_every = compact_every
        self._rebase_min_bytes = rebase_min_bytes
        self._retired: Doc[Any] | None = None
        """The previous generation, loaded when a stale replica or a straggler needs it."""
        self._on_failed = on_failed
        self._on_awareness = on_awareness
        """Hands this process's awareness messages on to the other processes."""
        self._queue: asyncio.Queue[_Work] = asyncio.Queue(4 * BATCH)
        self._worker: asyncio.Task[None] | None = None
        self._compaction: asyncio.Task[None] | None = None
        self._awareness: dict[int, AwarenessEntry] = {}
        self.loaded = asyncio.Event()

    async def open(self) -> None:
        """Load the content (newest snapshot, then what followed) and start the worker."""
        stored = await self._content.load(self.board_id)
        self.doc = materialize(stored)
        self.since_snapshot = stored.since_snapshot
        self.lineage = stored.lineage
        await self._carry(stored.stragglers)
        self._worker = asyncio.create_task(self._work(), name=f"board-room-{self.board_id}")
        self.loaded.set()

    async def close(self, *, compact: bool) -> None:
        """Store what was received (sockets that sent it may be gone already), then stop."""
        for connection in self.connections:
            connection.close(CloseCode.GOING_AWAY, "the server is going away; reconnect")
        if self._worker is not None and not self._worker.done():
            await self._queue.put(_Stop())
            try:
                async with asyncio.timeout(DRAIN_S):
                    await asyncio.shield(self._worker)
            except TimeoutError:
                log.error("board %s did not store its last updates in time", self.board_id)
        for task in (self._worker, self._compaction):
            await cancel_and_wait(task)
        if compact and self.since_snapshot and not self.failed:
            try:
                await self._content.compact(self.board_id, rebase_min_bytes=self._rebase_min_bytes)
            except Exception:
                log.exception(
                    "compacting board %s failed; it loads from the updates", self.board_id
                )

    # --- from this process's sockets ----------------------------------------------------

    def join(self, connection: BoardConnection) -> None:
        """Our sync step 1 waits for the client's: it may be stale (see `receive`)."""
        self.connections.add(connection)
        if self._awareness:
            connection.send(awareness_message(list(self._awareness.values())))

    async def leave(self, connection: BoardConnection) -> None:
        self.connections.discard(connection)
        if connection.awareness:
            gone = [
                AwarenessEntry(client_id, clock + 1, b"null")
                for client_id, clock in connection.awareness.items()
            ]
            for entry in gone:
                self._awareness.pop(entry.client_id, None)
            message = awareness_message(gone)
            self._broadcast(message, skip=None)
            await self._share_awareness(message)

    async def receive(self, connection: BoardConnection, message: Message) -> None:
        """Act on one parsed client message; raises `ProtocolError` to close its socket."""
        match message:
            case SyncMessage(sync_type=SyncType.STEP1, payload=state):
                if not connection.stale and not await self._behind(connection, state, None):
                    await self._queue.put(_SyncRequest(connection, state))
            case SyncMessage(sync_type=sync_type, payload=update) if (
                connection.stale or await self._behind(connection, None, update)
            ):
                if not connection.closed:
                    final = sync_type == SyncType.STEP2
                    await self._queue.put(StaleUpdate(connection, update, final))
            case SyncMessage(payload=update):
                if update == EMPTY_UPDATE:
                    return
                # What the document already holds is neither stored nor relayed: a client's
                # sync step 2 always carries its whole delete set, and some clients (pycrdt's
                # Provider) send back what they received.
                if adds_nothing(self.doc, update):
                    return
                if not connection.role.can_edit:
                    raise ProtocolError(
                        "viewers cannot edit this board; the update was refused",
                        CloseCode.FORBIDDEN,
                    )
                await self._queue.put(_ClientUpdate(connection, update))
            case AwarenessMessage(entries=entries, raw=raw):
                for entry in entries:
                    connection.awareness[entry.client_id] = entry.clock
                    if entry.state == b"null":
                        connection.awareness.pop(entry.client_id, None)
                self._remember(entries)
                self._broadcast(raw, skip=connection)
                await self._share_awareness(raw)
            case QueryAwareness():
                connection.send(awareness_message(list(self._awareness.values())))

    def _remember(self, entries: tuple[AwarenessEntry, ...] | list[AwarenessEntry]) -> None:
        """Keep the newest state of each awareness client, for sockets that join later."""
        for entry in entries:
            if entry.state == b"null":
                self._awareness.pop(entry.client_id, None)
            else:
                self._awareness[entry.client_id] = entry

    async def _share_awareness(self, message: bytes) -> None:
        if self._on_awareness is not None:
            try:
                await self._on_awareness(self, message)
            except Exception:
                # Cursors are a courtesy: other processes miss this one, nothing more.
                log.warning("could not share awareness of board %s", self.board_id)

    def remote_awareness(self, message: AwarenessMessage) -> None:
        """Awareness from another process's sockets: remembered and forwarded to ours."""
        self._remember(message.entries)
        self._broadcast(message.raw, skip=None)

    # --- from other processes (through the log) -----------------------------------------

    async def remote(self, update: bytes) -> None:
        await self._queue.put(_Remote(update))

    async def advance(self) -> None:
        """A newer generation was stored (another process rebased the board)."""
        await self._queue.put(Advance())

    async def refresh_roles(self, roles: dict[str, BoardRole]) -> None:
        """Apply the board's current members: the removed are closed, roles take effect."""
        for connection in list(self.connections):
            role = roles.get(connection.user_id)
            if role is None:
                connection.close(CloseCode.FORBIDDEN, "you are no longer a member of this board")
            else:
                connection.role = role

    # --- the worker ---------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            batch = [await self._queue.get()]
            # What came before an `Advance` belongs to the generation it ends.
            while (
                not isinstance(batch[-1], Advance)
                and len(batch) < BATCH
                and not self._queue.empty()
            ):
                batch.append(self._queue.get_nowait())
            advance = isinstance(batch[-1], Advance)
            if advance:
                batch.pop()
            if not await self._handle(batch) or any(isinstance(w, _Stop) for w in batch):
                return
            if advance and not await self._advance():
                return

    async def _handle(self, batch: list[_Work]) -> bool:
        accepted: list[_ClientUpdate] = []
        remote: list[bytes] = []
        syncs: list[_SyncRequest] = []
        stale: list[Stale] = []
        for work in batch:
            match work:
                case StaleSync() | StaleUpdate():
                    stale.append(work)
                case _ClientUpdate(connection=connection, update=update) if connection.stale:
                    # Sent before its socket turned stale, so made on the previous generation.
                    stale.append(StaleUpdate(connection, update, final=False))
                case _ClientUpdate(connection=connection, update=update):
                    # Stored even if its socket has closed since: the client sent it.
                    try:
                        get_state(update)  # decodes it whole: a bad update stops here
                    except ValueError as e:
                        connection.close(CloseCode.MALFORMED, f"malformed Yjs update: {e}")
                        continue
                    accepted.append(work)
                case _Remote(update=update):
                    remote.append(update)
                case _SyncRequest(connection=connection) if not connection.stale:
                    syncs.append(work)
        accepted = await self._apply(accepted)
        self._apply_remote(remote)
        if accepted:
            try:
                await self._content.append(
                    self.board_id,
                    [AcceptedUpdate(a.connection.user_id, a.update) for a in accepted],
                    items=item_count(self.doc),
                    generation=self.lineage.generation,
                )
            except Exception:
                log.exception("storing updates of board %s failed; closing the room", self.board_id)
                self._fail()
                return False
            self.since_snapshot += len(accepted)
        for a in accepted:
            self._broadcast(sync_message(SyncType.UPDATE, a.update), skip=a.connection)
        for update in remote:
            self._broadcast(sync_message(SyncType.UPDATE, update), skip=None)
        # Edits carried over from stale sockets first: a sync answered now includes them.
        if stale and not await self._serve_stale(stale):
            return False
        for s in syncs:
            try:
                missing = self.doc.get_update(s.state)
            except ValueError:
                s.connection.close(CloseCode.MALFORMED, "malformed state vector")
                continue
            s.connection.send(sync_message(SyncType.STEP2, missing))
            s.connection.send(sync_message(SyncType.STEP1, self.doc.get_state()))
        if self.since_snapshot >= self._compact_every and self._compaction is None:
            self._compaction = asyncio.create_task(self._compact())
        return True

    async def _apply(self, accepted: list[_ClientUpdate]) -> list[_ClientUpdate]:
        """Apply each update on its own, in the order received, as its sender applied it (a
        merged batch would be cheaper, but whether yrs accepts an update can depend on what
        is applied before it). One that fails closes its socket with 4400 and is neither
        stored nor relayed; the document is rebuilt from the log and what was kept of the
        batch, so whatever a failed apply did is gone."""
        kept: list[_ClientUpdate] = []
        for a in accepted:
            try:
                self.doc.apply_update(a.update)
            except BaseException as e:
                if not refused(e):
                    raise
                a.connection.close(CloseCode.MALFORMED, "malformed Yjs update: it does not apply")
                log.warning("board %s refused an update that does not apply: %s", self.board_id, e)
                await self._reload()
                for k in kept:
                    self.doc.apply_update(k.update)
                continue
            kept.append(a)
        return kept

    async def _reload(self) -> None:
        """This generation's document as stored (a newer one is an `Advance`'s business)."""
        self.doc = materialize(await self._content.load(self.board_id, self.lineage.generation))

    def _apply_remote(self, remote: list[bytes]) -> None:
        if not remote:
            return
        try:
            self.doc.apply_update(merge_updates(*remote))
        except BaseException as e:
            if not refused(e):
                raise
            log.exception("stored updates of board %s do not apply", self.board_id)

    async def _compact(self) -> None:
        """A snapshot now and then; and a rebase if the document has grown big and is mostly
        history even though the room never empties (its sockets then reload: 4410)."""
        rebase = None if self._rebase_min_bytes is None else self._rebase_min_bytes * LIVE_REBASE
        try:
            before = self.since_snapshot
            await self._content.compact(self.board_id, rebase_min_bytes=rebase)
            self.since_snapshot = max(0, self.since_snapshot - before)
        except Exception:
            log.exception("compacting board %s failed; will try again", self.board_id)
        finally:
            self._compaction = None

    def _broadcast(self, data: bytes, *, skip: BoardConnection | None) -> None:
        for connection in self.connections:
            if connection is not skip and not connection.stale:
                connection.send(data)

    def _fail(self) -> None:
        self.failed = True
        for connection in self.connections:
            connection.close(CloseCode.SERVER_ERROR, "the board could not be saved; reconnect")
        self._on_failed(self)
