"""The Yjs wire protocol (y-protocols sync and awareness), read strictly.

Every message from a client is checked here before anything acts on it: a bad length, a
truncated payload, trailing bytes or an unknown type raise `ProtocolError` with the close
code the socket ends with. Nothing downstream ever sees half a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import orjson

MAX_VAR_UINT_BYTES = 8
"""Enough for 2^53 (Yjs client ids are 53-bit); more is certainly garbage."""


class CloseCode(IntEnum):
    """Why the server closed a board socket (4000-4999 is the application's range)."""

    NORMAL = 1000
    GOING_AWAY = 1001
    """The room closed under the socket (the server is stopping): reconnect."""
    TOO_BIG = 1009
    """A message larger than the limit."""
    SERVER_ERROR = 1011
    """Storage failed: nothing unsaved was shown to anyone; reconnect."""
    TRY_AGAIN_LATER = 1013
    """The socket could not keep up with the board's updates; reconnect."""
    MALFORMED = 4400
    """Not a well-formed Yjs message or update."""
    UNAUTHENTICATED = 4401
    """No valid session token."""
    FORBIDDEN = 4403
    """A viewer sent an edit, or the member was removed."""
    NOT_FOUND = 4404
    """No such board, or the caller is not a member (the two are not told apart)."""
    REBASED = 4410
    """The board was rebased (its history dropped) after this replica last synced: what it
    had that the server lacked is carried over; drop the local copy and load it again."""


class ProtocolError(Exception):
    def __init__(self, reason: str, code: CloseCode = CloseCode.MALFORMED) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class MessageType(IntEnum):
    SYNC = 0
    AWARENESS = 1
    AUTH = 2
    QUERY_AWARENESS = 3


class SyncType(IntEnum):
    STEP1 = 0
    """A state vector: "send me what I am missing"."""
    STEP2 = 1
    """The reply to STEP1: an update with everything the other side was missing."""
    UPDATE = 2


EMPTY_UPDATE = b"\x00\x00"
"""An update with no structs and an empty delete set: what an up-to-date peer sends."""


@dataclass(frozen=True, slots=True)
class SyncMessage:
    sync_type: SyncType
    payload: bytes


@dataclass(frozen=True, slots=True)
class AwarenessEntry:
    client_id: int
    clock: int
    state: bytes
    """The JSON text of the client's state; `null` when the client left."""


@dataclass(frozen=True, slots=True)
class AwarenessMessage:
    raw: bytes
    """The whole message as received, forwarded as it is."""
    entries: tuple[AwarenessEntry, ...]


@dataclass(frozen=True, slots=True)
class QueryAwareness:
    pass


Message = SyncMessage | AwarenessMessage | QueryAwareness


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def var_uint(self) -> int:
        value, shift = 0, 0
        for _ in range(MAX_VAR_UINT_BYTES):
            if self.at >= len(self.data):
                raise ProtocolError("truncated message: a number runs past the end")
            byte = self.data[self.at]
            self.at += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
        raise ProtocolError("malformed message: a number is too long")

    def bytes_(self) -> bytes:
        length = self.var_uint()
        end = self.at + length
        if end > len(self.data):
            raise ProtocolError(
                f"truncated message: {length} bytes announced, {len(self.data) - self.at} sent"
            )
        chunk = self.data[self.at : end]
        self.at = end
        return chunk

    def end(self) -> None:
        if self.at != len(self.data):
            raise ProtocolError(f"malformed message: {len(self.data) - self.at} trailing bytes")


def parse(data: bytes, *, max_bytes: int) -> Message:
    """One client message. Raises `ProtocolError` (with its close code) for anything else."""
    if len(data) > max_bytes:
        raise ProtocolError(
            f"message of {len(data)} bytes; the limit is {max_bytes}", CloseCode.TOO_BIG
        )
    reader = _Reader(data)
    kind = reader.var_uint()
    if kind == MessageType.SYNC:
        sync_type = reader.var_uint()
        if sync_type not in (SyncType.STEP1, SyncType.STEP2, SyncType.UPDATE):
            raise ProtocolError(f"unknown sync message type {sync_type}")
        payload = reader.bytes_()
        reader.end()
        return SyncMessage(SyncType(sync_type), payload)
    if kind == MessageType.AWARENESS:
        update = _Reader(reader.bytes_())
        reader.end()
        count = update.var_uint()
        entries = []
        for _ in range(count):
            client_id, clock, state = update.var_uint(), update.var_uint(), update.bytes_()
            try:
                orjson.loads(state)
            except orjson.JSONDecodeError:
                raise ProtocolError("malformed awareness state: not JSON") from None
            entries.append(AwarenessEntry(client_id, clock, state))
        update.end()
        return AwarenessMessage(data, tuple(entries))
    if kind == MessageType.QUERY_AWARENESS:
        reader.end()
        return QueryAwareness()
    raise ProtocolError(f"unknown message type {kind}")


def var_uint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def with_length(payload: bytes) -> bytes:
    return var_uint(len(payload)) + payload


def sync_message(sync_type: SyncType, payload: bytes) -> bytes:
    return bytes((MessageType.SYNC, sync_type)) + with_length(payload)


def awareness_message(entries: list[AwarenessEntry]) -> bytes:
    body = var_uint(len(entries)) + b"".join(
        var_uint(e.client_id) + var_uint(e.clock) + with_length(e.state) for e in entries
    )
    return bytes((MessageType.AWARENESS,)) + with_length(body)


def state_vector(encoded: bytes) -> dict[int, int]:
    """Decode a Yjs state vector: a count, then (client id, clock) pairs."""
    values, at = [], 0
    while at < len(encoded):
        value, shift = 0, 0
        while True:
            byte = encoded[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        values.append(value)
    pairs = values[1:]
    return dict(zip(pairs[0::2], pairs[1::2], strict=True))
