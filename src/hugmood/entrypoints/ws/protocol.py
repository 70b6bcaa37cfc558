"""The `graphql-transport-ws` wire format: client messages, and the codes sockets close with.

https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import orjson

PROTOCOL = "graphql-transport-ws"
MAX_OPERATION_ID = 100


class CloseCode(IntEnum):
    POLICY = 1008
    """Origin not allowed, or too many messages."""
    TOO_BIG = 1009
    GOING_AWAY = 1001
    TRY_AGAIN_LATER = 1013
    """This socket fell too far behind its pushes: reconnect (nothing durable is lost)."""
    BAD_REQUEST = 4400
    UNAUTHORIZED = 4401
    """A message before `connection_init`, or the session ended (logout, expiry)."""
    FORBIDDEN = 4403
    """`connection_init` without a valid session."""
    SUBPROTOCOL = 4406
    INIT_TIMEOUT = 4408
    DUPLICATE_ID = 4409
    TOO_MANY_INITS = 4429


class ProtocolError(Exception):
    """A message that breaks the protocol: the socket closes with `code` and `reason`."""

    def __init__(self, reason: str, code: CloseCode = CloseCode.BAD_REQUEST) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True, slots=True)
class ClientMessage:
    type: str
    id: str | None
    payload: Any


CLIENT_TYPES = frozenset({"connection_init", "ping", "pong", "subscribe", "complete"})


def parse_message(text: str) -> ClientMessage:
    """One client message, checked for the shape its type requires."""
    try:
        raw = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise ProtocolError("messages are JSON objects") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise ProtocolError('a message is a JSON object with a "type"')
    kind = raw["type"]
    if kind not in CLIENT_TYPES:
        raise ProtocolError(f"unknown message type {kind[:40]!r}")
    op_id = raw.get("id")
    if kind in ("subscribe", "complete") and (
        not isinstance(op_id, str) or not op_id or len(op_id) > MAX_OPERATION_ID
    ):
        raise ProtocolError(
            f'"{kind}" needs an "id": a string of 1 to {MAX_OPERATION_ID} characters'
        )
    payload = raw.get("payload")
    if kind == "subscribe":
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            raise ProtocolError('"subscribe" needs a payload with a "query" string')
        variables, name = payload.get("variables"), payload.get("operationName")
        if variables is not None and not isinstance(variables, dict):
            raise ProtocolError('"variables" must be a JSON object')
        if name is not None and not isinstance(name, str):
            raise ProtocolError('"operationName" must be a string')
    if kind == "connection_init" and payload is not None and not isinstance(payload, dict):
        raise ProtocolError('the "connection_init" payload must be a JSON object')
    return ClientMessage(kind, op_id if isinstance(op_id, str) else None, payload)


def encode(message: dict[str, Any]) -> str:
    return orjson.dumps(message).decode()
