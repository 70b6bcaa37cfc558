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
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pycrdt import Doc, get_state, get_update, merge_updates

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
    state_vector,
    sync_message,
)
from hugmood.boards.rebase import Lineage, carry_over
from hugmood.boards.store import AcceptedUpdate, BoardContentStore, Straggler, materialize
from hugmood.domain.boards import BoardRole
from hugmood.tasks import cancel_and_wait

log = logging.getLogger(__name__)

BATCH = 256
"""At most this many queued messages are applied and stored in one append."""
OUTBOX = 2048
"""Messages waiting for one slow socket before it is closed with 1013."""
LIVE_REBASE = 16
"""An open room rebases only documents this many times bigger than an emptying room would:
everyone on the board reloads it."""
STALE_GRACE_S = 10.0
"""How long a stale socket has to send what it holds before it is closed with 4410."""
REBASED_REASON = "this board was tidied up since you last synced; load it again"
TOO_OLD_REASON = "this copy of the board is too old to merge; load it again"


class Peer(Protocol):
    """The socket under a connection."""

    async def send(self, data: bytes) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class BoardConnection:
    """One socket on a board: who it is, its role, and its ordered outbox."""

    def __init__(
        self,
        peer: Peer,
        *,
        user_id: str,
        session_id: str,
        role: BoardRole,
        token_hash: str = "",
    ) -> None:
        self.peer = peer
        self.user_id = user_id
        self.session_id = session_id
        self.role = role
        self.token_hash = token_hash
        self.awareness: dict[int, int] = {}
        """The awareness client ids this socket spoke for, with their last clock."""
        self.closed = False
        self.stale = False
        """Its replica holds the previous generation: it gets none of this one's updates."""
        self._outbox: asyncio.Queue[bytes | None] = asyncio.Queue(OUTBOX)
        self._close: tuple[int, str] = (CloseCode.NORMAL, "")

    def send(self, data: bytes) -> None:
        if self.closed:
            return
        try:
            self._outbox.put_nowait(data)
        except asyncio.QueueFull:
            self.close(CloseCode.TRY_AGAIN_LATER, "too far behind the board's updates; reconnect")

    def close(self, code: int, reason: str) -> None:
        """Send what is queued, then close with `code` (only the first reason counts)."""
        if self.closed:
            return
        self.closed = True
        self._close = (code, reason[:120])
        while self._outbox.full():
            self._outbox.get_nowait()
        self._outbox.put_nowait(None)

    async def run_writer(self) -> None:
        """Write the outbox to the socket in order, until closed."""
        while True:
            data = await self._outbox.get()
            if data is None:
                with contextlib.suppress(Exception):
                    await self.peer.close(*self._close)
                return
            try:
                await self.peer.send(data)
            except Exception:
                # The socket went away: the reader sees the disconnect and leaves the room.
                self.closed = True
                return


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
class _StaleSync:
    connection: BoardConnection


@dataclass(frozen=True, slots=True)
class _StaleUpdate:
    connection: BoardConnection
    update: bytes
    final: bool
    """Its answer to our sync step 1: once handled, the socket is closed with 4410."""


@dataclass(frozen=True, slots=True)
class _Advance:
    """Another process rebased the board: load the new generation."""


@dataclass(frozen=True, slots=True)
class _Stop:
    pass


_Stale = _StaleSync | _StaleUpdate
_Work = _ClientUpdate | _SyncRequest | _Remote | _Stale | _Advance | _Stop

DRAIN_S = 10.0
"""How long closing a room waits for what was received to be stored."""


