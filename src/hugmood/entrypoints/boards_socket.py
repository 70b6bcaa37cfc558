"""The Yjs WebSocket endpoint of a board, `/boards/{id}/ws`: y-websocket clients connect here.

The session token (the one GraphQL uses) comes as `?token=…`, since browsers cannot set
headers on a WebSocket. Each socket is paced (`HUGMOOD_BOARD_MESSAGES_PER_S`, twice that in a
burst): one that sends faster is read more slowly. The socket is accepted first so that a refusal carries its close
code and reason (4401 not signed in, 4404 not a member), which a browser can read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.websockets import WebSocket, WebSocketDisconnect

from hugmood.boards.auth import Admission, admit
from hugmood.boards.pacing import Pacer
from hugmood.boards.protocol import CloseCode, ProtocolError, parse
from hugmood.bootstrap import HugMood
from hugmood.entrypoints.boards_abroad import admit_linked, link_abroad
from hugmood.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class _StarlettePeer:
    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def send(self, data: bytes) -> None:
        await self._websocket.send_bytes(data)

    async def close(self, code: int, reason: str) -> None:
        await self._websocket.close(code, reason)


async def board_socket(websocket: WebSocket) -> None:
    core: HugMood = websocket.app.state.core
    token = websocket.query_params.get("token")
    # The server logs each socket's path with its query string: keep the token out of logs.
    websocket.scope["query_string"] = b""
    await websocket.accept()
    try:
        admission = await admit(core.deps, websocket.path_params["board_id"], token)
    except ProtocolError as e:
        # Perhaps a board of a friend in another region: linked there, if so.
        board_id = websocket.path_params["board_id"]
        abroad = e.code == CloseCode.NOT_FOUND and token and core.deps.federation is not None
        if abroad and token and await link_abroad(websocket, core, board_id, token):
            return
        await websocket.close(e.code, e.reason)
        return
    await serve(websocket, core, admission)


async def federated_board_socket(websocket: WebSocket) -> None:
    """`/federation/boards/{id}/ws`: a member of another region, linked by their region."""
    core: HugMood = websocket.app.state.core
    await websocket.accept()
    try:
        admission = await admit_linked(core, websocket)
    except ProtocolError as e:
        await websocket.close(e.code, e.reason)
        return
    await serve(websocket, core, admission)


async def serve(websocket: WebSocket, core: HugMood, admission: Admission) -> None:
    """Carry one admitted member's socket on the board's room until either side closes."""
    try:
        room, connection = await core.boards.join(admission, _StarlettePeer(websocket))
    except Exception:
        log.exception("opening board %s failed", admission.board_id)
        await websocket.close(CloseCode.SERVER_ERROR, "the board could not be loaded; reconnect")
        return
    writer = asyncio.create_task(connection.run_writer(), name="board-socket-writer")
    limit = core.settings.ws_max_message_bytes
    rate = core.settings.board_messages_per_s
    pacer = Pacer(rate, max(1.0, 2 * rate))
    try:
        while not connection.closed:
            await pacer.take()  # a flood is read at the rate, a burst at once
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            data = message.get("bytes")
            if data is None:
                connection.close(CloseCode.MALFORMED, "send binary Yjs messages, not text")
                break
            try:
                await room.receive(connection, parse(data, max_bytes=limit))
            except ProtocolError as e:
                log.info("board socket closed: %s", e.reason)
                connection.close(e.code, e.reason)
    except WebSocketDisconnect:
        pass
    finally:
        await core.boards.leave(room, connection)
        if connection.closed:
            # Let the writer send what was queued and the close frame, briefly.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(2):
                    await asyncio.shield(writer)
        await cancel_and_wait(writer)
