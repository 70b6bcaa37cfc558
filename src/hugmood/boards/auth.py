"""Who may open a board's socket, and as what: a live session and the board's own stream."""

from __future__ import annotations

import time
from dataclasses import dataclass

from hugmood.application.dependencies import Dependencies
from hugmood.application.handlers.boards import load_board
from hugmood.application.queries.identity import authenticate
from hugmood.boards.protocol import CloseCode, ProtocolError
from hugmood.domain.boards import BoardRole
from hugmood.domain.common import canonical_id
from hugmood.domain.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class Admission:
    board_id: str
    user_id: str
    session_id: str
    role: BoardRole
    """The effective role: an archived board is read-only for everyone."""
    token_hash: str = ""
    """The session token's digest: the socket closes once that session is no longer live."""


async def admit(deps: Dependencies, board_id: str, token: str | None) -> Admission:
    """Check the session token (the one GraphQL uses) and membership; refuse with a code.

    Membership is read from the board's stream, not the read model, so someone removed a
    moment ago is refused and someone invited a moment ago gets in.
    """
    if not token:
        raise ProtocolError(
            "sign in first: pass the session token from logIn as ?token=…",
            CloseCode.UNAUTHENTICATED,
        )
    token_hash = deps.tokens.digest(token)
    principal = await authenticate(deps.readmodels, token_hash, int(time.time() * 1000))
    if principal is None:
        raise ProtocolError(
            "your session has ended or is not valid; sign in again", CloseCode.UNAUTHENTICATED
        )
    try:
        board_id = canonical_id(board_id)
    except ValidationFailed:
        raise ProtocolError("no such board, or you are not a member", CloseCode.NOT_FOUND) from None
    role = await current_role(deps, board_id, principal.user_id)
    if role is None:
        raise ProtocolError("no such board, or you are not a member", CloseCode.NOT_FOUND)
    return Admission(board_id, principal.user_id, principal.session_id, role, token_hash)


async def current_role(deps: Dependencies, board_id: str, user_id: str) -> BoardRole | None:
    board = await load_board(deps, board_id)
    return None if board is None else board.effective_role(user_id)