class BoardRoom:
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
                    await self._queue.put(_StaleUpdate(connection, update, final))
            case SyncMessage(payload=update):
                if update == EMPTY_UPDATE:
                    return
                # What the document already holds is neither stored nor relayed: a client's
                # sync step 2 always carries its whole delete set, and some clients (pycrdt's
                # Provider) send back what they received.
                if _adds_nothing(self.doc, update):
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

    async def _behind(
        self, connection: BoardConnection, state: bytes | None, update: bytes | None
    ) -> bool:
        """Whether the replica behind a sync step 1's `state` (or an `update`) holds an
        earlier generation; if so the socket turns stale: it is asked for what it has, or
        (two generations behind: nothing is left to merge it with) told to load again."""
        if not self.lineage.generation:
            return False
        try:
            clients = state_vector(state if state is not None else get_state(update or b""))
        except (ValueError, IndexError):
            raise ProtocolError("malformed Yjs state vector or update") from None
        behind = self.lineage.staleness_of(clients)
        if not behind:
            return False
        connection.stale = True
        if behind > 1:
            connection.close(CloseCode.REBASED, TOO_OLD_REASON)
        else:
            await self._queue.put(_StaleSync(connection))
        return True

    # --- from other processes (through the log) -----------------------------------------

    async def remote(self, update: bytes) -> None:
        await self._queue.put(_Remote(update))

    async def advance(self) -> None:
        """A newer generation was stored (another process rebased the board)."""
        await self._queue.put(_Advance())

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
            # What came before an `_Advance` belongs to the generation it ends.
            while (
                not isinstance(batch[-1], _Advance)
                and len(batch) < BATCH
                and not self._queue.empty()
            ):
                batch.append(self._queue.get_nowait())
            advance = isinstance(batch[-1], _Advance)
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
        stale: list[_Stale] = []
        for work in batch:
            match work:
                case _StaleSync() | _StaleUpdate():
                    stale.append(work)
                case _ClientUpdate(connection=connection, update=update) if connection.stale:
                    # Sent before its socket turned stale, so made on the previous generation.
                    stale.append(_StaleUpdate(connection, update, final=False))
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
                if not _refused(e):
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
        """This generation's document as stored (a newer one is an `_Advance`'s business)."""
        self.doc = materialize(await self._content.load(self.board_id, self.lineage.generation))

    def _apply_remote(self, remote: list[bytes]) -> None:
        if not remote:
            return
        try:
            self.doc.apply_update(merge_updates(*remote))
        except BaseException as e:
            if not _refused(e):
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

    # --- generations (see hugmood.boards.rebase) ----------------------------------------

    async def _serve_stale(self, work: list[_Stale]) -> bool:
        """Ask stale sockets for what they hold; store it on the previous generation, carry
        it over, and close them with 4410 once they have answered."""
        retired = await self._retired_doc()
        for w in work:
            connection = w.connection
            if isinstance(w, _StaleSync):
                connection.send(sync_message(SyncType.STEP1, retired.get_state()))
                asyncio.get_running_loop().call_later(
                    STALE_GRACE_S, connection.close, CloseCode.REBASED, REBASED_REASON
                )
                continue
            update = w.update
            if connection.role.can_edit and update != EMPTY_UPDATE:
                try:
                    adds = not _adds_nothing(retired, update)
                except ProtocolError as e:
                    connection.close(e.code, e.reason)
                    continue
                if adds and not await self._carry_stale(connection, update):
                    return False
            if w.final:
                connection.close(CloseCode.REBASED, REBASED_REASON)
        return True

    async def _carry_stale(self, connection: BoardConnection, update: bytes) -> bool:
        """Store a stale replica's update on the previous generation, then carry it (and
        whatever else is stored there and not carried yet) over into this one."""
        retired = await self._retired_doc()
        earlier = await self._content.stragglers(
            self.board_id, self.lineage.generation - 1, self.lineage.carried_through
        )
        try:
            carried = carry_over(retired, [*(s.update for s in earlier), update], self.doc)
        except BaseException as e:
            if not _refused(e):
                raise
            self._retired = None  # whatever the failed apply did to it is dropped
            connection.close(CloseCode.MALFORMED, "malformed Yjs update: it does not apply")
            return True
        try:
            stored = await self._content.append(
                self.board_id,
                [AcceptedUpdate(connection.user_id, update)],
                items=0,
                generation=self.lineage.generation - 1,
            )
        except Exception:
            log.exception("storing a stale update of board %s failed", self.board_id)
            self._fail()
            return False
        # Another process may have stored more there meanwhile: carried along too.
        seen = {s.version for s in earlier} | {stored.stream_version}
        later = [
            s
            for s in await self._content.stragglers(
                self.board_id, self.lineage.generation - 1, self.lineage.carried_through
            )
            if s.version not in seen
        ]
        more = carry_over(retired, [s.update for s in later], self.doc) if later else None
        through = max([stored.stream_version, *(s.version for s in later)])
        return await self._store_carried(connection.user_id, [carried, more], through)

    async def _carry(self, stragglers: list[Straggler]) -> bool:
        """Carry updates stored on the previous generation after the rebase into this one."""
        if not stragglers:
            return True
        carried = carry_over(await self._retired_doc(), [s.update for s in stragglers], self.doc)
        user_id = next((s.user_id for s in reversed(stragglers) if s.user_id), "")
        return await self._store_carried(user_id, [carried], stragglers[-1].version)

    async def _store_carried(self, user_id: str, carried: list[bytes | None], through: int) -> bool:
        updates = [c for c in carried if c is not None]
        # Even nothing to carry is stored: it records how far the previous generation is in.
        update = merge_updates(*updates) if updates else EMPTY_UPDATE
        try:
            await self._content.append(
                self.board_id,
                [AcceptedUpdate(user_id, update)],
                items=item_count(self.doc),
                generation=self.lineage.generation,
                carried_through=through,
            )
        except Exception:
            log.exception("storing carried-over edits of board %s failed", self.board_id)
            self._fail()
            return False
        self.lineage = self.lineage.advanced(through)
        self.since_snapshot += 1
        if updates:
            self._broadcast(sync_message(SyncType.UPDATE, update), skip=None)
        return True

    async def _retired_doc(self) -> Doc[Any]:
        if self._retired is None:
            self._retired = await self._content.load_retired(self.board_id, self.lineage)
        return self._retired

    async def _advance(self) -> bool:
        """Load the newer generation; this generation's sockets turn stale."""
        stored = await self._content.load(self.board_id)
        if stored.lineage.generation <= self.lineage.generation:
            return True
        self.doc = materialize(stored)
        self.lineage = stored.lineage
        self.since_snapshot = stored.since_snapshot
        self._retired = None
        if not await self._carry(stored.stragglers):
            return False
        for connection in list(self.connections):
            if connection.stale:
                connection.close(CloseCode.REBASED, TOO_OLD_REASON)
            else:
                connection.stale = True
                await self._serve_stale([_StaleSync(connection)])
        return True

    def _fail(self) -> None:
        self.failed = True
        for connection in self.connections:
            connection.close(CloseCode.SERVER_ERROR, "the board could not be saved; reconnect")
        self._on_failed(self)


def _adds_nothing(doc: Doc[Any], update: bytes) -> bool:
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


def _refused(error: BaseException) -> bool:
    """An update the library would not take: a decoding error, or a panic inside yrs (which
    pyo3 raises as `PanicException`, a `BaseException`) on input it did not expect."""
    return isinstance(error, ValueError) or type(error).__name__ == "PanicException"
