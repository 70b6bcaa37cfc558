"""A room's dealings with earlier generations of its board (see `hugmood.boards.rebase`).

A socket whose replica holds the previous generation is *stale*: it gets none of this
generation's updates; it is sent the previous generation's state vector, what it answers is
stored on the previous generation and carried over into this one, and it is closed with 4410
to load the board again. Updates stored on the previous generation after the rebase (by a
process that had not seen it yet) are carried over the same way, and a room that finds a
newer generation in the log moves to it, its own sockets turning stale.

`StaleReplicas` is the part of `BoardRoom` that does this; it runs on the room's worker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pycrdt import Doc, get_state, merge_updates

from hugmood.boards.connection import BoardConnection
from hugmood.boards.model import item_count
from hugmood.boards.protocol import (
    EMPTY_UPDATE,
    CloseCode,
    ProtocolError,
    SyncType,
    state_vector,
    sync_message,
)
from hugmood.boards.rebase import Lineage, carry_over
from hugmood.boards.store import AcceptedUpdate, BoardContentStore, Straggler, materialize
from hugmood.boards.updates import adds_nothing, refused

log = logging.getLogger(__name__)

STALE_GRACE_S = 10.0
"""How long a stale socket has to send what it holds before it is closed with 4410."""
REBASED_REASON = "this board was tidied up since you last synced; load it again"
TOO_OLD_REASON = "this copy of the board is too old to merge; load it again"


@dataclass(frozen=True, slots=True)
class StaleSync:
    connection: BoardConnection


@dataclass(frozen=True, slots=True)
class StaleUpdate:
    connection: BoardConnection
    update: bytes
    final: bool
    """Its answer to our sync step 1: once handled, the socket is closed with 4410."""


@dataclass(frozen=True, slots=True)
class Advance:
    """Another process rebased the board: load the new generation."""


Stale = StaleSync | StaleUpdate


class StaleReplicas:
    """Mixed into `BoardRoom`: the state and worker steps it needs for generations."""

    board_id: str
    doc: Doc[Any]
    lineage: Lineage
    since_snapshot: int
    connections: set[BoardConnection]
    _content: BoardContentStore
    _retired: Doc[Any] | None
    _broadcast: Callable[..., None]
    _fail: Callable[[], None]
    _queue: asyncio.Queue[Any]
    """The room's work queue, which its worker drains."""

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
            await self._queue.put(StaleSync(connection))
        return True

    async def _serve_stale(self, work: list[Stale]) -> bool:
        """Ask stale sockets for what they hold; store it on the previous generation, carry
        it over, and close them with 4410 once they have answered."""
        retired = await self._retired_doc()
        for w in work:
            connection = w.connection
            if isinstance(w, StaleSync):
                connection.send(sync_message(SyncType.STEP1, retired.get_state()))
                asyncio.get_running_loop().call_later(
                    STALE_GRACE_S, connection.close, CloseCode.REBASED, REBASED_REASON
                )
                continue
            update = w.update
            if connection.role.can_edit and update != EMPTY_UPDATE:
                try:
                    adds = not adds_nothing(retired, update)
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
            if not refused(e):
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
                await self._serve_stale([StaleSync(connection)])
        return True
