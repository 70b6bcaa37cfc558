"""Board sockets across a border (`regions.board_links`). A member whose board is kept in
another region (its owner's) connects to their own region as ever; their region checks their
session, finds the board among the other regions' (`boards_abroad`) and links the socket
there, carrying bytes both ways and closing it when the session ends. The owner's region
admits the link on `/federation/boards/{id}/ws` only for a member of the calling region,
named in the in-process link's scope or signed with the key the regions share."""

from __future__ import annotations

import asyncio
import contextlib
import time

from starlette.websockets import WebSocket, WebSocketDisconnect

from hugmood.application.federation import abroad, leaves
from hugmood.application.federation_reads import board_region
from hugmood.application.queries.identity import authenticate
from hugmood.boards.auth import Admission, current_role
from hugmood.boards.pacing import Pacer
from hugmood.boards.protocol import CloseCode, ProtocolError
from hugmood.bootstrap import HugMood
from hugmood.domain.common import canonical_id
from hugmood.domain.errors import ValidationFailed
from hugmood.regions.board_links import SCOPE_KEY, USER_HEADER, BoardLink, signed_what
from hugmood.regions.federation import RegionFederation
from hugmood.regions.signatures import SIGNATURE_HEADER, verify
from hugmood.unavailable import BackendUnavailable

NOT_A_MEMBER = "no such board, or you are not a member"


async def admit_linked(core: HugMood, websocket: WebSocket) -> Admission:
    """The member a calling region links, if they are on the board (by its own stream)."""
    try:
        board_id = canonical_id(websocket.path_params["board_id"])
    except ValidationFailed:
        raise ProtocolError(NOT_A_MEMBER, CloseCode.NOT_FOUND) from None
    linked = websocket.scope.get(SCOPE_KEY)
    if isinstance(linked, tuple):
        caller, user_id = linked
    else:
        key = core.settings.federation_key
        user_id = websocket.headers.get(USER_HEADER, "")
        try:
            if not key:
                raise ValueError("no federation key")
            caller = verify(
                key, websocket.headers.get(SIGNATURE_HEADER), signed_what(board_id, user_id)
            )
        except ValueError:
            raise ProtocolError(
                "only a region may link a socket here", CloseCode.UNAUTHENTICATED
            ) from None
    if await abroad(core.deps, user_id) != caller:
        raise ProtocolError("a region links only its own people", CloseCode.FORBIDDEN)
    if not leaves(core.deps, "board_content"):
        raise ProtocolError("this region's rules keep its boards in it", CloseCode.FORBIDDEN)
    role = await current_role(core.deps, board_id, user_id)
    if role is None:
        raise ProtocolError(NOT_A_MEMBER, CloseCode.NOT_FOUND)
    # No session here: the member's own region ends the link when their session ends.
    return Admission(board_id, user_id, "", role)


async def link_abroad(websocket: WebSocket, core: HugMood, board_id: str, token: str) -> bool:
    """Link the socket to the region keeping the board, if the signed-in person is on a board
    of that id there; False: no such board anywhere (the caller answers 4404)."""
    federation = core.deps.federation
    token_hash = core.deps.tokens.digest(token)
    principal = await authenticate(core.readmodels, token_hash, int(time.time() * 1000))
    if principal is None or not isinstance(federation, RegionFederation):
        return False
    try:
        board_id = canonical_id(board_id)
        region = await board_region(core.deps, principal.user_id, board_id)
    except ValidationFailed:
        return False
    if region is None:
        return False
    try:
        link = await federation.open_board(region, board_id, principal.user_id)
    except BackendUnavailable:
        await websocket.close(CloseCode.TRY_AGAIN_LATER, "the board's region is away; reconnect")
        return True
    try:
        await _carry(websocket, link, core, token_hash)
    finally:
        await link.close()
    return True


async def _carry(websocket: WebSocket, link: BoardLink, core: HugMood, token_hash: str) -> None:
    limit = core.settings.ws_max_message_bytes
    rate = core.settings.board_messages_per_s
    pacer = Pacer(rate, max(1.0, 2 * rate))

    async def from_member() -> None:
        while True:
            await pacer.take()
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            data = message.get("bytes")
            if data is None or len(data) > limit:
                code = CloseCode.MALFORMED if data is None else CloseCode.TOO_BIG
                await websocket.close(code, "send binary Yjs messages within the size limit")
                return
            await link.send(data)

    async def from_board() -> None:
        while (data := await link.receive()) is not None:
            await websocket.send_bytes(data)
        with contextlib.suppress(Exception):  # the member may be gone already
            await websocket.close(link.close_code, link.close_reason)

    async def session() -> None:
        while True:
            await asyncio.sleep(core.settings.ws_session_check_s)
            now = int(time.time() * 1000)
            if await authenticate(core.readmodels, token_hash, now) is None:
                await websocket.close(CloseCode.UNAUTHENTICATED, "your session has ended")
                return

    tasks = [asyncio.create_task(f()) for f in (from_member, from_board, session)]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, Exception):
                await task
