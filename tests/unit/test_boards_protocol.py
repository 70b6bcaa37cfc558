"""The Yjs wire protocol as the board socket reads it: strict, with a close code for each fault."""

from __future__ import annotations

import pytest
from pycrdt import Doc, Map, create_awareness_message, create_sync_message, create_update_message

from hugmood.boards.protocol import (
    AwarenessEntry,
    AwarenessMessage,
    CloseCode,
    ProtocolError,
    QueryAwareness,
    SyncMessage,
    SyncType,
    awareness_message,
    parse,
    sync_message,
)

LIMIT = 65536


def an_update() -> bytes:
    doc: Doc[Map[int]] = Doc()
    doc.get("items", type=Map)["a"] = 1
    return doc.get_update()


def test_messages_from_pycrdt_and_yjs_clients_are_understood() -> None:
    doc: Doc[Map[int]] = Doc()
    step1 = parse(create_sync_message(doc), max_bytes=LIMIT)
    assert step1 == SyncMessage(SyncType.STEP1, doc.get_state())
    update = an_update()
    assert parse(create_update_message(update), max_bytes=LIMIT) == SyncMessage(
        SyncType.UPDATE, update
    )
    entry = AwarenessEntry(12345678901, 3, b'{"user":{"name":"ann"}}')
    parsed = parse(awareness_message([entry]), max_bytes=LIMIT)
    assert isinstance(parsed, AwarenessMessage) and parsed.entries == (entry,)
    assert parse(create_awareness_message(b"\x00"), max_bytes=LIMIT) == AwarenessMessage(
        create_awareness_message(b"\x00"), ()
    )
    assert parse(b"\x03", max_bytes=LIMIT) == QueryAwareness()


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "truncated"),
        (b"\x07", "unknown message type"),
        (b"\x00\x05\x00", "unknown sync message type"),
        (b"\x00\x02\x0a\x01\x02", "truncated"),
        (sync_message(SyncType.UPDATE, b"\x00\x00") + b"\x00", "trailing"),
        (b"\x00\x02" + b"\xff" * 12, "too long"),
        (awareness_message([AwarenessEntry(1, 1, b"{not json")]), "not JSON"),
        (b"\x01\x03\x02\x01\x01", "truncated"),
    ],
)
def test_malformed_or_truncated_messages_are_refused_with_4400(data: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=reason) as caught:
        parse(data, max_bytes=LIMIT)
    assert caught.value.code is CloseCode.MALFORMED


def test_oversized_messages_are_refused_with_1009() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse(sync_message(SyncType.UPDATE, b"\x00" * LIMIT), max_bytes=LIMIT)
    assert caught.value.code is CloseCode.TOO_BIG
